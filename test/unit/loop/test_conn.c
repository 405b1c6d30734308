/*
 * test_conn.c: connections of src/loop driven over real sockets, with the
 * handler callbacks counted.
 *
 * Each case builds its own loop and server on 127.0.0.1 port 0 with the
 * route table below and runs a client in a second thread: plain blocking
 * sockets, every send and recv bounded by T_IO_TIMEOUT_S.  Handlers count
 * what they see on the loop thread.  When the client is done (and, where
 * the case says so, the server side has seen its end too) the server is
 * stopped and the loop closed: uv_loop_close() returning 0 proves no
 * handle was left open, and LSan in the sanitizer build that no memory
 * was.  A watchdog timer aborts a case that hangs, so every case stops by
 * itself.  Model: libuv test/test-tcp-close-after-read-timeout.c.
 */
#include <arpa/inet.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop/http.h"
#include "test.h"

#define T_IO_TIMEOUT_S 10       /* each client send or recv */
#define T_WATCHDOG_MS 60000     /* a case running longer has hung */
#define T_GRACE_MS 2000         /* server_stop: requests in progress */
#define T_LATER_MS 10           /* /later answers after this long */
#define T_UPLOAD_LEN (1024 * 1024 + 12345) /* odd: pieces never align */
#define T_BIG_LEN (16 * 1024 * 1024) /* more than loopback buffers hold */
#define T_CLIENT_RCVBUF 4096    /* keeps the /big write pending */
#define T_BODY_MAX 256          /* bodies the client reads in these cases */

struct counts {
  /* pipelining */
  unsigned handler_calls;
  unsigned order[8];            /* request ids, in handler order */
  unsigned answered;            /* responses handlers have finished */
  unsigned later_aborts;
  unsigned stream_writes;
  bool next_started_in_end;     /* a ctx was set when http_resp_end returned */
  /* pause/resume */
  unsigned upload_starts, upload_ends, upload_aborts;
  unsigned body_calls, mismatches, resumes;
  unsigned pause_timer, pause_at_once, pause_idle, continue_unpaused;
  unsigned while_paused;        /* body or end while the handler paused */
  uint64_t body_bytes;
  /* close during a pending write */
  unsigned big_writes, big_aborts, big_freed;
  int big_status;
  /* an early streamed answer */
  unsigned refuse_starts, refuse_writes, refuse_bodies;
};

struct harness {
  uv_loop_t loop;
  struct server *srv;
  int port;
  void (*client)(struct harness *h);
  uv_thread_t thread;
  atomic_bool client_finished;  /* set by the client thread */
  uv_async_t wake;              /* client thread (or loop) -> loop */
  uv_timer_t watchdog;
  bool wait_server;             /* stop also waits for harness_server_done */
  bool server_finished;
  bool stopping, stopped;
  struct counts n;              /* loop thread only */
};

static struct harness *H(struct conn *c) { return http_server_data(c); }

/* The `i` query parameter: which request of a case this is. */
static unsigned req_id(const struct http_req *req) {
  struct http_span v;

  if (!http_query_get(req, "i", &v))
    return 0;
  return (unsigned)strtoul(v.p, NULL, 10); /* stops at '&' or the NUL */
}

/* Requests on one connection reach their handlers one at a time. */
static void note_handler(struct harness *h, unsigned id) {
  ASSERT_EQ(h->n.answered, h->n.handler_calls);
  ASSERT(h->n.handler_calls < ARRAY_SIZE(h->n.order));
  h->n.order[h->n.handler_calls++] = id;
}

/* --- /later?i=N: answers "later N" from a timer (a long-poll shape) --- */

struct later {
  unsigned id;
};

static void later_abort_cb(struct conn *c, void *ctx) {
  H(c)->n.later_aborts++;
  free(ctx);
}

static void later_timer_cb(struct conn *c) {
  struct later *l = http_ctx(c);
  char body[32];
  int n = snprintf(body, sizeof body, "later %u", l->id);

  H(c)->n.answered++;
  http_set_ctx(c, NULL, NULL); /* detach before answering (http.h) */
  free(l);
  http_respond(c, 200, "text/plain", NULL, body, (size_t)n);
}

static void later_h(struct conn *c, const struct http_req *req) {
  struct later *l = malloc(sizeof *l);

  ASSERT(l != NULL);
  note_handler(H(c), req_id(req));
  l->id = req_id(req);
  http_set_ctx(c, l, later_abort_cb);
  http_timer(c, T_LATER_MS, later_timer_cb);
}

/* --- /stream: two caller-owned writes, ended from the last write_cb --- */

static char stream_parts[2][16] = {"stream part a|", "stream part b"};

static void stream_write_cb(struct conn *c, int status, void *arg) {
  struct harness *h = H(c);

  ASSERT_EQ(status, 0);
  h->n.stream_writes++;
  if (arg == stream_parts[0]) {
    ASSERT_EQ(http_resp_write(c, stream_parts[1], strlen(stream_parts[1]),
                              stream_write_cb, stream_parts[1]),
              0);
    return;
  }
  h->n.answered++;
  http_resp_end(c);
  /* No write was pending, so ending the response went straight on to the
   * next pipelined request: its handler has run and set its ctx.  (A real
   * handler must not touch c after ending, see http.h; this looks on
   * purpose, to pin that behaviour down.) */
  h->n.next_started_in_end = http_ctx(c) != NULL;
}

static void stream_h(struct conn *c, const struct http_req *req) {
  note_handler(H(c), req_id(req));
  http_resp_head(c, 200, "text/plain", NULL,
                 strlen(stream_parts[0]) + strlen(stream_parts[1]));
  ASSERT_EQ(http_resp_write(c, stream_parts[0], strlen(stream_parts[0]),
                            stream_write_cb, stream_parts[0]),
            0);
}

/* --- PUT /upload: a streamed body, paused and resumed piece by piece --- */

struct upload {
  struct conn *c;
  uv_timer_t t;                 /* resumes reading */
  uint64_t off;                 /* body bytes seen */
  unsigned pieces;
  bool paused;                  /* returned AS_AGAIN, resume not asked */
};

static uint8_t upload_byte(uint64_t i) { return (uint8_t)(i % 251); }

static void upload_closed_cb(uv_handle_t *hd) { free(hd->data); }

static void upload_resume_cb(uv_timer_t *t) {
  struct upload *u = t->data;

  H(u->c)->n.resumes++;
  u->paused = false;
  http_body_continue(u->c);
}

static void upload_abort_cb(struct conn *c, void *ctx) {
  struct upload *u = ctx;

  H(c)->n.upload_aborts++;
  uv_close((uv_handle_t *)&u->t, upload_closed_cb);
}

static void upload_start(struct conn *c, const struct http_req *req) {
  struct harness *h = H(c);
  struct upload *u = calloc(1, sizeof *u);

  ASSERT(u != NULL);
  h->n.upload_starts++;
  if (!req->chunked) {
    ASSERT(req->has_length);
    ASSERT_EQ(req->content_length, T_UPLOAD_LEN);
  }
  u->c = c;
  ASSERT_EQ(uv_timer_init(&h->loop, &u->t), 0);
  u->t.data = u;
  http_set_ctx(c, u, upload_abort_cb);
  http_body_continue(c);
}

/* Each piece must continue the pattern exactly where the last one ended,
 * and none may come while the handler is paused.  The pieces take turns:
 * go on; ask for more while not paused (a no-op) and go on; pause and
 * resume from a timer; pause and resume at once (from inside the
 * callback); pause and resume on the next loop iteration. */
static int upload_body(struct conn *c, const char *data, size_t len) {
  struct harness *h = H(c);
  struct upload *u = http_ctx(c);

  h->n.body_calls++;
  if (u->paused)
    h->n.while_paused++;
  for (size_t i = 0; i < len; i++)
    if ((uint8_t)data[i] != upload_byte(u->off + i))
      h->n.mismatches++;
  u->off += len;
  h->n.body_bytes += len;
  switch (u->pieces++ % 5) {
  case 0:
    return 0;
  case 1:
    h->n.continue_unpaused++;
    http_body_continue(c);
    return 0;
  case 2:
    h->n.pause_timer++;
    u->paused = true;
    ASSERT_EQ(uv_timer_start(&u->t, upload_resume_cb, 1, 0), 0);
    return AS_AGAIN;
  case 3:
    h->n.pause_at_once++;
    h->n.resumes++;
    http_body_continue(c);
    return AS_AGAIN;
  default:
    h->n.pause_idle++;
    u->paused = true;
    ASSERT_EQ(uv_timer_start(&u->t, upload_resume_cb, 0, 0), 0);
    return AS_AGAIN;
  }
}

static void upload_end(struct conn *c) {
  struct harness *h = H(c);
  struct upload *u = http_ctx(c);
  char body[64];
  int n = snprintf(body, sizeof body, "bytes=%llu",
                   (unsigned long long)u->off);

  h->n.upload_ends++;
  if (u->paused)
    h->n.while_paused++;
  http_set_ctx(c, NULL, NULL);
  uv_close((uv_handle_t *)&u->t, upload_closed_cb);
  http_respond(c, 201, "text/plain", NULL, body, (size_t)n);
}

static const struct http_stream_ops upload_ops = {upload_start, upload_body,
                                                  upload_end};

/* --- /big: one write larger than the socket buffers can take --- */

struct big {
  char *buf;
  bool writing, aborted;
};

static void harness_server_done(struct harness *h);

static void big_free(struct harness *h, struct big *b) {
  free(b->buf);
  free(b);
  h->n.big_freed++;
  harness_server_done(h);
}

static void big_write_cb(struct conn *c, int status, void *arg) {
  struct harness *h = H(c);
  struct big *b = arg;

  h->n.big_writes++;
  h->n.big_status = status;
  b->writing = false;
  if (b->aborted) {
    big_free(h, b);
    return;
  }
  if (status == 0) { /* the peer took it all after all: end normally */
    http_set_ctx(c, NULL, NULL);
    big_free(h, b);
    http_resp_end(c);
  }
  /* else the server cuts the connection next and big_abort_cb frees */
}

static void big_abort_cb(struct conn *c, void *ctx) {
  struct big *b = ctx;

  H(c)->n.big_aborts++;
  b->aborted = true;
  if (!b->writing)
    big_free(H(c), b);
}

static void big_h(struct conn *c, const struct http_req *req) {
  struct big *b = calloc(1, sizeof *b);

  (void)req;
  ASSERT(b != NULL);
  b->buf = malloc(T_BIG_LEN);
  ASSERT(b->buf != NULL);
  memset(b->buf, 'b', T_BIG_LEN);
  http_set_ctx(c, b, big_abort_cb);
  http_resp_head(c, 200, "application/octet-stream", NULL, T_BIG_LEN);
  b->writing = true;
  ASSERT_EQ(http_resp_write(c, b->buf, T_BIG_LEN, big_write_cb, b), 0);
}

/* --- /problem: a problem with extra headers longer than any fixed
 * buffer a head builder might use --- */

#define T_LONG_HEADER_LEN 3000

static void problem_h(struct conn *c, const struct http_req *req) {
  char *extra = malloc(T_LONG_HEADER_LEN + 64);
  int n;

  (void)req;
  ASSERT(extra != NULL);
  n = snprintf(extra, 64, "X-First: 1\r\nX-Long: ");
  memset(extra + n, 'L', T_LONG_HEADER_LEN);
  memcpy(extra + n + T_LONG_HEADER_LEN, "\r\nX-Last: 2\r\n",
         sizeof "\r\nX-Last: 2\r\n"); /* with its NUL */
  http_problem_with(c, PROB_RANGE_NOT_SATISFIABLE, extra, "the range %s",
                    "is not there");
  free(extra); /* http_problem_with copied what it needed */
}

/* --- PUT /refuse: a streamed answer before the body is read --- */

static char refuse_parts[2][16] = {"refused, part a", "|part b"};

static void refuse_write_cb(struct conn *c, int status, void *arg) {
  struct harness *h = H(c);

  ASSERT_EQ(status, 0);
  h->n.refuse_writes++;
  if (arg == refuse_parts[0]) {
    ASSERT_EQ(http_resp_write(c, refuse_parts[1], strlen(refuse_parts[1]),
                              refuse_write_cb, refuse_parts[1]),
              0);
    return;
  }
  http_resp_end(c); /* no write pending: the connection moves on here */
}

static void refuse_start(struct conn *c, const struct http_req *req) {
  (void)req;
  H(c)->n.refuse_starts++;
  http_resp_head(c, 403, "text/plain", NULL,
                 strlen(refuse_parts[0]) + strlen(refuse_parts[1]));
  ASSERT_EQ(http_resp_write(c, refuse_parts[0], strlen(refuse_parts[0]),
                            refuse_write_cb, refuse_parts[0]),
            0);
}

static int refuse_body(struct conn *c, const char *data, size_t len) {
  (void)data;
  (void)len;
  H(c)->n.refuse_bodies++; /* never: the body is not asked for */
  return 0;
}

static void refuse_end(struct conn *c) { H(c)->n.refuse_bodies++; }

static const struct http_stream_ops refuse_ops = {refuse_start, refuse_body,
                                                  refuse_end};

static const struct route routes[] = {
    {HTTP_PUT, "/refuse", NULL, &refuse_ops},
    {HTTP_GET, "/problem", problem_h, NULL},
    {HTTP_GET, "/later", later_h, NULL},
    {HTTP_GET, "/stream", stream_h, NULL},
    {HTTP_PUT, "/upload", NULL, &upload_ops},
    {HTTP_GET, "/big", big_h, NULL},
};

/* --- the harness: loop, server, client thread, watchdog --- */

static void harness_stopped_cb(struct server *s, void *arg) {
  struct harness *h = arg;

  server_free(s);
  h->srv = NULL;
  h->stopped = true;
}

static void harness_maybe_stop(struct harness *h) {
  if (h->stopping || !atomic_load(&h->client_finished) ||
      (h->wait_server && !h->server_finished))
    return;
  h->stopping = true;
  uv_close((uv_handle_t *)&h->wake, NULL);
  uv_close((uv_handle_t *)&h->watchdog, NULL);
  server_stop(h->srv, T_GRACE_MS, harness_stopped_cb, h);
}

static void harness_wake_cb(uv_async_t *a) { harness_maybe_stop(a->data); }

/* Called from handler callbacks: the stop itself runs from the loop, not
 * from inside the connection that is calling us. */
static void harness_server_done(struct harness *h) {
  h->server_finished = true;
  uv_async_send(&h->wake);
}

static void harness_watchdog_cb(uv_timer_t *t) {
  (void)t;
  fprintf(stderr, "test_conn: case still running after %d ms\n",
          T_WATCHDOG_MS);
  abort();
}

static void harness_thread(void *arg) {
  struct harness *h = arg;

  h->client(h);
  atomic_store(&h->client_finished, true);
  uv_async_send(&h->wake);
}

static void harness_run(struct harness *h, void (*client)(struct harness *),
                        bool wait_server) {
  struct server_opts o = {
      .host = "127.0.0.1", .port = 0, .max_conns = 8,
      .header_timeout_ms = 5000, .idle_timeout_ms = 5000,
      .body_timeout_ms = 5000, .routes = routes,
      .nroutes = ARRAY_SIZE(routes), .data = h, .log_requests = false};
  struct errbuf e = {{0}};
  char addr[80];
  const char *colon;

  memset(h, 0, sizeof *h);
  atomic_init(&h->client_finished, false);
  h->client = client;
  h->wait_server = wait_server;
  ASSERT_EQ(uv_loop_init(&h->loop), 0);
  ASSERT_EQ(server_new(&h->loop, &o, &h->srv, &e), 0);
  ASSERT_EQ(server_address(h->srv, addr, sizeof addr), 0);
  colon = strrchr(addr, ':');
  ASSERT(colon != NULL);
  h->port = atoi(colon + 1);
  ASSERT(h->port > 0);
  ASSERT_EQ(uv_async_init(&h->loop, &h->wake, harness_wake_cb), 0);
  h->wake.data = h;
  ASSERT_EQ(uv_timer_init(&h->loop, &h->watchdog), 0);
  ASSERT_EQ(uv_timer_start(&h->watchdog, harness_watchdog_cb, T_WATCHDOG_MS,
                           0),
            0);
  ASSERT_EQ(uv_thread_create(&h->thread, harness_thread, h), 0);
  ASSERT_EQ(uv_run(&h->loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(uv_thread_join(&h->thread), 0);
  ASSERT(h->stopped);
  ASSERT_EQ(uv_loop_close(&h->loop), 0);
}

/* --- the client side: blocking sockets with timeouts --- */

static int client_connect(int port, int rcvbuf) {
  struct timeval tv = {T_IO_TIMEOUT_S, 0};
  struct sockaddr_in sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  ASSERT(fd >= 0);
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
  if (rcvbuf > 0) /* before connect, so the window is small from the start */
    ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf),
              0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  return fd;
}

static void client_send(int fd, const void *p, size_t n) {
  const char *s = p;

  while (n > 0) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    ASSERT(w > 0); /* a timeout or an error fails the case */
    s += w;
    n -= (size_t)w;
  }
}

struct reader {
  int fd;
  size_t len;
  char buf[4096];
};

struct resp {
  char head[sizeof(((struct reader *)0)->buf) + 1]; /* NUL-terminated */
  int status;
  bool close;                   /* Connection: close */
  char body[T_BODY_MAX];        /* NUL-terminated */
};

static void reader_fill(struct reader *r) {
  ssize_t n;

  ASSERT(r->len < sizeof r->buf);
  n = recv(r->fd, r->buf + r->len, sizeof r->buf - r->len, 0);
  ASSERT(n > 0);
  r->len += (size_t)n;
}

static void reader_skip(struct reader *r, size_t n) {
  memmove(r->buf, r->buf + n, r->len - n);
  r->len -= n;
}

/* One response with a Content-Length body of at most T_BODY_MAX - 1. */
static void client_response(struct reader *r, struct resp *p) {
  char *head = p->head;
  const char *end, *cl;
  size_t hlen, clen;

  while ((end = memmem(r->buf, r->len, "\r\n\r\n", 4)) == NULL)
    reader_fill(r);
  hlen = (size_t)(end - r->buf) + 4;
  memcpy(head, r->buf, hlen);
  head[hlen] = '\0';
  reader_skip(r, hlen);
  ASSERT_EQ(sscanf(head, "HTTP/1.1 %d ", &p->status), 1);
  cl = strcasestr(head, "\r\ncontent-length: ");
  ASSERT(cl != NULL);
  clen = strtoul(cl + 18, NULL, 10);
  ASSERT(clen < sizeof p->body);
  p->close = strcasestr(head, "\r\nconnection: close\r\n") != NULL;
  while (r->len < clen)
    reader_fill(r);
  memcpy(p->body, r->buf, clen);
  p->body[clen] = '\0';
  reader_skip(r, clen);
}

static bool client_eof(struct reader *r) {
  return r->len == 0 && recv(r->fd, r->buf, sizeof r->buf, 0) == 0;
}

/* --- (a) pipelining --- */

static void client_pipeline(struct harness *h) {
  static const char reqs[] =
      "GET /later?i=1 HTTP/1.1\r\nHost: t\r\n\r\n"
      "GET /stream?i=2 HTTP/1.1\r\nHost: t\r\n\r\n"
      "GET /later?i=3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  struct reader r = {.fd = client_connect(h->port, 0)};
  struct resp p;

  client_send(r.fd, reqs, sizeof reqs - 1); /* one write, three requests */
  client_response(&r, &p);
  ASSERT_EQ(p.status, 200);
  ASSERT_STREQ(p.body, "later 1");
  ASSERT(!p.close);
  client_response(&r, &p);
  ASSERT_EQ(p.status, 200);
  ASSERT_STREQ(p.body, "stream part a|stream part b");
  ASSERT(!p.close);
  client_response(&r, &p);
  ASSERT_EQ(p.status, 200);
  ASSERT_STREQ(p.body, "later 3");
  ASSERT(p.close);
  ASSERT(client_eof(&r));
  close(r.fd);
}

/* Three requests in one write: three handler calls, one at a time, and
 * three responses in request order.  The third request starts inside
 * http_resp_end() of the second (no write pending then). */
static void test_pipelining(void) {
  struct harness h;

  harness_run(&h, client_pipeline, false);
  ASSERT_EQ(h.n.handler_calls, 3);
  ASSERT_EQ(h.n.order[0], 1);
  ASSERT_EQ(h.n.order[1], 2);
  ASSERT_EQ(h.n.order[2], 3);
  ASSERT_EQ(h.n.answered, 3);
  ASSERT_EQ(h.n.stream_writes, 2);
  ASSERT(h.n.next_started_in_end);
  ASSERT_EQ(h.n.later_aborts, 0);
}

/* --- (b) pause and resume --- */

/* The upload body framed as chunks of varying sizes: many pieces per
 * read, so most pauses leave a tail of unparsed bytes behind. */
static char *upload_chunked(size_t *len) {
  size_t cap = T_UPLOAD_LEN + T_UPLOAD_LEN / 8 + 64, n = 0, off = 0;
  char *out = malloc(cap);

  ASSERT(out != NULL);
  for (unsigned i = 0; off < T_UPLOAD_LEN; i++) {
    size_t k = 1 + (i * 7919u) % 9000;
    if (k > T_UPLOAD_LEN - off)
      k = T_UPLOAD_LEN - off;
    n += (size_t)snprintf(out + n, cap - n, "%zx\r\n", k);
    for (size_t j = 0; j < k; j++)
      out[n + j] = (char)upload_byte(off + j);
    n += k;
    off += k;
    memcpy(out + n, "\r\n", 2);
    n += 2;
    ASSERT(n + 16 < cap);
  }
  memcpy(out + n, "0\r\n\r\n", 5);
  *len = n + 5;
  return out;
}

static void client_upload(struct harness *h) {
  static const char chunked_head[] =
      "PUT /upload HTTP/1.1\r\nHost: t\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  char head[128], want[64];
  int hn = snprintf(head, sizeof head,
                    "PUT /upload HTTP/1.1\r\nHost: t\r\n"
                    "Content-Length: %d\r\n\r\n",
                    T_UPLOAD_LEN);
  struct reader r = {.fd = client_connect(h->port, 0)};
  struct resp p;
  size_t len;
  char *body = malloc(T_UPLOAD_LEN);

  snprintf(want, sizeof want, "bytes=%d", T_UPLOAD_LEN);
  /* with a Content-Length, the head and body in one stream of bytes */
  ASSERT(body != NULL);
  for (size_t i = 0; i < T_UPLOAD_LEN; i++)
    body[i] = (char)upload_byte(i);
  client_send(r.fd, head, (size_t)hn);
  client_send(r.fd, body, T_UPLOAD_LEN);
  free(body);
  client_response(&r, &p);
  ASSERT_EQ(p.status, 201);
  ASSERT_STREQ(p.body, want);
  ASSERT(!p.close);
  /* then chunked, on the same connection */
  body = upload_chunked(&len);
  client_send(r.fd, chunked_head, sizeof chunked_head - 1);
  client_send(r.fd, body, len);
  free(body);
  client_response(&r, &p);
  ASSERT_EQ(p.status, 201);
  ASSERT_STREQ(p.body, want);
  close(r.fd);
}

/* A streaming handler that keeps pausing gets every body byte exactly
 * once and in order, then one end call: once with a Content-Length, once
 * chunked (where pauses fall inside a read and leave a tail). */
static void test_pause_resume(void) {
  struct harness h;

  harness_run(&h, client_upload, false);
  ASSERT_EQ(h.n.upload_starts, 2);
  ASSERT_EQ(h.n.upload_ends, 2);
  ASSERT_EQ(h.n.upload_aborts, 0);
  ASSERT_EQ(h.n.body_bytes, 2 * (uint64_t)T_UPLOAD_LEN);
  ASSERT_EQ(h.n.mismatches, 0);
  /* every pause was resumed once; each way of pausing was taken */
  ASSERT_EQ(h.n.resumes, h.n.pause_timer + h.n.pause_at_once +
                             h.n.pause_idle);
  ASSERT(h.n.pause_timer > 0 && h.n.pause_at_once > 0 && h.n.pause_idle > 0);
  ASSERT(h.n.continue_unpaused > 0);
  ASSERT_EQ(h.n.while_paused, 0);
  /* the chunked body alone comes in over a hundred pieces */
  ASSERT(h.n.body_calls > 100);
}

/* --- (c) the peer closes while a write is pending --- */

static void client_close_mid_write(struct harness *h) {
  static const char req[] = "GET /big HTTP/1.1\r\nHost: t\r\n\r\n";
  struct linger lg = {1, 0};
  char buf[64];
  int fd = client_connect(h->port, T_CLIENT_RCVBUF);

  client_send(fd, req, sizeof req - 1);
  /* The first bytes of the answer: the handler has queued its write. */
  ASSERT(recv(fd, buf, sizeof buf, 0) > 0);
  /* Close with unread data, as a reset (linger 0), mid-response. */
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  close(fd);
}

/* The pending write completes with an error, the abort callback runs
 * once, the handler frees its buffer once, and the loop closes clean. */
static void test_close_during_write(void) {
  struct harness h;

  harness_run(&h, client_close_mid_write, true);
  ASSERT_EQ(h.n.big_writes, 1);
  ASSERT(h.n.big_status < 0);
  ASSERT_EQ(h.n.big_aborts, 1);
  ASSERT_EQ(h.n.big_freed, 1);
}

/* --- problems keep every extra header whole --- */

static void client_problem(struct harness *h) {
  static const char req[] = "GET /problem HTTP/1.1\r\nHost: t\r\n\r\n";
  struct reader r = {.fd = client_connect(h->port, 0)};
  struct resp p;
  const char *v;

  client_send(r.fd, req, sizeof req - 1);
  client_response(&r, &p);
  ASSERT_EQ(p.status, 416);
  ASSERT(strstr(p.head, "\r\nX-First: 1\r\n") != NULL);
  ASSERT(strstr(p.head, "\r\nX-Last: 2\r\n") != NULL);
  v = strstr(p.head, "\r\nX-Long: ");
  ASSERT(v != NULL);
  v += 10;
  ASSERT_EQ(strspn(v, "L"), T_LONG_HEADER_LEN);
  ASSERT(strncmp(v + T_LONG_HEADER_LEN, "\r\n", 2) == 0);
  ASSERT(strstr(p.body, "\"detail\":\"the range is not there\"") != NULL);
  close(r.fd);
}

/* Extra headers of a problem arrive whole, however long (they used to
 * be dropped silently past 256 bytes). */
static void test_problem_headers(void) {
  struct harness h;

  harness_run(&h, client_problem, false);
}

/* --- an answer streamed before the body is read, then lingering --- */

static void client_refused(struct harness *h) {
  static const char head[] =
      "PUT /refuse HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n";
  static char more[16384];
  struct reader r = {.fd = client_connect(h->port, 0)};
  struct resp p;
  ssize_t n;

  client_send(r.fd, head, sizeof head - 1);
  client_send(r.fd, more, 1000);
  client_response(&r, &p);
  ASSERT_EQ(p.status, 403);
  ASSERT_STREQ(p.body, "refused, part a|part b");
  ASSERT(p.close);
  /* The server lingers: it has sent its FIN and reads and drops what
   * still comes, so the rest of the body is taken without a reset and
   * the answer is followed by a clean end of stream. */
  for (int i = 0; i < 4; i++) {
    n = send(r.fd, more, sizeof more, MSG_NOSIGNAL);
    ASSERT_EQ(n, (ssize_t)sizeof more);
  }
  ASSERT(client_eof(&r));
  close(r.fd);
}

/* A streaming handler answers (streamed) before asking for the body,
 * ending from its last write callback: the response is done once, and
 * the connection lingers rather than resetting. */
static void test_early_streamed(void) {
  struct harness h;

  harness_run(&h, client_refused, false);
  ASSERT_EQ(h.n.refuse_starts, 1);
  ASSERT_EQ(h.n.refuse_writes, 2);
  ASSERT_EQ(h.n.refuse_bodies, 0);
}

/* --- server_address never hands out a cut address --- */

static void address_stopped_cb(struct server *s, void *arg) {
  server_free(s);
  *(bool *)arg = true;
}

static void test_address(void) {
  struct server_opts o = {.host = "127.0.0.1", .port = 0, .max_conns = 1,
                          .routes = routes, .nroutes = ARRAY_SIZE(routes)};
  struct errbuf e = {{0}};
  struct server *srv;
  uv_loop_t loop;
  char addr[80], tiny[8] = "garbage";
  bool stopped = false;

  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(server_new(&loop, &o, &srv, &e), 0);
  ASSERT_EQ(server_address(srv, addr, sizeof addr), 0);
  ASSERT(strncmp(addr, "127.0.0.1:", 10) == 0);
  ASSERT_EQ(server_address(srv, tiny, sizeof tiny), UV_ENOBUFS);
  ASSERT_STREQ(tiny, "");
  server_stop(srv, 0, address_stopped_cb, &stopped);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT(stopped);
  ASSERT_EQ(uv_loop_close(&loop), 0);
}

/* --- server_new refuses a table whose 405 Allow could be cut --- */

static void test_allow_fits(void) {
  static const struct route many[] = {
      {HTTP_GET, "/x", later_h, NULL},      {HTTP_HEAD, "/x", later_h, NULL},
      {HTTP_POST, "/x", later_h, NULL},     {HTTP_PUT, "/x", later_h, NULL},
      {HTTP_DELETE, "/x", later_h, NULL},   {HTTP_PATCH, "/x", later_h, NULL},
      {HTTP_OPTIONS, "/x", later_h, NULL},  {HTTP_PROPFIND, "/x", later_h, NULL},
      {HTTP_GET, "/y", later_h, NULL},
  };
  struct server_opts o = {.host = "127.0.0.1", .port = 0, .max_conns = 1,
                          .routes = many, .nroutes = ARRAY_SIZE(many)};
  struct errbuf e = {{0}};
  struct server *srv = NULL;
  uv_loop_t loop;

  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(server_new(&loop, &o, &srv, &e), UV_EINVAL);
  ASSERT(srv == NULL);
  ASSERT(strstr(e.msg, "Allow") != NULL);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);
}

TEST_MAIN(TEST_CASE(test_pipelining), TEST_CASE(test_pause_resume),
          TEST_CASE(test_close_during_write), TEST_CASE(test_problem_headers),
          TEST_CASE(test_early_streamed), TEST_CASE(test_address),
          TEST_CASE(test_allow_fits))
