/*
 * health.c: GET /health.  Asks the database (a trivial read on the
 * threadpool) and the blob store (free space) at once and answers when
 * both replied: 200 when both are usable, 503 otherwise.  Neither check
 * runs on the loop thread, so a slow disk cannot stall it.
 */
#include <stdlib.h>

#include "handlers/handlers.h"

struct health {
  struct conn *c;
  int pending;
  int db_status, blob_status;
  int64_t last_sequence;
  uint64_t free_bytes;
};

static void health_finish(struct health *h) {
  struct conn *c = h->c;

  if (--h->pending > 0)
    return;
  if (http_conn_alive(c)) {
    bool ok = h->db_status == 0 && h->blob_status == 0;
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}",
                          "status", ok ? "ok" : "unavailable",
                          "database", h->db_status == 0 ? "ok" : "unavailable",
                          "blob_store",
                          h->blob_status == 0 ? "ok" : "unavailable",
                          "free_bytes", (json_int_t)h->free_bytes,
                          "last_sequence", (json_int_t)h->last_sequence,
                          "waiters",
                          (json_int_t)events_hub_waiters(
                              handlers_app(c)->hub));
    hx_respond_json(c, ok ? 200 : 503, o, "Cache-Control: no-store\r\n");
  }
  http_conn_release(c);
  free(h);
}

static void health_db_cb(struct query_result *res, void *arg) {
  struct health *h = arg;
  h->db_status = res->status;
  h->last_sequence = res->last_sequence;
  query_result_free(res);
  health_finish(h);
}

static void health_blob_cb(int status, uint64_t free_bytes, void *arg) {
  struct health *h = arg;
  h->blob_status = status;
  h->free_bytes = free_bytes;
  health_finish(h);
}

void health_get(struct conn *c, const struct http_req *req) {
  struct app *app = handlers_app(c);
  struct health *h = calloc(1, sizeof *h);
  (void)req;

  if (h == NULL) {
    http_problem(c, 503, "internal", "Service Unavailable", "out of memory");
    return;
  }
  h->c = c;
  h->pending = 3; /* two checks + this function */
  http_conn_hold(c);
  if ((h->db_status = query_health(app->reader, health_db_cb, h)) != 0)
    h->pending--;
  if ((h->blob_status = blob_health(app->blobs, health_blob_cb, h)) != 0)
    h->pending--;
  health_finish(h);
}
