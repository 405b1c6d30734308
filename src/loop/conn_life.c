/*
 * conn_life.c: a connection's lifetime and what follows a response: the
 * handler-facing state, references, closing, and, once a response is
 * written, the next request, a close, or a lingering close.  conn.c reads
 * and parses; both change struct conn as internal.h says.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "loop/internal.h"
#include "util/logq.h"

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

void conn_abort_handler(struct conn *c) {
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
  resp_log_abort(c);
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
  if (c->early || c->reject) /* after a FIN nothing is left unread */
    return c->peer_eof ? CONN_NEXT_CLOSE : CONN_NEXT_LINGER;
  if (!c->msg_complete || !c->keep_alive || c->srv->stopping)
    return CONN_NEXT_CLOSE;
  if (c->peer_eof && c->tail.len == 0)
    return CONN_NEXT_CLOSE; /* half-closed: no request follows */
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
  uv_timer_stop(&c->timer); /* conn_update arms the idle timer */
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

/* Progress of a response: the body bytes queued less those libuv still
 * holds.  It changes when the kernel takes bytes (and when a new head is
 * queued, which follows progress), not when more body is queued behind a
 * stalled write. */
static int64_t conn_send_taken(struct conn *c) {
  return (int64_t)c->bytes_out -
         (int64_t)uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
}

void conn_check_send(struct conn *c, uint64_t now) {
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  uv_os_fd_t fd;
  int64_t taken;

  if (c->state == CONN_CLOSING || c->writes_pending == 0) {
    c->send_since = 0;
    return;
  }
  taken = conn_send_taken(c);
  if (c->send_since == 0 || taken != c->send_mark) {
    c->send_mark = taken;
    c->send_since = now;
    return;
  }
  if (now - c->send_since < c->srv->o.send_timeout_ms)
    return;
  logq_log(LOGQ_WARNING, json_pack(
      "{s:s, s:I, s:i, s:I, s:I}", "msg", "send timeout", "timeout_ms",
      (json_int_t)c->srv->o.send_timeout_ms, "status", c->status, "bytes",
      (json_int_t)c->bytes_out, "unsent",
      (json_int_t)uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp)));
  /* a reset, not a FIN: an orphaned socket would keep the unsent bytes
   * in the kernel for as long as the peer keeps its window shut */
  if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  conn_close(c);
}
