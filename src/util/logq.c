/*
 * logq.c: non-blocking JSON-lines log on stderr (see logq.h).
 *
 * Two buffers: the loop appends to `fill`; when no write is in flight it
 * swaps `fill` and `out` and hands `out` to uv_fs_write.  The write
 * callback retries short writes and then swaps again if more arrived.
 * The state is process-wide because stderr is.
 */
#include "util/logq.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/common.h"
#include "util/sbuf.h"

static struct {
  uv_loop_t *loop;        /* NULL: synchronous mode */
  uv_fs_t req;
  bool writing;
  struct sbuf fill, out;
  size_t out_off;         /* bytes of out already written */
  unsigned long dropped;  /* lines lost while the buffer was full */
} lq;

static void logq_kick(void);

/* Appends within the LOGQ_BUF_MAX bound: UV_ENOBUFS past it. */
static int logbuf_add(struct sbuf *b, const char *s, size_t n) {
  if (n > LOGQ_BUF_MAX || b->len + n > LOGQ_BUF_MAX)
    return UV_ENOBUFS;
  return sbuf_put(b, s, n);
}

static void write_all_sync(const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(STDERR_FILENO, p, n);
    if (w <= 0)
      return; /* nothing sensible to do: the log is best effort at exit */
    p += w;
    n -= (size_t)w;
  }
}

static void logq_write_cb(uv_fs_t *req) {
  ssize_t n = req->result;

  uv_fs_req_cleanup(req);
  lq.writing = false;
  if (n > 0)
    lq.out_off += (size_t)n;
  if (n <= 0 || lq.out_off >= lq.out.len) {
    /* done, or stderr is broken: either way this batch is finished */
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

    if (lq.dropped != 0) {
      char line[64];
      int n = snprintf(line, sizeof line,
                       "{\"msg\":\"log_dropped\",\"lines\":%lu}\n", lq.dropped);
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
  if (uv_fs_write(lq.loop, &lq.req, STDERR_FILENO, &b, 1, -1,
                  logq_write_cb) == 0)
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
    write_all_sync((const char *)lq.out.p + lq.out_off,
                   lq.out.len - lq.out_off);
  if (lq.fill.len != 0)
    write_all_sync((const char *)lq.fill.p, lq.fill.len);
  sbuf_free(&lq.out);
  sbuf_free(&lq.fill);
  memset(&lq, 0, sizeof lq);
}

void logq_json(json_t *o) {
  char *line;
  size_t n;

  if (o == NULL)
    return;
  /* 17 significant digits is jansson's default and prints float noise;
   * 6 keeps durations to the microsecond below one second. */
  line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
  json_decref(o);
  if (line == NULL)
    return;
  n = strlen(line);
  line[n] = '\n'; /* replaces the NUL; n + 1 bytes are written */
  if (lq.loop == NULL) {
    write_all_sync(line, n + 1);
  } else if (logbuf_add(&lq.fill, line, n + 1) != 0) {
    lq.dropped++;
  } else {
    logq_kick();
  }
  free(line);
}
