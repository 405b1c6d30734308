/*
 * conn.c: one HTTP/1.1 connection: the socket, its llhttp parser, its
 * timer, and the state of the request in progress.  It and conn_life.c
 * (references, closing, what follows a response) are the one owner of
 * that state: parse.c turns head bytes into struct http_req, resp.c
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
 * Lifetime (conn_life.c): conn_close() runs the handler's abort callback
 * and closes both handles; the struct is freed when both close callbacks
 * have run and no reference (pending write, handler work) remains.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop/internal.h"

static const llhttp_settings_t *conn_settings(void);
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
  assert(!c->peer_eof || !c->reading);
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
int conn_keep_tail(struct conn *c, const char *data, size_t len) {
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
const char *conn_tail(const struct conn *c) {
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
    /* A reset, or EOF with no complete request: whatever was in
     * progress is abandoned.  EOF after a complete request is a
     * half-close (shutdown(SHUT_WR), nc -N): the request is answered,
     * and so are complete ones pipelined before it, then the connection
     * closes (conn_update, conn_next). */
    if (nread == UV_EOF && c->state == CONN_HANDLING && !c->lingering) {
      c->peer_eof = true;
      conn_update(c);
      return;
    }
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
  conn_feed(c, buf->base, (size_t)nread);
}

/* Starts or stops reading and sets the timer for the current state. */
void conn_update(struct conn *c) {
  bool want = false;
  uint64_t ms = 0;
  bool keep_timer = false;
  const struct server_opts *o = &c->srv->o;

  switch (c->state) {
  case CONN_IDLE:
    want = true;
    ms = o->idle_timeout_ms;
    /* armed on entering IDLE (the timer is stopped then): bytes that
     * begin no request (empty lines) must not extend it */
    keep_timer = uv_is_active((uv_handle_t *)&c->timer);
    break;
  case CONN_HEAD:
    want = true;
    break; /* header timer set at message begin, not restarted */
  case CONN_BODY:
    want = !c->paused;
    ms = c->paused ? 0 : o->body_timeout_ms;
    /* restarted by progress (framing_progress), not by any read: bytes
     * that make none must not keep the request alive */
    keep_timer = ms != 0 && !c->body_progress &&
                 uv_is_active((uv_handle_t *)&c->timer);
    c->body_progress = false;
    break;
  case CONN_HANDLING:
    /* keep reading a little so a vanished peer is noticed; after an
     * early answer, read and discard (see conn_linger) */
    want = c->early || c->tail.len < CONN_TAIL_MAX;
    break;
  case CONN_CLOSING:
    return;
  }
  if (c->peer_eof) {
    /* nothing more arrives: what needs more input cannot finish */
    if (want && c->state != CONN_HANDLING) {
      conn_close(c);
      return;
    }
    want = false;
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
  if (c->timer_cb == NULL && c->state != CONN_HEAD && !keep_timer) {
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
  c->empty_lines = 0;
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

  /* Upgrade (and CONNECT) is ignored (RFC 9110 7.8): the connection stays
   * HTTP/1.1, else llhttp would stop after this message and refuse the
   * next request as HPE_PAUSED_UPGRADE */
  p->upgrade = 0;
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
  if (framing_progress(c, at, at + n) != 0)
    return -1; /* answered by conn_parse_error */
  c->bytes_in += n;
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

/* Empty lines before a request line are skipped here (RFC 9112 2.2 asks
 * a server to ignore at least one), CONN_EMPTY_LINES_MAX at most: they
 * are not progress on a request, and one every so often must not hold a
 * connection open.  0, or -1 when the connection was answered 400. */
static int conn_skip_empty_lines(struct conn *c, const char **data,
                                 size_t *len) {
  while (*len > 0 && (**data == '\r' || **data == '\n')) {
    if (**data == '\n' && ++c->empty_lines > CONN_EMPTY_LINES_MAX) {
      c->t_start = uv_hrtime();
      conn_keep_tail(c, NULL, 0);
      http_problem(c, PROB_BAD_REQUEST,
                   "more than %d empty lines before a request line",
                   CONN_EMPTY_LINES_MAX);
      conn_update(c);
      return -1;
    }
    (*data)++;
    (*len)--;
  }
  return 0;
}

void conn_feed(struct conn *c, const char *data, size_t len) {
  static const char empty[1];

  if (c->state == CONN_IDLE && data != NULL &&
      conn_skip_empty_lines(c, &data, &len) != 0)
    return;
  if (data == NULL) /* llhttp restarts spans at data: never NULL */
    data = empty;
  c->in_execute = true;
  for (;;) {
    enum llhttp_errno e;
    bool resume;

    framing_exec_begin(c, data, len);
    e = llhttp_execute(&c->parser, data, len);
    /* http_body_continue() during the execute: it undoes the pause the
     * execute ended with, if any, and nothing else */
    resume = c->resume_wanted;
    c->resume_wanted = false;
    if (c->state == CONN_CLOSING) {
      c->in_execute = false;
      return;
    }
    if ((e == HPE_OK || e == HPE_PAUSED) &&
        framing_exec_end(c, e == HPE_OK ? data + len
                                        : llhttp_get_error_pos(&c->parser)))
      e = HPE_USER; /* answered by conn_parse_error */
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
  resp_set_peer(c);
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
