/*
 * stats.c: GET /v1/stats: what the store holds and what the collector can
 * reclaim, counted from the views in one snapshot (store/registry/stats.h),
 * plus the trash as the collector last measured it.
 */
#include "handlers/internal.h"
#include "retention/retention.h"
#include "store/codec/ts.h"
#include "store/registry/stats.h"

static json_t *stats_u(uint64_t v) { return json_integer((json_int_t)v); }

/* {files, bytes, measured_at}, nulls before the collector's first pass */
static json_t *stats_trash(const struct app *app) {
  struct blob_trash_stats t;
  char when[TS_STRLEN + 1];
  int64_t at;

  if (!retention_trash(app->retention, &t, &at))
    return json_pack("{s:n, s:n, s:n}", "files", "bytes", "measured_at");
  ts_format(at * 1000000, when);
  return json_pack("{s:I, s:I, s:s}", "files", (json_int_t)t.files, "bytes",
                   (json_int_t)t.bytes, "measured_at", when);
}

static json_t *stats_json(const struct app *app,
                          const struct store_stats *st) {
  return json_pack(
      "{s:I, s:{s:o, s:o, s:o, s:o, s:o}, s:{s:o, s:o, s:o, s:o, s:o}, "
      "s:{s:o}, s:o}",
      "last_sequence", (json_int_t)st->last_sequence,
      "blobs",
      "live", stats_u(st->live_blobs),
      "live_bytes", stats_u(st->live_bytes),
      "candidates", stats_u(st->candidates),
      "reclaimable_bytes", stats_u(st->reclaimable_bytes),
      "collected", stats_u(st->collected_blobs),
      "packages",
      "open", stats_u(st->packages[PKG_OPEN]),
      "finalized", stats_u(st->packages[PKG_FINALIZED]),
      "expired", stats_u(st->packages[PKG_EXPIRED]),
      "aborted", stats_u(st->packages[PKG_ABORTED]),
      "held", stats_u(st->held_packages),
      "holds",
      "active", stats_u(st->active_holds),
      "trash", stats_trash(app));
}

static void stats_cb_(int status, const struct store_stats *st,
                      const struct errbuf *msg, void *arg) {
  struct conn *c = arg;

  if (http_conn_alive(c)) {
    if (status != 0) {
      if (!fence_db_error(c, status, "reading", err_msg(msg, status)))
        http_problem(c, PROB_DATABASE_UNAVAILABLE, "cannot count: %s",
                     err_msg(msg, status));
    } else {
      json_t *o = stats_json(handlers_app(c), st);
      if (o == NULL)
        http_problem(c, PROB_INTERNAL, "out of memory");
      else
        handlers_respond_json(c, 200, o, NULL);
    }
  }
  http_conn_release(c);
}

void stats_get(struct conn *c, const struct http_req *req) {
  struct app *app = handlers_app(c);
  int rc;
  (void)req;

  http_conn_hold(c);
  if ((rc = query_stats(app->reader, stats_cb_, c)) != 0) {
    http_conn_release(c);
    http_problem(c, PROB_DATABASE_UNAVAILABLE, "cannot query: %s",
                 uv_strerror(rc));
  }
}
