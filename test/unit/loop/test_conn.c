/*
 * test_conn.c: connections of src/loop driven over real sockets, with the
 * handler callbacks counted (the harness: loop_harness.h).  Pipelining,
 * body pause and resume, the peer going away during a write, and an
 * answer streamed before the body is read.
 */
#include <llhttp.h>
#include <stdbool.h>
#include <stdint.h>

#define T_LATER_MS 10           /* /later answers after this long */
#define T_UPLOAD_LEN (1024 * 1024 + 12345) /* odd: pieces never align */
#define T_BIG_LEN (16 * 1024 * 1024) /* more than loopback buffers hold */
#define T_CLIENT_RCVBUF 4096    /* keeps the /big write pending */

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

#include "loop_harness.h"

/* The `i` query parameter: which request of a case this is. */
static unsigned req_id(const struct http_req *req) {
  char v[16];
  size_t n;

  if (http_query_value(req, "i", v, sizeof v, &n) != 0)
    return 0;
  return (unsigned)strtoul(v, NULL, 10);
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
    {HTTP_GET, "/later", later_h, NULL},
    {HTTP_GET, "/stream", stream_h, NULL},
    {HTTP_PUT, "/upload", NULL, &upload_ops},
    {HTTP_GET, "/big", big_h, NULL},
};

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

  harness_run(&h, routes, ARRAY_SIZE(routes), client_pipeline, false);
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

  harness_run(&h, routes, ARRAY_SIZE(routes), client_upload, false);
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

  harness_run(&h, routes, ARRAY_SIZE(routes), client_close_mid_write,
              true);
  ASSERT_EQ(h.n.big_writes, 1);
  ASSERT(h.n.big_status < 0);
  ASSERT_EQ(h.n.big_aborts, 1);
  ASSERT_EQ(h.n.big_freed, 1);
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

  harness_run(&h, routes, ARRAY_SIZE(routes), client_refused, false);
  ASSERT_EQ(h.n.refuse_starts, 1);
  ASSERT_EQ(h.n.refuse_writes, 2);
  ASSERT_EQ(h.n.refuse_bodies, 0);
}

TEST_MAIN(TEST_CASE(test_pipelining), TEST_CASE(test_pause_resume),
          TEST_CASE(test_close_during_write), TEST_CASE(test_early_streamed))
