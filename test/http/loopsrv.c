/*
 * loopsrv.c: a server built from src/loop alone, with toy routes, so the
 * wire tests exercise parsing, pipelining, limits, timeouts and body
 * backpressure without the store.  Usage:
 *   loopsrv [max_conns header_ms idle_ms body_ms [host]]
 * Prints {"msg":"listening","address":"127.0.0.1:PORT"} on stderr.
 */
#include <llhttp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop/http.h"

#define SINK_DELAY_MS 1

static uv_loop_t *loop;
static struct server *srv;
static uv_signal_t sigterm;

static void hello(struct conn *c, const struct http_req *req) {
  (void)req;
  http_respond(c, 200, "text/plain", NULL, "hello\n", 6);
}

static void echo(struct conn *c, const struct http_req *req) {
  http_respond(c, 200, "application/octet-stream", NULL, req->body,
               req->body_len);
}

/* --- /sink/{name}: streamed body, each piece "written" after a delay --- */

struct sink {
  struct conn *c;
  uv_timer_t t;
  uint64_t bytes;
  uint32_t sum;
  bool busy, aborted, ended;
};

static void sink_closed_cb(uv_handle_t *h) {
  struct sink *s = h->data;
  http_conn_release(s->c);
  free(s);
}

static void sink_finish(struct sink *s) {
  char body[128];
  int n = snprintf(body, sizeof body, "{\"bytes\":%llu,\"sum\":%u}",
                   (unsigned long long)s->bytes, s->sum);
  http_set_ctx(s->c, NULL, NULL);
  http_respond(s->c, 201, "application/json", NULL, body, (size_t)n);
  uv_close((uv_handle_t *)&s->t, sink_closed_cb);
}

static void sink_abort(struct conn *c, void *ctx) {
  struct sink *s = ctx;
  (void)c;
  s->aborted = true;
  fprintf(stderr, "{\"msg\":\"sink aborted\",\"bytes\":%llu}\n",
          (unsigned long long)s->bytes);
  if (!s->busy)
    uv_close((uv_handle_t *)&s->t, sink_closed_cb);
}

static void sink_timer_cb(uv_timer_t *t) {
  struct sink *s = t->data;
  s->busy = false;
  if (s->aborted) {
    uv_close((uv_handle_t *)&s->t, sink_closed_cb);
    return;
  }
  if (s->ended)
    sink_finish(s);
  else
    http_body_continue(s->c);
}

static void sink_start(struct conn *c, const struct http_req *req) {
  struct sink *s;

  if (req->params[0].n == 6 && memcmp(req->params[0].p, "reject", 6) == 0) {
    http_problem(c, PROB_BAD_REQUEST, "this sink refuses bodies");
    return;
  }
  s = calloc(1, sizeof *s);
  s->c = c;
  uv_timer_init(loop, &s->t);
  s->t.data = s;
  http_conn_hold(c);
  http_set_ctx(c, s, sink_abort);
  http_body_continue(c);
}

static int sink_body(struct conn *c, const char *data, size_t len) {
  struct sink *s = http_ctx(c);
  for (size_t i = 0; i < len; i++)
    s->sum = s->sum * 31 + (unsigned char)data[i];
  s->bytes += len;
  s->busy = true;
  uv_timer_start(&s->t, sink_timer_cb, SINK_DELAY_MS, 0);
  return AS_AGAIN;
}

static void sink_end(struct conn *c) {
  struct sink *s = http_ctx(c);
  if (s->busy)
    s->ended = true;
  else
    sink_finish(s);
}

static const struct http_stream_ops sink_ops = {sink_start, sink_body, sink_end};

/* --- /wait?ms=N: answer later (a long-poll stand-in) --- */

static void wait_done(struct conn *c) {
  http_set_ctx(c, NULL, NULL);
  http_respond(c, 200, "text/plain", NULL, "waited\n", 7);
}

static void wait_abort(struct conn *c, void *ctx) {
  (void)c;
  (void)ctx;
  fprintf(stderr, "{\"msg\":\"wait aborted\"}\n");
}

static void wait_h(struct conn *c, const struct http_req *req) {
  char v[24];
  size_t n;
  long ms = 100;
  if (http_query_value(req, "ms", v, sizeof v, &n) == 0)
    ms = strtol(v, NULL, 10);
  http_set_ctx(c, c, wait_abort);
  http_timer(c, (uint64_t)(ms > 0 ? ms : 1), wait_done);
}

/* --- /stream?n=N: a streamed body written in pieces --- */

struct streamer {
  uint64_t left;
  char buf[65536];
};

static void stream_write_cb(struct conn *c, int status, void *arg);

static void stream_next(struct conn *c, struct streamer *st) {
  size_t n = st->left < sizeof st->buf ? (size_t)st->left : sizeof st->buf;
  if (n == 0) {
    http_resp_end(c);
    free(st);
    return;
  }
  st->left -= n;
  memset(st->buf, 'x', n);
  if (http_resp_write(c, st->buf, n, stream_write_cb, st) != 0)
    free(st);
}

static void stream_write_cb(struct conn *c, int status, void *arg) {
  if (status != 0 || !http_conn_alive(c)) {
    free(arg);
    return;
  }
  stream_next(c, arg);
}

static void stream_h(struct conn *c, const struct http_req *req) {
  char v[24];
  size_t n;
  struct streamer *st = calloc(1, sizeof *st);
  st->left = 1000;
  if (http_query_value(req, "n", v, sizeof v, &n) == 0)
    st->left = strtoull(v, NULL, 10);
  http_resp_head(c, 200, "application/octet-stream", NULL, st->left);
  if (http_is_head(c)) {
    http_resp_end(c);
    free(st);
    return;
  }
  stream_next(c, st);
}

static const struct route routes[] = {
    {HTTP_GET, "/hello", hello, NULL},
    {HTTP_POST, "/echo", echo, NULL},
    {HTTP_PUT, "/sink/{name...}", NULL, &sink_ops},
    {HTTP_GET, "/wait", wait_h, NULL},
    {HTTP_GET, "/stream", stream_h, NULL},
    {HTTP_HEAD, "/stream", stream_h, NULL},
};

static void stopped_cb(struct server *s, void *arg) {
  (void)arg;
  server_free(s);
  uv_close((uv_handle_t *)&sigterm, NULL);
}

static void sigterm_cb(uv_signal_t *h, int sig) {
  (void)sig;
  uv_signal_stop(h);
  server_stop(srv, 2000, stopped_cb, NULL);
}

int main(int argc, char **argv) {
  struct server_opts o = {
      .host = "127.0.0.1", .port = 0, .max_conns = 100,
      .header_timeout_ms = 2000, .idle_timeout_ms = 3000,
      .body_timeout_ms = 2000, .routes = routes,
      .nroutes = ARRAY_SIZE(routes), .log_requests = true};
  struct errbuf e = {{0}};
  char addr[80];
  int rc;

  signal(SIGPIPE, SIG_IGN); /* as the daemon: a reset peer is an error */

  if (argc >= 5) {
    o.max_conns = (unsigned)atoi(argv[1]);
    o.header_timeout_ms = strtoull(argv[2], NULL, 10);
    o.idle_timeout_ms = strtoull(argv[3], NULL, 10);
    o.body_timeout_ms = strtoull(argv[4], NULL, 10);
    if (argc >= 6)
      o.host = argv[5];
  }
  loop = uv_default_loop();
  rc = server_new(loop, &o, &srv, &e);
  if (rc != 0) {
    fprintf(stderr, "loopsrv: %s\n", err_msg(&e, rc));
    return 1;
  }
  server_address(srv, addr, sizeof addr);
  fprintf(stderr, "{\"msg\":\"listening\",\"address\":\"%s\"}\n", addr);
  uv_signal_init(loop, &sigterm);
  uv_signal_start(&sigterm, sigterm_cb, SIGTERM);
  uv_run(loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(loop);
  fprintf(stderr, "{\"msg\":\"stopped\",\"loop_close\":%d}\n", rc);
  return rc == 0 ? 0 : 1;
}
