/*
 * health.c: GET /health.
 *
 * A monitor checks the database (a trivial read) and the blob store (free
 * space, writable directories) on the threadpool every HEALTH_CHECK_MS and
 * keeps the outcome; GET /health answers from it on the loop thread at
 * once.  So a probe never waits behind uploads for a pool thread, and a
 * disk or database that hangs shows up as a check that stopped finishing:
 * older than HEALTH_STALE_MS, the answer is 503 instead of a probe that
 * hangs too.  Until the first check completes (start-up) and after the
 * monitor stops (shutdown), a request runs the checks itself.
 */
#include <stdlib.h>

#include "handlers/internal.h"

#define HEALTH_CHECK_MS 1000 /* between checks */
#define HEALTH_STALE_MS 5000 /* a result older than this is a failure */

struct health_monitor {
  struct app *app;
  uv_timer_t timer;
  bool timer_open;
  bool stopping;
  int pending;           /* 1 while a round of checks is in flight */
  int db_status, blob_status;
  uint64_t free_bytes;
  uint64_t checked_at;   /* uv_now of the last completed check, 0: none */
};

/* One round of both checks; done() runs once both have answered. */
struct health_round {
  int pending;
  int db_status, blob_status;
  uint64_t free_bytes;
  void (*done)(struct health_round *r);
  void *arg;
};

static void round_finish(struct health_round *r) {
  if (--r->pending == 0)
    r->done(r);
}

static void round_db_cb(struct query_result *res, void *arg) {
  struct health_round *r = arg;
  r->db_status = res->status;
  query_result_free(res);
  round_finish(r);
}

static void round_blob_cb(int status, uint64_t free_bytes, void *arg) {
  struct health_round *r = arg;
  r->blob_status = status;
  r->free_bytes = free_bytes;
  round_finish(r);
}

static void round_start(struct app *app, struct health_round *r) {
  r->pending = 3; /* two checks + this function */
  if ((r->db_status = query_health(app->reader, round_db_cb, r)) != 0)
    r->pending--;
  if ((r->blob_status = blob_health(app->blobs, round_blob_cb, r)) != 0)
    r->pending--;
  round_finish(r);
}

static void health_respond(struct conn *c, int db_status, int blob_status,
                           uint64_t free_bytes, uint64_t age_ms) {
  struct app *app = handlers_app(c);
  bool stale = age_ms > HEALTH_STALE_MS;
  bool ok = db_status == 0 && blob_status == 0 && !stale;
  json_t *o = json_pack(
      "{s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "status",
      ok ? "ok" : "unavailable", "database",
      stale ? "unknown" : db_status == 0 ? "ok" : "unavailable", "blob_store",
      stale ? "unknown" : blob_status == 0 ? "ok" : "unavailable",
      "free_bytes", (json_int_t)free_bytes, "last_sequence",
      (json_int_t)evring_last(app->ring), "waiters",
      (json_int_t)events_hub_waiters(app->hub), "checked_ms_ago",
      (json_int_t)age_ms);
  if (o != NULL && stale)
    json_object_set_new(o, "detail",
                        json_string("the last health check did not finish in "
                                    "time: the disk or the database may be "
                                    "hung"));
  handlers_respond_json(c, ok ? 200 : 503, o, "Cache-Control: no-store\r\n");
}

/* --- the monitor --- */

static void monitor_maybe_free(struct health_monitor *m) {
  if (m->stopping && !m->timer_open && m->pending == 0)
    free(m);
}

static void monitor_round_done(struct health_round *r) {
  struct health_monitor *m = r->arg;

  m->pending = 0;
  m->db_status = r->db_status;
  m->blob_status = r->blob_status;
  m->free_bytes = r->free_bytes;
  m->checked_at = uv_now(m->app->loop);
  if (m->checked_at == 0)
    m->checked_at = 1; /* 0 means "never" */
  free(r);
  monitor_maybe_free(m);
}

static void monitor_tick_cb(uv_timer_t *t) {
  struct health_monitor *m = t->data;
  struct health_round *r;

  if (m->pending != 0 || m->stopping)
    return; /* the previous check has not finished: it goes stale */
  r = calloc(1, sizeof *r);
  if (r == NULL)
    return;
  r->done = monitor_round_done;
  r->arg = m;
  m->pending = 1;
  round_start(m->app, r);
}

static void monitor_close_cb(uv_handle_t *h) {
  struct health_monitor *m = h->data;
  m->timer_open = false;
  monitor_maybe_free(m);
}

int health_monitor_start(struct app *app, struct health_monitor **out) {
  struct health_monitor *m = calloc(1, sizeof *m);
  int rc;

  if (m == NULL)
    return UV_ENOMEM;
  m->app = app;
  if ((rc = uv_timer_init(app->loop, &m->timer)) != 0) {
    free(m);
    return rc;
  }
  m->timer.data = m;
  m->timer_open = true;
  uv_timer_start(&m->timer, monitor_tick_cb, 0, HEALTH_CHECK_MS);
  *out = m;
  return 0;
}

void health_monitor_stop(struct health_monitor *m) {
  if (m == NULL || m->stopping)
    return;
  m->stopping = true;
  uv_close((uv_handle_t *)&m->timer, monitor_close_cb);
}

/* --- GET /health --- */

struct health_req {
  struct health_round round;
  struct conn *c;
};

static void request_round_done(struct health_round *r) {
  struct health_req *h = container_of(r, struct health_req, round);

  if (http_conn_alive(h->c))
    health_respond(h->c, r->db_status, r->blob_status, r->free_bytes, 0);
  http_conn_release(h->c);
  free(h);
}

void health_get(struct conn *c, const struct http_req *req) {
  struct app *app = handlers_app(c);
  struct health_monitor *m = app->health;
  struct health_req *h;
  (void)req;

  if (m != NULL && !m->stopping && m->checked_at != 0) {
    health_respond(c, m->db_status, m->blob_status, m->free_bytes,
                   uv_now(app->loop) - m->checked_at);
    return;
  }
  h = calloc(1, sizeof *h);
  if (h == NULL) {
    http_problem(c, PROB_INTERNAL, "out of memory");
    return;
  }
  h->c = c;
  h->round.done = request_round_done;
  http_conn_hold(c);
  round_start(app, &h->round);
}
