/*
 * loadclient.c: the HTTP load client of tools/bench.  Plain epoll on one
 * thread, no dependencies, loopback only (the bench refuses anything else
 * so that a typo cannot load someone else's server).
 *
 * Modes (each prints one JSON line on stdout; problems go to stderr):
 *   upload  N connections, each PUTting files of S bytes with
 *           Content-Length over keep-alive, until COUNT files or DURATION
 *           seconds; files/s, MB/s, latency, and the daemon's peak RSS.
 *   create  N connections POSTing packages until COUNT; requests/s.
 *   fanout  W idle long-poll waiters on /v1/events?since=N&wait=60, then
 *           one POST /v1/packages; time from the POST until each waiter
 *           has its complete response (p50/p99/max), and the daemon's RSS
 *           idle and with the waiters parked.
 *   get     N connections repeating one GET or HEAD (wrk cannot time
 *           HEAD: it waits for a body after one) until COUNT or DURATION.
 *   serve   a trivial single-threaded HTTP server: "ok" for bodiless
 *           requests, 201 after discarding a body, sendfile(2) of --file
 *           for GET: the floor that the daemon's figures sit beside.
 *
 * Bodies are a fixed pseudo-random 1 MiB pattern behind a 16-byte prefix
 * unique per file, so no two uploaded files are identical (no dedup).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LC_PATTERN_BYTES (1024u * 1024)
#define LC_PREFIX_BYTES 16u
#define LC_SEND_BUDGET (4u * 1024 * 1024) /* per wakeup, for fairness */
#define LC_RESP_MAX (4u * 1024 * 1024)    /* largest response we buffer */
#define LC_HDR_MAX 2048u
#define LC_CONNECT_WINDOW 256             /* connects in flight at once */
#define LC_MAX_CONNS 60000
#define LC_EVENTS 512
#define LC_TICK_MS 10

enum lc_mode { MODE_UPLOAD, MODE_CREATE, MODE_GET, MODE_FANOUT, MODE_SERVE };

enum lc_state {
  ST_CONNECTING,
  ST_SENDING,
  ST_READING,
  ST_DONE,    /* response complete, idle or closed */
};

enum lc_kind { KIND_UPLOAD, KIND_CREATE, KIND_GET, KIND_WAITER, KIND_TRIGGER };

struct lc_conn {
  int fd;
  enum lc_state state;
  enum lc_kind kind;
  uint32_t watching;           /* epoll events registered */
  /* request */
  char hdr[LC_HDR_MAX];
  size_t hdr_len, hdr_off;
  const char *small_body;      /* create/trigger body, or NULL */
  uint64_t body_len, body_off;
  uint8_t prefix[LC_PREFIX_BYTES];
  double t_start;
  bool head;                   /* HEAD request: the response has no body */
  /* response */
  char *rbuf;
  size_t rlen, rcap;
  size_t body_start;           /* 0 until headers are complete */
  int status;
  bool chunked;
  long long content_len;       /* -1: unknown */
  size_t chunk_pos;            /* chunked: next chunk-size line */
};

struct lc_opts {
  enum lc_mode mode;
  const char *addr;
  int conns;
  uint64_t size;
  uint64_t count;
  double duration;
  const char *package;
  const char *method, *path;
  const char *file;
  int pid;
  int64_t since;
  int settle_ms;
  double timeout;
};

static int g_ep = -1;
static uint8_t *g_pattern;
static uint64_t g_nonce;
static volatile sig_atomic_t g_stop;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "loadclient: %s\n", what);
  exit(1);
}

static void die_errno(const char *what) {
  fprintf(stderr, "loadclient: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* ---- address ---------------------------------------------------------- */

static struct sockaddr_storage g_sa;
static socklen_t g_salen;

/* HOST:PORT or [V6]:PORT; only loopback addresses are accepted. */
static void addr_parse(const char *s) {
  char host[256];
  const char *colon = strrchr(s, ':');
  struct addrinfo hints, *res = NULL;
  size_t hl;

  if (colon == NULL)
    die("--addr must be HOST:PORT");
  hl = (size_t)(colon - s);
  if (hl >= sizeof host)
    die("--addr host is too long");
  memcpy(host, s, hl);
  host[hl] = '\0';
  if (host[0] == '[' && hl >= 2 && host[hl - 1] == ']') {
    memmove(host, host + 1, hl - 2);
    host[hl - 2] = '\0';
  }
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || res == NULL)
    die("--addr must be a numeric loopback HOST:PORT such as 127.0.0.1:8080");
  memcpy(&g_sa, res->ai_addr, res->ai_addrlen);
  g_salen = res->ai_addrlen;
  freeaddrinfo(res);
  if (g_sa.ss_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)&g_sa;
    if ((ntohl(in->sin_addr.s_addr) >> 24) != 127)
      die("--addr must be a loopback address (127.0.0.0/8 or [::1])");
  } else {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&g_sa;
    if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
      die("--addr must be a loopback address (127.0.0.0/8 or [::1])");
  }
}

/* ---- RSS -------------------------------------------------------------- */

/* VmRSS of pid in KiB, or -1. */
static long rss_kb(int pid) {
  char path[64], line[256];
  long kb = -1;
  FILE *f;

  if (pid <= 0)
    return -1;
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  f = fopen(path, "r");
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "VmRSS:", 6) == 0) {
      kb = strtol(line + 6, NULL, 10);
      break;
    }
  }
  fclose(f);
  return kb;
}

/* ---- statistics ------------------------------------------------------- */

struct lc_lat {
  double *v;
  size_t n, cap;
};

static void lat_add(struct lc_lat *l, double x) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 1024;
    double *v = realloc(l->v, cap * sizeof *v);
    if (v == NULL)
      die("out of memory");
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = x;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile, in milliseconds; -1 when empty. */
static double lat_pct(struct lc_lat *l, double p) {
  size_t rank;
  if (l->n == 0)
    return -1;
  qsort(l->v, l->n, sizeof *l->v, cmp_double);
  rank = (size_t)(p / 100.0 * (double)l->n + 0.999999);
  if (rank < 1)
    rank = 1;
  if (rank > l->n)
    rank = l->n;
  return l->v[rank - 1] * 1e3;
}

/* ---- connections ------------------------------------------------------ */

static struct lc_conn *conn_new(enum lc_kind kind) {
  struct lc_conn *c = calloc(1, sizeof *c);
  int one = 1;

  if (c == NULL)
    die("out of memory");
  c->kind = kind;
  c->fd = socket(g_sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                 0);
  if (c->fd < 0)
    die_errno("socket (raise ulimit -n for many connections)");
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (const struct sockaddr *)&g_sa, g_salen) != 0 &&
      errno != EINPROGRESS)
    die_errno("connect");
  c->state = ST_CONNECTING;
  c->watching = EPOLLOUT;
  {
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(g_ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
      die_errno("epoll_ctl add");
  }
  return c;
}

static void conn_watch(struct lc_conn *c, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (c->watching == events)
    return;
  if (epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
    die_errno("epoll_ctl mod");
  c->watching = events;
}

static void conn_free(struct lc_conn *c) {
  if (c == NULL)
    return;
  if (c->fd >= 0)
    close(c->fd);
  free(c->rbuf);
  free(c);
}

/* Starts a request: headers already formatted into c->hdr. */
static void conn_send_start(struct lc_conn *c) {
  c->hdr_off = 0;
  c->body_off = 0;
  c->rlen = 0;
  c->body_start = 0;
  c->status = 0;
  c->chunked = false;
  c->content_len = -1;
  c->chunk_pos = 0;
  c->state = ST_SENDING;
  c->t_start = now_s();
  conn_watch(c, EPOLLOUT | EPOLLIN);
}

static void req_upload(struct lc_conn *c, const char *pkg, uint64_t idx,
                       uint64_t size) {
  int n = snprintf(c->hdr, sizeof c->hdr,
                   "PUT /v1/packages/%s/files/lc/%" PRIu64 ".bin HTTP/1.1\r\n"
                   "Host: 127.0.0.1\r\n"
                   "Content-Type: application/octet-stream\r\n"
                   "Content-Length: %" PRIu64 "\r\n\r\n",
                   pkg, idx, size);
  if (n < 0 || (size_t)n >= sizeof c->hdr)
    die("request header too long");
  c->hdr_len = (size_t)n;
  c->small_body = NULL;
  c->body_len = size;
  memcpy(c->prefix, &g_nonce, 8);
  memcpy(c->prefix + 8, &idx, 8);
  conn_send_start(c);
}

static const char CREATE_BODY[] =
    "{\"name\":\"bench\",\"producer\":\"loadclient\",\"subject\":\"bench\","
    "\"retention_class\":\"transient\",\"metadata\":{}}";

static void req_create(struct lc_conn *c) {
  int n = snprintf(c->hdr, sizeof c->hdr,
                   "POST /v1/packages HTTP/1.1\r\n"
                   "Host: 127.0.0.1\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Length: %zu\r\n\r\n",
                   sizeof CREATE_BODY - 1);
  c->hdr_len = (size_t)n;
  c->small_body = CREATE_BODY;
  c->body_len = sizeof CREATE_BODY - 1;
  conn_send_start(c);
}

static void req_get(struct lc_conn *c, const char *method, const char *path) {
  int n = snprintf(c->hdr, sizeof c->hdr,
                   "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", method,
                   path);
  if (n < 0 || (size_t)n >= sizeof c->hdr)
    die("request header too long");
  c->hdr_len = (size_t)n;
  c->small_body = NULL;
  c->body_len = 0;
  c->head = strcmp(method, "HEAD") == 0;
  conn_send_start(c);
}

static void req_wait(struct lc_conn *c, int64_t since) {
  int n = snprintf(c->hdr, sizeof c->hdr,
                   "GET /v1/events?since=%" PRId64 "&wait=60 HTTP/1.1\r\n"
                   "Host: 127.0.0.1\r\n\r\n",
                   since);
  c->hdr_len = (size_t)n;
  c->small_body = NULL;
  c->body_len = 0;
  conn_send_start(c);
}

/* Body byte source at offset off: prefix, then the pattern. */
static const uint8_t *body_at(struct lc_conn *c, uint64_t off, size_t *len) {
  if (c->small_body != NULL) {
    *len = (size_t)(c->body_len - off);
    return (const uint8_t *)c->small_body + off;
  }
  if (off < LC_PREFIX_BYTES) {
    *len = (size_t)(LC_PREFIX_BYTES - off);
    return c->prefix + off;
  }
  off -= LC_PREFIX_BYTES;
  *len = LC_PATTERN_BYTES - (size_t)(off % LC_PATTERN_BYTES);
  return g_pattern + off % LC_PATTERN_BYTES;
}

/* Sends what the socket takes.  0 ok (maybe more later), -1 error. */
static int conn_send(struct lc_conn *c) {
  size_t budget = LC_SEND_BUDGET;

  while (c->hdr_off < c->hdr_len) {
    ssize_t n = send(c->fd, c->hdr + c->hdr_off, c->hdr_len - c->hdr_off,
                     MSG_NOSIGNAL);
    if (n < 0)
      return errno == EAGAIN ? 0 : -1;
    c->hdr_off += (size_t)n;
  }
  while (c->body_off < c->body_len && budget > 0) {
    size_t len;
    const uint8_t *p = body_at(c, c->body_off, &len);
    ssize_t n;
    if (len > c->body_len - c->body_off)
      len = (size_t)(c->body_len - c->body_off);
    if (len > budget)
      len = budget;
    n = send(c->fd, p, len, MSG_NOSIGNAL);
    if (n < 0)
      return errno == EAGAIN ? 0 : -1;
    c->body_off += (uint64_t)n;
    budget -= (size_t)n;
  }
  if (c->body_off == c->body_len) {
    c->state = ST_READING;
    conn_watch(c, EPOLLIN);
  }
  return 0;
}

/* Case-insensitive header lookup inside [hdr, end); value start or NULL. */
static const char *hdr_find(const char *h, const char *end, const char *name) {
  size_t nl = strlen(name);
  const char *p = h;
  while (p < end) {
    const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
    if (eol == NULL)
      eol = end;
    if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 &&
        p[nl] == ':') {
      const char *v = p + nl + 1;
      while (v < eol && (*v == ' ' || *v == '\t'))
        v++;
      return v;
    }
    p = eol + 2;
  }
  return NULL;
}

/* 1 when the buffered response is complete, 0 not yet, -1 malformed. */
static int resp_complete(struct lc_conn *c) {
  if (c->body_start == 0) {
    const char *e = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
    const char *v;
    if (e == NULL)
      return c->rlen > 65536 ? -1 : 0;
    c->body_start = (size_t)(e - c->rbuf) + 4;
    if (c->rlen < 12 || strncmp(c->rbuf, "HTTP/1.", 7) != 0)
      return -1;
    c->status = atoi(c->rbuf + 9);
    v = hdr_find(c->rbuf, e, "Content-Length");
    if (v != NULL)
      c->content_len = strtoll(v, NULL, 10);
    v = hdr_find(c->rbuf, e, "Transfer-Encoding");
    if (v != NULL && strncasecmp(v, "chunked", 7) == 0)
      c->chunked = true;
    c->chunk_pos = c->body_start;
    if (c->status == 100) { /* interim: drop it and parse on */
      memmove(c->rbuf, c->rbuf + c->body_start, c->rlen - c->body_start);
      c->rlen -= c->body_start;
      c->body_start = 0;
      return resp_complete(c);
    }
    if (c->status == 204 || c->status == 304 || c->head) {
      c->content_len = 0;
      c->chunked = false;
    }
  }
  if (c->chunked) {
    for (;;) {
      const char *line = c->rbuf + c->chunk_pos;
      size_t avail = c->rlen - c->chunk_pos;
      const char *eol = memmem(line, avail, "\r\n", 2);
      unsigned long long sz;
      size_t need;
      if (eol == NULL)
        return 0;
      sz = strtoull(line, NULL, 16);
      if (sz > LC_RESP_MAX)
        return -1;
      need = (size_t)(eol - line) + 2 + (size_t)sz + 2;
      if (avail < need)
        return 0;
      c->chunk_pos += need;
      if (sz == 0)
        return 1;
    }
  }
  if (c->content_len < 0)
    return -1; /* the daemon always frames its responses */
  return c->rlen - c->body_start >= (size_t)c->content_len;
}

/* Reads what is there.  1 response complete, 0 not yet, -1 error/EOF. */
static int conn_read(struct lc_conn *c) {
  for (;;) {
    ssize_t n;
    if (c->rcap - c->rlen < 16384) {
      size_t cap = c->rcap ? c->rcap * 2 : 32768;
      char *b;
      if (cap > LC_RESP_MAX)
        return -1;
      b = realloc(c->rbuf, cap);
      if (b == NULL)
        die("out of memory");
      c->rbuf = b;
      c->rcap = cap;
    }
    n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen - 1, 0);
    if (n < 0)
      return errno == EAGAIN ? 0 : -1;
    if (n == 0)
      return -1; /* complete responses returned before EOF is seen */
    c->rlen += (size_t)n;
    c->rbuf[c->rlen] = '\0';
    {
      int rc = resp_complete(c);
      if (rc != 0)
        return rc;
    }
  }
}

/* The "id" of a JSON response body, copied into out (37 bytes). */
static bool resp_id(const struct lc_conn *c, char out[37]) {
  const char *p = strstr(c->rbuf + c->body_start, "\"id\"");
  if (p == NULL)
    return false;
  p = strchr(p + 4, '"');
  if (p == NULL || strlen(p + 1) < 37 || p[37] != '"')
    return false;
  memcpy(out, p + 1, 36);
  out[36] = '\0';
  return true;
}

/* ---- one request at a time, for set-up -------------------------------- */

/* Runs one request on a fresh connection to completion (blocking in the
 * sense that nothing else is in flight).  Returns the connection. */
static struct lc_conn *run_one(enum lc_kind kind, double timeout) {
  struct lc_conn *c = conn_new(kind);
  double deadline = now_s() + timeout;
  struct epoll_event evs[4];

  for (;;) {
    int n = epoll_wait(g_ep, evs, 4, 100);
    if (now_s() > deadline)
      die("set-up request timed out");
    if (n <= 0)
      continue;
    if (c->state == ST_CONNECTING) {
      int err = 0;
      socklen_t el = sizeof err;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
      if (err != 0) {
        errno = err;
        die_errno("connect");
      }
      req_create(c);
    }
    if (c->state == ST_SENDING && conn_send(c) != 0)
      die_errno("send");
    if (c->state == ST_READING) {
      int r = conn_read(c);
      if (r < 0)
        die("set-up request: connection closed or bad response");
      if (r == 1)
        return c;
    }
  }
}

static void create_package(char out[37], double timeout) {
  struct lc_conn *c = run_one(KIND_CREATE, timeout);
  if (c->status != 201 || !resp_id(c, out)) {
    fprintf(stderr, "loadclient: POST /v1/packages answered %d: %.300s\n",
            c->status, c->rbuf + c->body_start);
    exit(1);
  }
  epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
  conn_free(c);
}

/* ---- upload / create -------------------------------------------------- */

struct lc_run {
  const struct lc_opts *o;
  char pkg[37];
  uint64_t started, done, errors;
  uint64_t bytes;
  struct lc_lat lat;
  long rss_start, rss_max;
  double t0;
};

static bool run_more(struct lc_run *r) {
  if (r->started >= r->o->count)
    return false;
  if (r->o->duration > 0 && now_s() - r->t0 >= r->o->duration)
    return false;
  return true;
}

static void run_next(struct lc_run *r, struct lc_conn *c) {
  uint64_t idx = r->started++;
  if (c->kind == KIND_UPLOAD)
    req_upload(c, r->pkg, idx, r->o->size);
  else if (c->kind == KIND_GET)
    req_get(c, r->o->method, r->o->path);
  else
    req_create(c);
}

static void report_error(struct lc_conn *c, uint64_t errors) {
  if (errors <= 3)
    fprintf(stderr, "loadclient: request failed: status %d: %.300s\n",
            c->status,
            c->rbuf != NULL && c->body_start ? c->rbuf + c->body_start : "");
}

static int mode_load(const struct lc_opts *o) {
  struct lc_run r = {.o = o};
  struct lc_conn **conns;
  struct epoll_event evs[LC_EVENTS];
  int live = 0;
  double t1, deadline, next_rss = 0;

  r.rss_start = r.rss_max = rss_kb(o->pid);
  if (o->mode == MODE_UPLOAD) {
    if (o->package != NULL)
      snprintf(r.pkg, sizeof r.pkg, "%s", o->package);
    else
      create_package(r.pkg, o->timeout);
  }
  conns = calloc((size_t)o->conns, sizeof *conns);
  if (conns == NULL)
    die("out of memory");
  r.t0 = now_s();
  deadline = r.t0 + o->timeout;
  for (int i = 0; i < o->conns && (uint64_t)i < o->count; i++) {
    conns[i] = conn_new(o->mode == MODE_UPLOAD   ? KIND_UPLOAD
                        : o->mode == MODE_GET    ? KIND_GET
                                                 : KIND_CREATE);
    live++;
  }
  while (live > 0) {
    int n = epoll_wait(g_ep, evs, LC_EVENTS, LC_TICK_MS);
    if (n < 0 && errno != EINTR)
      die_errno("epoll_wait");
    if (o->pid > 0 && now_s() >= next_rss) {
      long rss = rss_kb(o->pid);
      if (rss > r.rss_max)
        r.rss_max = rss;
      next_rss = now_s() + LC_TICK_MS / 1e3;
    }
    if (now_s() > deadline) {
      fprintf(stderr, "loadclient: timed out after %.0f s\n", o->timeout);
      r.errors += (uint64_t)live;
      break;
    }
    for (int i = 0; i < n; i++) {
      struct lc_conn *c = evs[i].data.ptr;
      int rc = 0;
      if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err != 0) {
          errno = err;
          die_errno("connect");
        }
        if (!run_more(&r)) {
          c->state = ST_DONE;
          epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
          live--;
          continue;
        }
        run_next(&r, c);
      }
      if (c->state == ST_SENDING && conn_send(c) != 0)
        rc = -1;
      if (rc == 0 && c->state == ST_READING &&
          (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        rc = conn_read(c);
      if (rc == 0)
        continue;
      if (rc == 1 && (c->status == 201 || c->status == 200 ||
                      (c->kind == KIND_GET && c->status < 400))) {
        r.done++;
        r.bytes += c->body_len;
        lat_add(&r.lat, now_s() - c->t_start);
      } else {
        r.errors++;
        report_error(c, r.errors);
      }
      if (rc == 1 && run_more(&r)) {
        run_next(&r, c);
        if (conn_send(c) != 0) {
          r.errors++;
          rc = -1;
        } else {
          continue;
        }
      }
      c->state = ST_DONE;
      epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
      live--;
    }
  }
  t1 = now_s();
  {
    double secs = t1 - r.t0;
    double p50 = lat_pct(&r.lat, 50), p99 = lat_pct(&r.lat, 99),
           mx = lat_pct(&r.lat, 100);
    printf("{\"mode\":\"%s\",\"conns\":%d,\"size\":%" PRIu64
           ",\"done\":%" PRIu64 ",\"errors\":%" PRIu64
           ",\"seconds\":%.6f,\"per_s\":%.1f,\"mb_per_s\":%.1f,"
           "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
           "\"rss_start_kb\":%ld,\"rss_max_kb\":%ld,\"package\":\"%s\"}\n",
           o->mode == MODE_UPLOAD ? "upload"
           : o->mode == MODE_GET  ? "get"
                                  : "create",
           o->conns, o->mode == MODE_UPLOAD ? o->size : 0,
           r.done, r.errors, secs, (double)r.done / secs,
           (double)r.bytes / secs / 1e6, p50, p99, mx, r.rss_start, r.rss_max,
           r.pkg);
  }
  for (int i = 0; i < o->conns; i++)
    conn_free(conns[i]);
  free(conns);
  free(r.lat.v);
  return r.errors == 0 && r.done > 0 ? 0 : 1;
}

/* ---- fan-out ---------------------------------------------------------- */

static int mode_fanout(const struct lc_opts *o) {
  struct lc_conn **w = calloc((size_t)o->conns, sizeof *w);
  struct lc_conn *trig = NULL;
  struct epoll_event evs[LC_EVENTS];
  struct lc_lat lat = {0};
  long rss_idle, rss_waiters = -1, rss_after;
  int opened = 0, connecting = 0, parked = 0, answered = 0, errors = 0,
      early = 0;
  double t_parked = 0, t_trigger = 0, t_commit = -1, deadline;
  bool triggered = false;

  if (w == NULL)
    die("out of memory");
  rss_idle = rss_kb(o->pid);
  deadline = now_s() + o->timeout;
  while (answered + errors + early < o->conns) {
    int n;
    if (now_s() > deadline) {
      fprintf(stderr,
              "loadclient: fan-out timed out: %d parked, %d answered\n",
              parked, answered);
      break;
    }
    while (opened < o->conns && connecting < LC_CONNECT_WINDOW) {
      w[opened++] = conn_new(KIND_WAITER);
      connecting++;
    }
    if (!triggered && parked == o->conns && t_parked == 0)
      t_parked = now_s();
    if (!triggered && t_parked > 0 &&
        now_s() - t_parked >= o->settle_ms / 1e3) {
      rss_waiters = rss_kb(o->pid);
      trig = conn_new(KIND_TRIGGER);
      triggered = true;
    }
    n = epoll_wait(g_ep, evs, LC_EVENTS, LC_TICK_MS);
    if (n < 0 && errno != EINTR)
      die_errno("epoll_wait");
    for (int i = 0; i < n; i++) {
      struct lc_conn *c = evs[i].data.ptr;
      int rc = 0;
      if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err != 0) {
          errno = err;
          die_errno("connect (is the listen backlog large enough?)");
        }
        if (c->kind == KIND_TRIGGER) {
          t_trigger = now_s();
          req_create(c);
        } else {
          connecting--;
          req_wait(c, o->since);
        }
      }
      if (c->state == ST_SENDING && conn_send(c) != 0)
        rc = -1;
      if (c->kind == KIND_WAITER && c->state == ST_READING &&
          c->watching == EPOLLIN && c->hdr_off == c->hdr_len &&
          c->t_start >= 0) {
        parked++;
        c->t_start = -1; /* counted */
      }
      if (rc == 0 && c->state == ST_READING &&
          (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        rc = conn_read(c);
      if (rc == 0)
        continue;
      epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
      c->state = ST_DONE;
      if (c->kind == KIND_TRIGGER) {
        if (rc != 1 || c->status != 201)
          die("the trigger POST /v1/packages failed");
        t_commit = now_s() - t_trigger;
        continue;
      }
      if (!triggered) {
        early++;
        if (early <= 3)
          fprintf(stderr,
                  "loadclient: a waiter was answered before the commit "
                  "(status %d): is --since the last sequence?\n",
                  c->status);
      } else if (rc == 1 && c->status == 200) {
        answered++;
        lat_add(&lat, now_s() - t_trigger);
      } else {
        errors++;
        report_error(c, (uint64_t)errors);
      }
    }
  }
  rss_after = rss_kb(o->pid);
  printf("{\"mode\":\"fanout\",\"waiters\":%d,\"answered\":%d,\"errors\":%d,"
         "\"early\":%d,\"commit_ms\":%.3f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
         "\"max_ms\":%.3f,\"rss_idle_kb\":%ld,\"rss_waiters_kb\":%ld,"
         "\"rss_after_kb\":%ld}\n",
         o->conns, answered, errors, early,
         t_commit < 0 ? -1 : t_commit * 1e3, lat_pct(&lat, 50),
         lat_pct(&lat, 99), lat_pct(&lat, 100), rss_idle, rss_waiters,
         rss_after);
  for (int i = 0; i < opened; i++)
    conn_free(w[i]);
  conn_free(trig);
  free(w);
  free(lat.v);
  return answered == o->conns ? 0 : 1;
}

/* ---- serve: the floor the daemon's figures sit beside ----------------- */

/*
 * One thread, one epoll, no parsing beyond what the bench sends: a request
 * line and headers, then Content-Length body bytes, which are discarded
 * (answering "100 Continue" first when asked).  Bodiless requests get
 * "ok"; with --file, GET streams that file with sendfile(2), as a server
 * that does nothing else would.  Requests with a body get 201 and a JSON
 * id, so loadclient upload can run against it too.  GET /v1/events... is
 * parked until the next request with a body, which first answers every
 * parked one with a fixed one-event page: the fan-out floor.
 */
static void on_term(int sig) {
  (void)sig;
  g_stop = 1;
}

struct srv {
  int file_fd;
  uint64_t file_size;
  struct lc_conn **parked;     /* long-poll GETs waiting for a POST */
  size_t nparked, capparked;
};

/* A typical one-event page: what each waiter receives. */
static const char SRV_PAGE[] =
    "{\"events\":[{\"sequence\":2,\"created_at\":\"2026-11-23T09:14:35.520838Z\","
    "\"event_type\":\"v1.package.created\",\"subject_kind\":\"package\","
    "\"subject_id\":\"01a207af-8e80-7163-a80d-6400f13f3563\",\"actor\":"
    "\"anonymous\",\"payload\":{\"created_at\":1795425275520838,\"id\":"
    "\"01a207af-8e80-7163-a80d-6400f13f3563\",\"metadata\":{},\"name\":"
    "\"bench\",\"producer\":\"loadclient\",\"retention_class\":"
    "\"transient\",\"subject\":\"bench\"},\"payload_digest\":\"blake3:"
    "02ccc1a8eb13df91cdcbe5198256778dc8fea78e4767337077e3105b7058bdcd\","
    "\"chain_digest\":\"blake3:1fe50d4e7fe0221af77555c6ef619595b2552ab7f4"
    "6a3ccfccb06ff4c76b0151\"}],\"next\":2}";

static int srv_flush(struct srv *s, struct lc_conn *c);

static void srv_park(struct srv *s, struct lc_conn *c) {
  if (s->nparked == s->capparked) {
    size_t cap = s->capparked ? s->capparked * 2 : 1024;
    struct lc_conn **v = realloc(s->parked, cap * sizeof *v);
    if (v == NULL)
      die("out of memory");
    s->parked = v;
    s->capparked = cap;
  }
  s->parked[s->nparked++] = c;
  c->kind = KIND_WAITER;
}

static void srv_unpark(struct srv *s, struct lc_conn *c) {
  for (size_t i = 0; i < s->nparked; i++)
    if (s->parked[i] == c)
      s->parked[i] = NULL;
}

/* A commit: every parked waiter gets the page, as the daemon's would. */
static void srv_wake(struct srv *s) {
  for (size_t i = 0; i < s->nparked; i++) {
    struct lc_conn *w = s->parked[i];
    int n, rc;
    if (w == NULL)
      continue;
    n = snprintf(w->hdr, sizeof w->hdr,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 sizeof SRV_PAGE - 1, SRV_PAGE);
    w->hdr_len = (size_t)n;
    w->hdr_off = 0;
    w->body_off = w->body_len = 0;
    w->kind = KIND_GET;
    rc = srv_flush(s, w);
    if (rc > 0)
      conn_watch(w, EPOLLIN | EPOLLOUT);
  }
  s->nparked = 0;
}

static const char SRV_CREATED[] =
    "{\"id\":\"00000000-0000-7000-8000-000000000000\"}";

/* Sends c->hdr from hdr_off, then the file from body_off (sendfile).
 * 0 done, 1 would block, -1 error. */
static int srv_flush(struct srv *s, struct lc_conn *c) {
  while (c->hdr_off < c->hdr_len) {
    ssize_t n = send(c->fd, c->hdr + c->hdr_off, c->hdr_len - c->hdr_off,
                     MSG_NOSIGNAL);
    if (n < 0)
      return errno == EAGAIN ? 1 : -1;
    c->hdr_off += (size_t)n;
  }
  while (c->body_off < c->body_len) {
    off_t off = (off_t)c->body_off;
    size_t want = c->body_len - c->body_off > LC_SEND_BUDGET
                      ? LC_SEND_BUDGET
                      : (size_t)(c->body_len - c->body_off);
    ssize_t n = sendfile(c->fd, s->file_fd, &off, want);
    if (n < 0)
      return errno == EAGAIN ? 1 : -1;
    if (n == 0)
      return -1;
    c->body_off = (uint64_t)off;
  }
  return 0;
}

/* Handles what is buffered.  0 ok, -1 close the connection. */
static int srv_process(struct srv *s, struct lc_conn *c) {
  for (;;) {
    char *end;
    size_t used;
    bool head, get;
    const char *v;
    long long cl = 0;
    int n;

    if (c->hdr_off < c->hdr_len || c->body_off < c->body_len) {
      int rc = srv_flush(s, c);
      if (rc != 0) {
        if (rc > 0)
          conn_watch(c, EPOLLIN | EPOLLOUT);
        return rc > 0 ? 0 : -1;
      }
      conn_watch(c, EPOLLIN);
    }
    if (c->content_len > 0) { /* discarding a request body */
      size_t take = c->rlen < (uint64_t)c->content_len
                        ? c->rlen
                        : (size_t)c->content_len;
      memmove(c->rbuf, c->rbuf + take, c->rlen - take);
      c->rlen -= take;
      c->content_len -= (long long)take;
      if (c->content_len > 0)
        return 0;
      srv_wake(s);
      n = snprintf(c->hdr, sizeof c->hdr,
                   "HTTP/1.1 201 Created\r\nContent-Type: application/json"
                   "\r\nContent-Length: %zu\r\n\r\n%s",
                   sizeof SRV_CREATED - 1, SRV_CREATED);
      c->hdr_len = (size_t)n;
      c->hdr_off = 0;
      c->body_off = c->body_len = 0;
      continue;
    }
    end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
    if (end == NULL)
      return c->rlen == c->rcap ? -1 : 0;
    used = (size_t)(end - c->rbuf) + 4;
    head = c->rlen >= 5 && memcmp(c->rbuf, "HEAD ", 5) == 0;
    get = c->rlen >= 4 && memcmp(c->rbuf, "GET ", 4) == 0;
    v = hdr_find(c->rbuf, end, "Content-Length");
    if (v != NULL)
      cl = strtoll(v, NULL, 10);
    c->hdr_off = 0;
    c->body_off = c->body_len = 0;
    if (cl > 0) {
      v = hdr_find(c->rbuf, end, "Expect");
      c->hdr_len = 0;
      if (v != NULL && strncasecmp(v, "100-continue", 12) == 0) {
        memcpy(c->hdr, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        c->hdr_len = 25;
      }
      c->content_len = cl;
    } else if (get && c->rlen > 14 && memcmp(c->rbuf, "GET /v1/events", 14) == 0) {
      srv_park(s, c);
      c->hdr_len = 0;
    } else if (get && s->file_fd >= 0) {
      n = snprintf(c->hdr, sizeof c->hdr,
                   "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream"
                   "\r\nContent-Length: %" PRIu64 "\r\n\r\n",
                   s->file_size);
      c->hdr_len = (size_t)n;
      c->body_len = s->file_size;
    } else {
      n = snprintf(c->hdr, sizeof c->hdr,
                   "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                   "Content-Length: 2\r\n\r\n%s",
                   head ? "" : "ok");
      c->hdr_len = (size_t)n;
    }
    memmove(c->rbuf, c->rbuf + used, c->rlen - used);
    c->rlen -= used;
  }
}

static int mode_serve(const struct lc_opts *o) {
  struct epoll_event evs[LC_EVENTS], ev;
  struct sockaddr_storage bound;
  socklen_t bl = sizeof bound;
  struct srv s = {.file_fd = -1};
  char host[64];
  int lfd, one = 1;
  double deadline = o->duration > 0 ? now_s() + o->duration : 0;

  if (o->file != NULL) {
    struct stat st;
    s.file_fd = open(o->file, O_RDONLY | O_CLOEXEC);
    if (s.file_fd < 0 || fstat(s.file_fd, &st) != 0)
      die_errno("--file");
    s.file_size = (uint64_t)st.st_size;
  }
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  lfd = socket(g_sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0)
    die_errno("socket");
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, (const struct sockaddr *)&g_sa, g_salen) != 0 ||
      listen(lfd, 4096) != 0)
    die_errno("bind/listen");
  getsockname(lfd, (struct sockaddr *)&bound, &bl);
  if (bound.ss_family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)&bound;
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    fprintf(stderr, "{\"msg\":\"listening\",\"address\":\"%s:%d\"}\n", host,
            ntohs(in->sin_port));
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&bound;
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    fprintf(stderr, "{\"msg\":\"listening\",\"address\":\"[%s]:%d\"}\n", host,
            ntohs(in6->sin6_port));
  }
  ev.events = EPOLLIN;
  ev.data.ptr = NULL;
  epoll_ctl(g_ep, EPOLL_CTL_ADD, lfd, &ev);
  while (!g_stop && (deadline == 0 || now_s() < deadline)) {
    int n = epoll_wait(g_ep, evs, LC_EVENTS, 100);
    for (int i = 0; i < n; i++) {
      struct lc_conn *c = evs[i].data.ptr;
      bool dead = false;
      if (c == NULL) {
        int fd;
        while ((fd = accept4(lfd, NULL, NULL,
                             SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          struct lc_conn *nc = calloc(1, sizeof *nc);
          if (nc == NULL)
            die("out of memory");
          nc->fd = fd;
          nc->rcap = 256 * 1024;
          nc->rbuf = malloc(nc->rcap);
          if (nc->rbuf == NULL)
            die("out of memory");
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          nc->watching = EPOLLIN;
          ev.events = EPOLLIN;
          ev.data.ptr = nc;
          epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      if (evs[i].events & EPOLLOUT)
        dead = srv_process(&s, c) != 0;
      while (!dead && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        ssize_t r = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
        if (r < 0 && errno == EAGAIN)
          break;
        if (r <= 0) {
          dead = true;
          break;
        }
        c->rlen += (size_t)r;
        dead = srv_process(&s, c) != 0;
        if (c->hdr_off < c->hdr_len || c->body_off < c->body_len)
          break; /* blocked on output: let EPOLLOUT resume */
      }
      if (dead) {
        if (c->kind == KIND_WAITER)
          srv_unpark(&s, c);
        conn_free(c);
      }
    }
  }
  close(lfd);
  if (s.file_fd >= 0)
    close(s.file_fd);
  free(s.parked);
  return 0;
}

/* ---- options ---------------------------------------------------------- */

static void usage(void) {
  fprintf(stderr,
          "usage: loadclient upload --addr H:P [--conns N] [--size BYTES]\n"
          "                         [--count N] [--duration S] [--package ID]\n"
          "                         [--pid PID] [--timeout S]\n"
          "       loadclient create --addr H:P [--conns N] [--count N]\n"
          "       loadclient get    --addr H:P --path P [--method HEAD]\n"
          "                         [--conns N] [--count N] [--duration S]\n"
          "       loadclient fanout --addr H:P --waiters W --since SEQ\n"
          "                         [--pid PID] [--settle-ms MS]\n"
          "       loadclient serve  --addr 127.0.0.1:0 [--file PATH]\n"
          "                         [--duration S]\n");
  exit(2);
}

static unsigned long long num(const char *s, unsigned long long max) {
  char *end;
  unsigned long long v;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || end == s || v > max) {
    fprintf(stderr, "loadclient: bad number \"%s\" (0..%llu)\n", s, max);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  struct lc_opts o = {.conns = 1, .size = 1024, .count = 1, .timeout = 120,
                      .settle_ms = 1000, .since = -1};
  int rc;

  if (argc < 2)
    usage();
  if (strcmp(argv[1], "upload") == 0)
    o.mode = MODE_UPLOAD;
  else if (strcmp(argv[1], "create") == 0)
    o.mode = MODE_CREATE;
  else if (strcmp(argv[1], "get") == 0)
    o.mode = MODE_GET;
  else if (strcmp(argv[1], "fanout") == 0)
    o.mode = MODE_FANOUT;
  else if (strcmp(argv[1], "serve") == 0)
    o.mode = MODE_SERVE;
  else
    usage();
  for (int i = 2; i < argc; i++) {
    const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL)
      usage();
    i++;
    if (strcmp(k, "--addr") == 0)
      o.addr = v;
    else if (strcmp(k, "--conns") == 0 || strcmp(k, "--waiters") == 0)
      o.conns = (int)num(v, LC_MAX_CONNS);
    else if (strcmp(k, "--size") == 0)
      o.size = num(v, 1ull << 40);
    else if (strcmp(k, "--count") == 0)
      o.count = num(v, 1ull << 32);
    else if (strcmp(k, "--duration") == 0)
      o.duration = (double)num(v, 3600);
    else if (strcmp(k, "--timeout") == 0)
      o.timeout = (double)num(v, 3600);
    else if (strcmp(k, "--method") == 0)
      o.method = v;
    else if (strcmp(k, "--file") == 0)
      o.file = v;
    else if (strcmp(k, "--path") == 0)
      o.path = v;
    else if (strcmp(k, "--package") == 0)
      o.package = v;
    else if (strcmp(k, "--pid") == 0)
      o.pid = (int)num(v, 1u << 30);
    else if (strcmp(k, "--since") == 0)
      o.since = (int64_t)num(v, 1ull << 53);
    else if (strcmp(k, "--settle-ms") == 0)
      o.settle_ms = (int)num(v, 600000);
    else
      usage();
  }
  if (o.addr == NULL || o.conns < 1)
    usage();
  if (o.mode == MODE_FANOUT && o.since < 0)
    die("fanout needs --since SEQ (the last committed sequence)");
  if (o.method == NULL)
    o.method = "GET";
  if (strcmp(o.method, "GET") != 0 && strcmp(o.method, "HEAD") != 0)
    die("--method must be GET or HEAD");
  if (o.mode == MODE_GET && (o.path == NULL || o.path[0] != '/'))
    die("get needs --path /PATH");
  if (o.package != NULL && strlen(o.package) != 36)
    die("--package must be a 36-character package id");
  addr_parse(o.addr);
  signal(SIGPIPE, SIG_IGN);
  g_ep = epoll_create1(EPOLL_CLOEXEC);
  if (g_ep < 0)
    die_errno("epoll_create1");
  g_pattern = malloc(LC_PATTERN_BYTES);
  if (g_pattern == NULL)
    die("out of memory");
  {
    uint64_t x = 0x2545f4914f6cdd1dull ^ (uint64_t)getpid();
    for (size_t i = 0; i < LC_PATTERN_BYTES; i += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      memcpy(g_pattern + i, &x, 8);
    }
    g_nonce = x ^ (uint64_t)time(NULL);
  }
  switch (o.mode) {
  case MODE_UPLOAD:
  case MODE_CREATE:
  case MODE_GET:
    rc = mode_load(&o);
    break;
  case MODE_FANOUT:
    rc = mode_fanout(&o);
    break;
  default:
    rc = mode_serve(&o);
    break;
  }
  free(g_pattern);
  close(g_ep);
  return rc;
}
