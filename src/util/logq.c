/*
 * logq.c: non-blocking JSON-lines log on stderr or a file (see logq.h).
 *
 * Two buffers: the loop appends to `fill`; when no write is in flight it
 * swaps `fill` and `out` and hands `out` to uv_fs_write.  The write
 * callback retries short writes and then swaps again if more arrived.
 * A reopen asked for while `out` is being written waits until `out` is
 * written whole, so a line never straddles two files.  The state is
 * process-wide because stderr is.
 */
#include "util/logq.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/sbuf.h"

static struct {
  uv_loop_t *loop;        /* NULL: synchronous mode */
  uv_fs_t req;
  bool writing;
  bool reopen_wanted;     /* logq_reopen while a write was in flight */
  struct sbuf fill, out;
  size_t out_off;         /* bytes of out already written */
  unsigned long dropped;  /* lines lost while the buffer was full */
} lq;

/* The log file (survives logq_stop: the last lines go there too). */
static const char *log_path; /* NULL: stderr */
static int log_fd = -1;

static const char *const level_names[] = {"info", "warning", "error"};

static void logq_kick(void);

static int logq_fd(void) { return log_path != NULL ? log_fd : STDERR_FILENO; }

void logq_timestamp(char out[LOGQ_TS_LEN + 1]) {
  struct timespec ts;
  struct tm tm;

  clock_gettime(CLOCK_REALTIME, &ts);
  if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
      strftime(out, LOGQ_TS_LEN + 1, "%Y-%m-%dT%H:%M:%S", &tm) != 19) {
    snprintf(out, LOGQ_TS_LEN + 1, "1970-01-01T00:00:00.000000Z");
    return;
  }
  snprintf(out + 19, LOGQ_TS_LEN + 1 - 19, ".%06uZ",
           (unsigned)(ts.tv_nsec / 1000) % 1000000u);
}

/* Appends within the LOGQ_BUF_MAX bound: UV_ENOBUFS past it. */
static int logbuf_add(struct sbuf *b, const char *s, size_t n) {
  if (n > LOGQ_BUF_MAX || b->len + n > LOGQ_BUF_MAX)
    return UV_ENOBUFS;
  return sbuf_put(b, s, n);
}

static void write_all_sync(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return; /* nothing sensible to do: the log is best effort at exit */
    p += w;
    n -= (size_t)w;
  }
}

/* o with "ts" and "level" first, as one line with its newline; NULL when
 * out of memory.  Takes o. */
static char *logq_format(enum logq_level lv, json_t *o, size_t *len) {
  char ts[LOGQ_TS_LEN + 1];
  json_t *line;
  char *s;

  logq_timestamp(ts);
  json_object_del(o, "ts");
  json_object_del(o, "level");
  line = json_pack("{s:s, s:s}", "ts", ts, "level", level_names[lv]);
  if (line == NULL || json_object_update(line, o) != 0) {
    json_decref(line);
    json_decref(o);
    return NULL;
  }
  json_decref(o);
  /* 17 significant digits is jansson's default and prints float noise;
   * 6 keeps durations to the microsecond below one second. */
  s = json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(6));
  json_decref(line);
  if (s == NULL)
    return NULL;
  *len = strlen(s);
  s[*len] = '\n'; /* replaces the NUL; *len + 1 bytes are the line */
  (*len)++;
  return s;
}

/* Queues (or, in synchronous mode, writes) one line; kick: start a write
 * if none is in flight. */
static void logq_emit(enum logq_level lv, json_t *o, bool kick) {
  size_t n;
  char *line;

  if (o == NULL)
    return;
  if ((line = logq_format(lv, o, &n)) == NULL)
    return;
  if (lq.loop == NULL) {
    write_all_sync(logq_fd(), line, n);
    if (lv == LOGQ_ERROR && log_path != NULL)
      write_all_sync(STDERR_FILENO, line, n);
  } else if (logbuf_add(&lq.fill, line, n) != 0) {
    lq.dropped++;
  } else if (kick) {
    logq_kick();
  }
  free(line);
}

static int logq_open_fd(const char *path) {
  int fd;

  do
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  while (fd < 0 && errno == EINTR);
  return fd < 0 ? -errno : fd;
}

int logq_open_file(const char *path, struct errbuf *e) {
  int fd = logq_open_fd(path);

  if (fd < 0)
    return err_set(e, fd, "cannot open the log file %s: %s; check that its "
                   "directory exists and is writable", path, uv_strerror(fd));
  logq_close_file();
  log_path = path;
  log_fd = fd;
  return 0;
}

void logq_close_file(void) {
  if (log_path != NULL)
    close(log_fd);
  log_path = NULL;
  log_fd = -1;
}

/* Switches files now; the caller knows no write is in flight. */
static void logq_reopen_now(bool kick) {
  int fd = logq_open_fd(log_path);

  lq.reopen_wanted = false;
  if (fd < 0) {
    logq_emit(LOGQ_ERROR, json_pack("{s:s, s:s, s:s}", "msg",
                                    "log reopen failed", "detail", log_path,
                                    "error", uv_strerror(fd)), kick);
    return;
  }
  close(log_fd);
  log_fd = fd;
  logq_emit(LOGQ_INFO, json_pack("{s:s, s:s}", "msg", "reopened log",
                                 "path", log_path), kick);
}

void logq_reopen(void) {
  if (log_path == NULL)
    return;
  if (lq.loop == NULL) {
    logq_reopen_now(false);
    return;
  }
  lq.reopen_wanted = true;
  logq_kick(); /* switches at once when no write is in flight */
}

static void logq_write_cb(uv_fs_t *req) {
  ssize_t n = req->result;

  uv_fs_req_cleanup(req);
  lq.writing = false;
  if (n > 0)
    lq.out_off += (size_t)n;
  if (n <= 0 || lq.out_off >= lq.out.len) {
    /* done, or the log is broken: either way this batch is finished */
    lq.out.len = 0;
    lq.out_off = 0;
  }
  logq_kick();
}

/* Starts a write when none is in flight and there is something to say. */
static void logq_kick(void) {
  uv_buf_t b;

  if (lq.writing || lq.loop == NULL)
    return;
  if (lq.out_off >= lq.out.len) {
    struct sbuf t;

    /* everything handed to the old file is written: switch here */
    if (lq.reopen_wanted)
      logq_reopen_now(false);
    if (lq.dropped != 0) {
      char ts[LOGQ_TS_LEN + 1], line[128];
      int n;

      logq_timestamp(ts);
      n = snprintf(line, sizeof line,
                   "{\"ts\":\"%s\",\"level\":\"warning\",\"msg\":"
                   "\"log_dropped\",\"lines\":%lu}\n", ts, lq.dropped);
      /* the fill buffer may be full: make room by sending it first */
      if (logbuf_add(&lq.out, line, (size_t)n) == 0)
        lq.dropped = 0;
    }
    if (lq.out.len == 0 && lq.fill.len == 0)
      return;
    if (lq.out.len == 0) {
      t = lq.out;
      lq.out = lq.fill;
      lq.fill = t;
      lq.fill.len = 0;
    }
    lq.out_off = 0;
  }
  b = uv_buf_init((char *)lq.out.p + lq.out_off,
                  (unsigned)(lq.out.len - lq.out_off));
  if (uv_fs_write(lq.loop, &lq.req, logq_fd(), &b, 1, -1, logq_write_cb) == 0)
    lq.writing = true;
  else {
    lq.out.len = 0;
    lq.out_off = 0;
  }
}

int logq_start(uv_loop_t *loop) {
  lq.loop = loop;
  return 0;
}

void logq_stop(void) {
  /* An in-flight write belongs to the loop; the caller runs the loop
   * until it is done before calling us (uv_run drains requests). */
  if (lq.out_off < lq.out.len)
    write_all_sync(logq_fd(), (const char *)lq.out.p + lq.out_off,
                   lq.out.len - lq.out_off);
  if (lq.reopen_wanted && log_path != NULL) {
    lq.loop = NULL;
    logq_reopen_now(false);
  }
  if (lq.fill.len != 0)
    write_all_sync(logq_fd(), (const char *)lq.fill.p, lq.fill.len);
  sbuf_free(&lq.out);
  sbuf_free(&lq.fill);
  memset(&lq, 0, sizeof lq);
}

void logq_log(enum logq_level lv, json_t *o) { logq_emit(lv, o, true); }

void logq_json(json_t *o) {
  enum logq_level lv = LOGQ_INFO;
  const char *s = json_string_value(json_object_get(o, "level"));

  if (s != NULL && strcmp(s, "warning") == 0)
    lv = LOGQ_WARNING;
  else if (s != NULL && strcmp(s, "error") == 0)
    lv = LOGQ_ERROR;
  logq_emit(lv, o, true);
}

void logq_msg(enum logq_level lv, const char *msg, const char *detail) {
  logq_log(lv, detail != NULL ? json_pack("{s:s, s:s}", "msg", msg, "detail",
                                          detail)
                              : json_pack("{s:s}", "msg", msg));
}
