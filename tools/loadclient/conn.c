/*
 * conn.c: loadclient's client connections: a non-blocking connect, one
 * request at a time (headers formatted here, bodies from the shared
 * pattern), and the response read until it is complete (Content-Length or
 * chunked).  run_one and lc_create_package run one set-up request alone.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loadclient.h"

struct lc_conn *lc_conn_new(enum lc_kind kind) {
  struct lc_conn *c = calloc(1, sizeof *c);
  int one = 1;

  if (c == NULL)
    lc_die("out of memory");
  c->kind = kind;
  c->fd = socket(lc_sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                 0);
  if (c->fd < 0)
    lc_die_errno("socket (raise ulimit -n for many connections)");
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (const struct sockaddr *)&lc_sa, lc_salen) != 0 &&
      errno != EINPROGRESS)
    lc_die_errno("connect");
  c->state = ST_CONNECTING;
  c->watching = EPOLLOUT;
  {
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(lc_ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
      lc_die_errno("epoll_ctl add");
  }
  return c;
}

void lc_conn_watch(struct lc_conn *c, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (c->watching == events)
    return;
  if (epoll_ctl(lc_ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
    lc_die_errno("epoll_ctl mod");
  c->watching = events;
}

void lc_conn_free(struct lc_conn *c) {
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
  c->t_start = lc_now();
  lc_conn_watch(c, EPOLLOUT | EPOLLIN);
}

void lc_req_upload(struct lc_conn *c, const char *pkg, uint64_t idx,
                       uint64_t size) {
  int n = snprintf(c->hdr, sizeof c->hdr,
                   "PUT /v1/packages/%s/files/lc/%" PRIu64 ".bin HTTP/1.1\r\n"
                   "Host: 127.0.0.1\r\n"
                   "Content-Type: application/octet-stream\r\n"
                   "Content-Length: %" PRIu64 "\r\n\r\n",
                   pkg, idx, size);
  if (n < 0 || (size_t)n >= sizeof c->hdr)
    lc_die("request header too long");
  c->hdr_len = (size_t)n;
  c->small_body = NULL;
  c->body_len = size;
  memcpy(c->prefix, &lc_nonce, 8);
  memcpy(c->prefix + 8, &idx, 8);
  conn_send_start(c);
}

static const char CREATE_BODY[] =
    "{\"name\":\"bench\",\"producer\":\"loadclient\",\"subject\":\"bench\","
    "\"retention_class\":\"transient\",\"metadata\":{}}";

void lc_req_create(struct lc_conn *c) {
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

void lc_req_get(struct lc_conn *c, const char *method, const char *path) {
  int n = snprintf(c->hdr, sizeof c->hdr,
                   "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", method,
                   path);
  if (n < 0 || (size_t)n >= sizeof c->hdr)
    lc_die("request header too long");
  c->hdr_len = (size_t)n;
  c->small_body = NULL;
  c->body_len = 0;
  c->head = strcmp(method, "HEAD") == 0;
  conn_send_start(c);
}

void lc_req_wait(struct lc_conn *c, int64_t since) {
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
  return lc_pattern + off % LC_PATTERN_BYTES;
}

void lc_conn_connected(const struct lc_conn *c, const char *what) {
  int err = 0;
  socklen_t el = sizeof err;

  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
  if (err != 0) {
    errno = err;
    lc_die_errno(what);
  }
}

/* Sends what the socket takes.  0 ok (maybe more later), -1 error. */
int lc_conn_send(struct lc_conn *c) {
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
    lc_conn_watch(c, EPOLLIN);
  }
  return 0;
}

/* Case-insensitive header lookup inside [hdr, end); value start or NULL. */
const char *lc_hdr_find(const char *h, const char *end, const char *name) {
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
    v = lc_hdr_find(c->rbuf, e, "Content-Length");
    if (v != NULL)
      c->content_len = strtoll(v, NULL, 10);
    v = lc_hdr_find(c->rbuf, e, "Transfer-Encoding");
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
int lc_conn_read(struct lc_conn *c) {
  for (;;) {
    ssize_t n;
    if (c->rcap - c->rlen < 16384) {
      size_t cap = c->rcap ? c->rcap * 2 : 32768;
      char *b;
      if (cap > LC_RESP_MAX)
        return -1;
      b = realloc(c->rbuf, cap);
      if (b == NULL)
        lc_die("out of memory");
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
  struct lc_conn *c = lc_conn_new(kind);
  double deadline = lc_now() + timeout;
  struct epoll_event evs[4];

  for (;;) {
    int n = epoll_wait(lc_ep, evs, 4, 100);
    if (lc_now() > deadline)
      lc_die("set-up request timed out");
    if (n <= 0)
      continue;
    if (c->state == ST_CONNECTING) {
      lc_conn_connected(c, "connect");
      lc_req_create(c);
    }
    if (c->state == ST_SENDING && lc_conn_send(c) != 0)
      lc_die_errno("send");
    if (c->state == ST_READING) {
      int r = lc_conn_read(c);
      if (r < 0)
        lc_die("set-up request: connection closed or bad response");
      if (r == 1)
        return c;
    }
  }
}

void lc_create_package(char out[37], double timeout) {
  struct lc_conn *c = run_one(KIND_CREATE, timeout);
  if (c->status != 201 || !resp_id(c, out)) {
    fprintf(stderr, "loadclient: POST /v1/packages answered %d: %.300s\n",
            c->status, c->rbuf + c->body_start);
    exit(1);
  }
  epoll_ctl(lc_ep, EPOLL_CTL_DEL, c->fd, NULL);
  lc_conn_free(c);
}

/* Prints a failed request: only the first three of a run (errors counts
 * them), so a failing run does not flood stderr. */
void lc_report_error(struct lc_conn *c, uint64_t errors) {
  if (errors <= 3)
    fprintf(stderr, "loadclient: request failed: status %d: %.300s\n",
            c->status,
            c->rbuf != NULL && c->body_start ? c->rbuf + c->body_start : "");
}
