/*
 * conn.c: one HTTP/1.1 connection: the socket, its llhttp parser, its
 * timer, and the state of the request in progress.  It is the one owner
 * of that state: parse.c turns head bytes into struct http_req, resp.c
 * writes responses, and both ask conn.c when the connection must change
 * (conn_response_starting, conn_will_close, conn_response_done).
 *
 * Requests are parsed one at a time.  The parser pauses (HPE_PAUSED from a
 * callback) when a request is complete, when a streaming handler must
 * decide about a body, and when a streaming handler has a body piece in
 * flight (backpressure).  Bytes after the pause point are kept in `tail`
 * and fed first when parsing resumes.  Reading stops while a body is
 * paused, so an upload never holds more than one read buffer plus what the
 * blob store has in flight.  Between requests nothing is allocated per
 * connection: reads land in the server's shared buffer and only an
 * unparsed remainder is copied.
 *
 * Lifetime: conn_close() runs the handler's abort callback and closes both
 * handles; the struct is freed when both close callbacks have run and no
 * reference (pending write, handler work) remains.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop/internal.h"

static const llhttp_settings_t *conn_settings(void);
static void conn_feed(struct conn *c, const char *data, size_t len);
static void conn_update(struct conn *c);

/* --- invariants --- */

#ifdef AS_DEBUG
static int conn_buf_ok(const struct sbuf *b) {
  assert(b->len <= b->cap);
  assert((b->p == NULL) == (b->cap == 0));
  return 1;
}

/* What holds between any two steps of a connection, whoever took them
 * (sqlite's assert_pager_state).  Peer input never decides any of it. */
int conn_ok(const struct conn *c) {
  enum conn_state st = c->state;
  bool handling = st == CONN_HANDLING || st == CONN_CLOSING;

  assert(c->srv != NULL);
  assert(c->handles_open <= 2);
  assert(c->handles_open == 2 || st == CONN_CLOSING);
  assert(c->writes_pending <= c->refs); /* each write holds a reference */
  assert(conn_buf_ok(&c->tail));
  assert(conn_buf_ok(&c->hbuf));
  assert(conn_buf_ok(&c->body));
  assert(c->hbuf.len <= CONN_HBUF_MAX);
  assert(c->body.len <= HTTP_BODY_BUFFER_MAX);
  /* a response runs from its start until the request is finished */
  assert(!c->resp_ended || c->resp_started);
  assert(!c->resp_started || handling);
  assert(!c->early || (c->resp_started && handling));
  assert(!c->reject || handling);
  assert(!c->msg_complete || handling);
  assert(!c->lingering || ((c->early || c->reject) && handling));
  /* nothing is written between requests or while a head arrives */
  assert(c->writes_pending == 0 || st == CONN_BODY || handling);
  assert(!c->continue_sent || st == CONN_BODY || handling);
  /* the parser pauses only once a head is in */
  assert(!c->paused || st == CONN_BODY || handling);
  assert(!c->resume_wanted || c->in_execute);
  /* a paused body is not read (backpressure); see conn_update */
  assert(c->in_execute || st != CONN_BODY || !c->paused || !c->reading);
  /* between requests no handler holds the connection */
  assert(st != CONN_IDLE || (c->ctx == NULL && c->abort_cb == NULL &&
                             c->timer_cb == NULL && c->route == NULL));
  /* a closing connection has run its abort callback and reads nothing */
  assert(st != CONN_CLOSING || (c->abort_cb == NULL && c->timer_cb == NULL &&
                                !c->reading));
  return 1;
}
#endif

/* --- lifetime --- */

static void conn_maybe_free(struct conn *c) {
  if (c->handles_open != 0 || c->refs != 0)
    return;
  CONN_CHECK(c);
  sbuf_free(&c->tail);
  parse_reset(c);
  sbuf_free(&c->body);
  server_conn_gone(c->srv, c);
  free(c);
}

static void conn_close_cb(uv_handle_t *h) {
  struct conn *c = h->data;
  assert(c->handles_open > 0);
  c->handles_open--;
  conn_maybe_free(c);
}

void conn_ref(struct conn *c) { c->refs++; }

void conn_unref(struct conn *c) {
  assert(c->refs > 0);
  c->refs--;
  conn_maybe_free(c);
}

static void conn_abort_handler(struct conn *c) {
  void (*cb)(struct conn *, void *) = c->abort_cb;
  void *ctx = c->ctx;

  c->abort_cb = NULL;
  c->ctx = NULL;
  c->timer_cb = NULL;
  if (cb != NULL)
    cb(c, ctx);
}

void conn_close(struct conn *c) {
  if (c->state == CONN_CLOSING)
    return;
  c->state = CONN_CLOSING;
  conn_abort_handler(c);
  c->reading = false;
  uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
  uv_close((uv_handle_t *)&c->timer, conn_close_cb);
  CONN_CHECK(c);
}

/* --- handler-facing state --- */

void http_set_ctx(struct conn *c, void *ctx,
                  void (*abort_cb)(struct conn *c, void *ctx)) {
  c->ctx = ctx;
  c->abort_cb = abort_cb;
}

void *http_ctx(struct conn *c) { return c->ctx; }
void http_conn_hold(struct conn *c) { conn_ref(c); }
void http_conn_release(struct conn *c) { conn_unref(c); }
bool http_conn_alive(const struct conn *c) { return c->state != CONN_CLOSING; }
void *http_server_data(struct conn *c) { return c->srv->o.data; }
bool http_is_head(const struct conn *c) { return c->req.method == HTTP_HEAD; }
const struct http_req *http_conn_req(struct conn *c) { return &c->req; }
void http_abort(struct conn *c) { conn_close(c); }

void http_set_actor(struct conn *c, const char *actor) {
  snprintf(c->actor, sizeof c->actor, "%s", actor);
}

static void conn_timer_cb(uv_timer_t *t);

void http_timer(struct conn *c, uint64_t ms, void (*cb)(struct conn *c)) {
  if (c->state == CONN_CLOSING)
    return;
  c->timer_cb = ms != 0 ? cb : NULL;
  if (ms == 0)
    uv_timer_stop(&c->timer);
  else
    uv_timer_start(&c->timer, conn_timer_cb, ms, 0);
}

/* --- buffers --- */

/* Keeps data[0..len) (possibly a suffix of c->tail) as the new tail. */
static int conn_keep_tail(struct conn *c, const char *data, size_t len) {
  const uint8_t *d = (const uint8_t *)data;

  if (len == 0) {
    sbuf_free(&c->tail);
    return 0;
  }
  if (c->tail.p != NULL && d >= c->tail.p && d < c->tail.p + c->tail.cap) {
    memmove(c->tail.p, d, len);
    c->tail.len = len;
    return 0;
  }
  c->tail.len = 0;
  return sbuf_put(&c->tail, d, len);
}

/* The unparsed bytes, for llhttp. */
static const char *conn_tail(const struct conn *c) {
  return (const char *)c->tail.p;
}

/* --- reading --- */

static void conn_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  struct conn *c = h->data;
  (void)hint;
  buf->base = c->srv->read_buf;
  buf->len = sizeof c->srv->read_buf;
}

static void conn_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  struct conn *c = st->data;

  CONN_CHECK(c);
  if (nread == 0 || c->state == CONN_CLOSING)
    return;
  if (nread < 0) {
    /* EOF or reset: whatever was in progress is abandoned. */
    conn_close(c);
    return;
  }
  if (c->early)
    return; /* answered already, closing after the write: discard */
  if (c->paused || c->state == CONN_HANDLING) {
    if (sbuf_put(&c->tail, buf->base, (size_t)nread) != 0) {
      conn_close(c);
      return;
    }
    conn_update(c);
    return;
  }
  if (c->state == CONN_BODY)
    uv_timer_again(&c->timer);
  conn_feed(c, buf->base, (size_t)nread);
}

/* Starts or stops reading and sets the timer for the current state. */
static void conn_update(struct conn *c) {
  bool want = false;
  uint64_t ms = 0;
  const struct server_opts *o = &c->srv->o;

  switch (c->state) {
  case CONN_IDLE:
    want = true;
    ms = o->idle_timeout_ms;
    break;
  case CONN_HEAD:
    want = true;
    break; /* header timer set at message begin, not restarted */
  case CONN_BODY:
    want = !c->paused;
    ms = c->paused ? 0 : o->body_timeout_ms;
    break;
  case CONN_HANDLING:
    /* keep reading a little so a vanished peer is noticed; after an
     * early answer, read and discard (see conn_linger) */
    want = c->early || c->tail.len < CONN_TAIL_MAX;
    break;
  case CONN_CLOSING:
    return;
  }
  if (want && !c->reading) {
    /* a socket we cannot read from would only wait for a timer */
    if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb, conn_read_cb) !=
        0) {
      conn_close(c);
      return;
    }
    c->reading = true;
  } else if (!want && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
  }
  if (c->timer_cb == NULL && c->state != CONN_HEAD) {
    if (ms != 0)
      uv_timer_start(&c->timer, conn_timer_cb, ms, ms);
    else
      uv_timer_stop(&c->timer);
  }
  CONN_CHECK(c);
}

static void conn_timer_cb(uv_timer_t *t) {
  struct conn *c = t->data;

  CONN_CHECK(c);
  if (c->timer_cb != NULL) {
    void (*cb)(struct conn *) = c->timer_cb;
    c->timer_cb = NULL;
    cb(c);
    return;
  }
  uv_timer_stop(&c->timer);
  switch (c->state) {
  case CONN_IDLE:
    conn_close(c);
    break;
  case CONN_HEAD:
    http_problem(c, PROB_REQUEST_TIMEOUT,
                 "the request line and headers did not arrive within %llu ms",
                 (unsigned long long)c->srv->o.header_timeout_ms);
    break;
  case CONN_BODY:
    conn_abort_handler(c);
    http_problem(c, PROB_BODY_TIMEOUT,
                 "no request body bytes arrived for %llu ms",
                 (unsigned long long)c->srv->o.body_timeout_ms);
    break;
  default:
    break;
  }
}

/* --- parser callbacks: the request's progress (parse.c builds the head) --- */

static int on_message_begin(llhttp_t *p) {
  struct conn *c = p->data;

  c->state = CONN_HEAD;
  c->t_start = uv_hrtime();
  parse_begin(c);
  if (c->srv->o.header_timeout_ms != 0)
    uv_timer_start(&c->timer, conn_timer_cb, c->srv->o.header_timeout_ms, 0);
  return 0;
}

static void conn_send_continue(struct conn *c);

/* The answers the connection gives itself, each worded in one place. */
static void conn_no_route(struct conn *c) {
  if (c->route_status == 405)
    http_problem(c, PROB_METHOD_NOT_ALLOWED,
                 "%s is not allowed here; allowed: %s", c->req.method_name,
                 c->allow);
  else
    http_problem(c, PROB_NO_ROUTE,
                 "no resource matches this path; see docs/API.md");
}

static void conn_body_too_large(struct conn *c) {
  http_problem(c, PROB_BODY_TOO_LARGE,
               "request bodies of this resource are limited to %d bytes",
               HTTP_BODY_BUFFER_MAX);
}

static int on_headers_complete(llhttp_t *p) {
  struct conn *c = p->data;
  struct http_req *r = &c->req;
  bool has_body;
  int rc;

  rc = parse_build_req(c);
  if (rc != 0)
    return parse_fail(c, rc == UV_ENOMEM ? 500 : 400);
  if (framing_check(c) != 0)
    return -1; /* answered by conn_parse_error */
  has_body = r->chunked || r->content_length > 0;
  c->route = router_match(c->srv->o.routes, c->srv->o.nroutes, r->method,
                          r->path.p, r->path.n, r, &c->route_status,
                          c->allow, sizeof c->allow);
  c->state = CONN_BODY;
  uv_timer_stop(&c->timer);
  if (c->route == NULL) {
    if (!has_body)
      return 0; /* answered at message complete, connection kept */
    conn_no_route(c);
    return HPE_PAUSED;
  }
  if (c->route->stream != NULL) {
    c->paused = true; /* until the handler asks for the body */
    c->route->stream->start(c, r);
    return HPE_PAUSED;
  }
  if (r->has_length && r->content_length > HTTP_BODY_BUFFER_MAX) {
    conn_body_too_large(c);
    return HPE_PAUSED;
  }
  if (has_body && r->expect_continue)
    conn_send_continue(c);
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n) {
  struct conn *c = p->data;

  if (c->early || c->state != CONN_BODY)
    return HPE_PAUSED;
  if (n == 0)
    return 0;
  if (c->route != NULL && c->route->stream != NULL) {
    int rc;
    /* Only an http_body_continue() from this very call may undo the
     * pause it asks for; one from a piece that did not pause was a no-op
     * and must not cancel a later pause. */
    c->resume_wanted = false;
    rc = c->route->stream->body(c, at, n);
    if (c->early || c->state != CONN_BODY)
      return HPE_PAUSED;
    if (rc != AS_AGAIN) {
      c->resume_wanted = false;
      return 0;
    }
    return HPE_PAUSED;
  }
  if (c->body.len + n > HTTP_BODY_BUFFER_MAX) {
    conn_body_too_large(c);
    return HPE_PAUSED;
  }
  if (sbuf_put(&c->body, at, n) != 0)
    return parse_fail(c, 500);
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  struct conn *c = p->data;

  c->msg_complete = true;
  c->keep_alive = llhttp_should_keep_alive(p) != 0;
  if (c->early)
    return HPE_PAUSED;
  c->state = CONN_HANDLING;
  uv_timer_stop(&c->timer);
  if (c->route == NULL) {
    conn_no_route(c);
  } else if (c->route->stream != NULL) {
    c->route->stream->end(c);
  } else {
    c->req.body = c->body.p != NULL ? (const char *)c->body.p : "";
    c->req.body_len = c->body.len;
    c->route->handle(c, &c->req);
  }
  CONN_CHECK(c);
  return HPE_PAUSED;
}

static const llhttp_settings_t *conn_settings(void) {
  static llhttp_settings_t s;
  static bool init;

  if (!init) {
    llhttp_settings_init(&s);
    parse_settings(&s);
    s.on_message_begin = on_message_begin;
    s.on_headers_complete = on_headers_complete;
    s.on_body = on_body;
    s.on_message_complete = on_message_complete;
    init = true;
  }
  return &s;
}

/* --- driving the parser --- */

/* The request cannot be parsed: answer if we still can, else close. */
static void conn_parse_error(struct conn *c, enum llhttp_errno e) {
  char detail[PARSE_DETAIL_MAX];
  enum problem_id id;

  if (c->state == CONN_BODY)
    conn_abort_handler(c);
  if (c->resp_started) {
    conn_close(c);
    return;
  }
  id = parse_problem(c, e, detail, sizeof detail);
  http_problem(c, id, "%s", detail);
}

static void conn_feed(struct conn *c, const char *data, size_t len) {
  static const char empty[1];

  if (data == NULL) /* llhttp restarts spans at data: never NULL */
    data = empty;
  c->in_execute = true;
  for (;;) {
    enum llhttp_errno e = llhttp_execute(&c->parser, data, len);
    /* http_body_continue() during the execute: it undoes the pause the
     * execute ended with, if any, and nothing else */
    bool resume = c->resume_wanted;

    c->resume_wanted = false;
    if (c->state == CONN_CLOSING) {
      c->in_execute = false;
      return;
    }
    if (e == HPE_OK) {
      data += len;
      len = 0;
      c->paused = false;
      break;
    }
    if (e == HPE_PAUSED) {
      const char *pos = llhttp_get_error_pos(&c->parser);
      len -= (size_t)(pos - data);
      data = pos;
      /* a body piece was consumed during execute: go on, but never past
       * the end of a message (the handler owns the request then) */
      if (resume && !c->early && c->state == CONN_BODY) {
        c->paused = false;
        llhttp_resume(&c->parser);
        continue;
      }
      c->paused = true;
      break;
    }
    c->in_execute = false;
    framing_note_error(c, data, len); /* before the tail is freed */
    conn_keep_tail(c, NULL, 0);
    conn_parse_error(c, e);
    conn_update(c);
    return;
  }
  c->in_execute = false;
  if (c->early)
    len = 0;
  if (conn_keep_tail(c, data, len) != 0) {
    conn_close(c);
    return;
  }
  conn_update(c);
}

static void conn_send_continue(struct conn *c) {
  if (c->continue_sent || c->resp_started)
    return;
  c->continue_sent = true;
  /* If it cannot be queued, the client sends its body unasked after a
   * wait (RFC 9110 10.1.1), and a broken socket shows on the read side:
   * closing here would run the abort callback inside the handler's
   * http_body_continue(). */
  (void)resp_continue(c);
}

void http_body_continue(struct conn *c) {
  CONN_CHECK(c);
  if (c->state != CONN_BODY || c->early)
    return;
  if (c->req.expect_continue && !c->msg_complete)
    conn_send_continue(c);
  if (c->in_execute) {
    c->resume_wanted = true;
    return;
  }
  if (!c->paused)
    return;
  c->paused = false;
  llhttp_resume(&c->parser);
  conn_feed(c, conn_tail(c), c->tail.len);
}

static void conn_shutdown_cb(uv_shutdown_t *req, int status) {
  struct conn *c = req->data;
  (void)status;
  free(req);
  conn_unref(c);
}

static void conn_linger_end(struct conn *c) { conn_close(c); }

/* After answering a request whose body was not read, closing at once
 * could reset the connection (unread data) and lose the answer: send FIN,
 * discard what still arrives for a short while, then close. */
static void conn_linger(struct conn *c) {
  uv_shutdown_t *req = malloc(sizeof *req);

  if (req == NULL) {
    conn_close(c);
    return;
  }
  req->data = c;
  if (uv_shutdown(req, (uv_stream_t *)&c->tcp, conn_shutdown_cb) != 0) {
    free(req);
    conn_close(c);
    return;
  }
  conn_ref(c);
  c->lingering = true;
  c->state = CONN_HANDLING;
  conn_keep_tail(c, NULL, 0);
  conn_update(c);
  http_timer(c, CONN_LINGER_MS, conn_linger_end);
}

/* The one place where a connection gives up on the rest of a request:
 * every early answer (timeouts, limits, parse errors, handlers refusing a
 * body) goes through here when its head is built. */
void conn_response_starting(struct conn *c) {
  assert(c->state != CONN_CLOSING);
  if (c->msg_complete)
    return;
  c->early = true; /* the rest of the request will not be parsed */
  c->state = CONN_HANDLING;
  CONN_CHECK(c);
}

enum conn_next {
  CONN_NEXT_REQUEST, /* keep-alive: parse the next request */
  CONN_NEXT_CLOSE,   /* close now */
  CONN_NEXT_LINGER,  /* unread request bytes may follow: FIN, then close */
};

/* What happens once the response in progress is done. */
static enum conn_next conn_next(const struct conn *c) {
  if (c->early || c->reject)
    return CONN_NEXT_LINGER;
  if (!c->msg_complete || !c->keep_alive || c->srv->stopping)
    return CONN_NEXT_CLOSE;
  return CONN_NEXT_REQUEST;
}

bool conn_will_close(const struct conn *c) {
  return conn_next(c) != CONN_NEXT_REQUEST;
}

/* The response is fully written: next request, or close. */
void conn_response_done(struct conn *c) {
  assert(!c->in_execute);
  assert(c->resp_ended && c->writes_pending == 0);
  assert(!c->lingering); /* each response is done once */
  CONN_CHECK(c);
  resp_log(c);
  /* a handler still attached has forgotten to detach: it is treated as
   * abandoned (its abort callback runs), and its ctx is not carried over
   * to the next request */
  conn_abort_handler(c);
  switch (conn_next(c)) {
  case CONN_NEXT_LINGER:
    conn_linger(c);
    return;
  case CONN_NEXT_CLOSE:
    conn_close(c);
    return;
  case CONN_NEXT_REQUEST:
    break;
  }
  parse_reset(c);
  sbuf_free(&c->body);
  c->route = NULL;
  c->route_status = 0;
  c->continue_sent = c->msg_complete = false;
  c->actor[0] = '\0';
  c->timer_cb = NULL;
  resp_reset(c);
  c->state = CONN_IDLE;
  if (c->paused) {
    c->paused = false;
    llhttp_resume(&c->parser);
  }
  if (c->tail.len > 0)
    conn_feed(c, conn_tail(c), c->tail.len);
  else
    conn_update(c);
}

int conn_accept(struct server *s, int fd, bool no_fds) {
  struct conn *c = calloc(1, sizeof *c);
  int rc;

  if (c == NULL) {
    close(fd);
    return UV_ENOMEM;
  }
  rc = uv_tcp_init(s->loop, &c->tcp);
  if (rc != 0) {
    close(fd);
    free(c);
    return rc;
  }
  (void)uv_timer_init(s->loop, &c->timer); /* no system call: cannot fail */
  c->srv = s;
  c->tcp.data = c;
  c->timer.data = c;
  c->handles_open = 2;
  c->next = s->conns;
  if (s->conns != NULL)
    s->conns->prev = c;
  s->conns = c;
  s->nconns++;
  rc = uv_tcp_open(&c->tcp, fd);
  if (rc != 0) {
    close(fd);
    conn_close(c);
    return rc;
  }
  (void)uv_tcp_nodelay(&c->tcp, 1); /* latency only */
  llhttp_init(&c->parser, HTTP_REQUEST, conn_settings());
  c->parser.data = c;
  c->state = CONN_IDLE;
  if (no_fds || s->nconns > s->o.max_conns) {
    c->reject = true;
    c->state = CONN_HANDLING;
    c->t_start = uv_hrtime();
    if (no_fds)
      http_problem_with(c, PROB_OUT_OF_DESCRIPTORS, "Retry-After: 1\r\n",
                        "the server is out of file descriptors; retry "
                        "shortly");
    else
      http_problem(c, PROB_TOO_MANY_CONNECTIONS,
                   "the server holds its maximum of %u connections; retry "
                   "later",
                   s->o.max_conns);
    return 0;
  }
  conn_update(c);
  return 0;
}

bool conn_is_idle(const struct conn *c) {
  return c->state == CONN_IDLE ||
         (c->state == CONN_HEAD && c->url_len == 0);
}
