/*
 * stats.c: the counts of stats.h, read in one transaction of the read
 * pool.
 */
#include "store/registry/stats.h"

#include <stdlib.h>

#include "store/registry/model.h"

struct stats_job {
  struct reader_job rj;
  struct store_stats st;
  stats_cb cb;
  void *arg;
};

static const char stats_seq_sql[] = "SELECT last_sequence FROM state";
static const char stats_blobs_sql[] =
    "SELECT "
    "coalesce(sum(refcount > 0), 0), "
    "coalesce(sum(CASE WHEN refcount > 0 THEN size END), 0), "
    "coalesce(sum(refcount = 0 AND collected_seq IS NULL), 0), "
    "coalesce(sum(CASE WHEN refcount = 0 AND collected_seq IS NULL "
    "THEN size END), 0), "
    "coalesce(sum(collected_seq IS NOT NULL), 0) FROM blobs";
static const char stats_packages_sql[] =
    "SELECT status, count(*) FROM packages GROUP BY status";
static const char stats_holds_sql[] =
    "SELECT count(DISTINCT package_id), count(*) FROM holds "
    "WHERE released_seq IS NULL";

/* Runs sql, handing each row to row(); 0 or an error with e. */
static int stats_rows(struct evlog_db *db, const char *sql,
                      void (*row)(struct evlog_stmt *st,
                                  struct store_stats *out),
                      struct store_stats *out, struct errbuf *e) {
  struct evlog_stmt *st;
  int rc;

  if ((rc = evlog_stmt(db, sql, &st, e)) != 0)
    return rc;
  while ((rc = evlog_step(st)) == EVLOG_ROW)
    row(st, out);
  evlog_reset(st);
  return rc == 0 ? 0 : evlog_fail(db, rc, "counting for /v1/stats", e);
}

static uint64_t stats_u(struct evlog_stmt *st, int col) {
  int64_t v = evlog_col_int(st, col);

  return v > 0 ? (uint64_t)v : 0;
}

static void stats_seq_row(struct evlog_stmt *st, struct store_stats *out) {
  out->last_sequence = evlog_col_int(st, 0);
}

static void stats_blobs_row(struct evlog_stmt *st, struct store_stats *out) {
  out->live_blobs = stats_u(st, 0);
  out->live_bytes = stats_u(st, 1);
  out->candidates = stats_u(st, 2);
  out->reclaimable_bytes = stats_u(st, 3);
  out->collected_blobs = stats_u(st, 4);
}

static void stats_packages_row(struct evlog_stmt *st,
                               struct store_stats *out) {
  int64_t s = evlog_col_int(st, 0);

  if (s >= PKG_OPEN && s <= PKG_ABORTED)
    out->packages[s] = stats_u(st, 1);
}

static void stats_holds_row(struct evlog_stmt *st, struct store_stats *out) {
  out->held_packages = stats_u(st, 0);
  out->active_holds = stats_u(st, 1);
}

static int stats_run(struct reader_job *rj, struct evlog_db *db,
                     struct errbuf *e) {
  struct stats_job *j = container_of(rj, struct stats_job, rj);
  int rc;

  if ((rc = stats_rows(db, stats_seq_sql, stats_seq_row, &j->st, e)) != 0 ||
      (rc = stats_rows(db, stats_blobs_sql, stats_blobs_row, &j->st, e)) !=
          0 ||
      (rc = stats_rows(db, stats_packages_sql, stats_packages_row, &j->st,
                       e)) != 0)
    return rc;
  return stats_rows(db, stats_holds_sql, stats_holds_row, &j->st, e);
}

static void stats_done(struct reader_job *rj, int status) {
  struct stats_job *j = container_of(rj, struct stats_job, rj);

  j->cb(status, &j->st, &rj->msg, j->arg);
  free(j);
}

int query_stats(struct reader *r, stats_cb cb, void *arg) {
  struct stats_job *j = calloc(1, sizeof *j);
  int rc;

  if (j == NULL)
    return UV_ENOMEM;
  j->cb = cb;
  j->arg = arg;
  if ((rc = reader_submit(r, &j->rj, stats_run, stats_done)) != 0)
    free(j);
  return rc;
}
