/*
 * sweep.c: the sweeper's operation (lifecycle.h): one writer job that
 * ends, as of the time it runs, the packages whose time has come:
 * finalized unheld packages past expires_at (v1.package.expired, oldest
 * expiry first, index retention_state_due), then open unheld packages
 * created at least open_ttl_us ago (v1.package.aborted, reason
 * "open-package-ttl", oldest first, index packages_open).  At most limit
 * events per job, all in the job's savepoint: all or nothing.
 */
#include <stdlib.h>

#include "store/registry/lifecycle.h"
#include "store/registry/op.h"
#include "store/registry/views.h"

struct sweep_job {
  struct reg_job base;
  struct sweep_req req;
};

/* What a selection found: ids (and expires_at), up to cap. */
struct due {
  struct uuid *id;
  int64_t *expires_at;
  size_t n, cap;
  bool more;                   /* a row past cap exists */
};

static const char sweep_expired_sql[] =
    "SELECT r.package_id, r.expires_at FROM retention_state r "
    "JOIN packages p ON p.id = r.package_id "
    "WHERE r.ended_seq IS NULL AND r.expires_at IS NOT NULL "
    "AND r.expires_at <= ?1 AND p.status = 2 AND NOT EXISTS "
    "(SELECT 1 FROM holds h WHERE h.package_id = r.package_id "
    "AND h.released_seq IS NULL) "
    "ORDER BY r.expires_at, r.package_id LIMIT ?2";
static const char sweep_open_sql[] =
    "SELECT p.id, 0 FROM packages p WHERE p.status = 1 "
    "AND p.created_at <= ?1 AND NOT EXISTS "
    "(SELECT 1 FROM holds h WHERE h.package_id = p.id "
    "AND h.released_seq IS NULL) "
    "ORDER BY p.created_at, p.id LIMIT ?2";

/* Reads up to d->cap rows of sql (bound to before, cap + 1) into d; the
 * rows are read in full before anything is emitted, so the views do not
 * change under the statement. */
static int sweep_select(struct wtx *tx, const char *sql, int64_t before,
                        struct due *d, struct reg_result *res) {
  struct evlog_db *db = wtx_db(tx);
  struct errbuf e = {{0}};
  struct evlog_stmt *st;
  int rc;

  d->n = 0;
  d->more = false;
  if ((rc = evlog_stmt(db, sql, &st, &e)) != 0) {
    reg_internal(res, rc, &e);
    return rc;
  }
  rc = evlog_bind_int(st, 1, before);
  if (rc == 0)
    rc = evlog_bind_int(st, 2, (int64_t)d->cap + 1);
  while (rc == 0 && (rc = evlog_step(st)) == EVLOG_ROW) {
    rc = 0;
    if (d->n == d->cap) {
      d->more = true;
      break;
    }
    if (evlog_col_copy(st, 0, d->id[d->n].b, UUID_LEN) != 0) {
      evlog_reset(st);
      reg_err(res, REG_INTERNAL, "database: malformed package id in the "
              "views; run --replay to rebuild them");
      res->status = UV_EPROTO;
      return UV_EPROTO;
    }
    d->expires_at[d->n++] = evlog_col_int(st, 1);
  }
  evlog_reset(st);
  if (rc != 0) {
    reg_internal(res, evlog_fail(db, rc, "selecting packages to end", &e),
                 &e);
    return rc;
  }
  return 0;
}

static int reg_sweep_run(struct writer_job *wj, struct wtx *tx) {
  struct sweep_job *j = container_of(wj, struct sweep_job, base.wj);
  struct reg_result *res = &j->base.res;
  struct due d = {0};
  int64_t as_of, ms;

  as_of = reg_now(&ms);
  d.cap = j->req.limit;
  d.id = malloc(d.cap * sizeof *d.id);
  d.expires_at = malloc(d.cap * sizeof *d.expires_at);
  if (d.id == NULL || d.expires_at == NULL) {
    reg_err(res, REG_INTERNAL, "out of memory");
    goto out;
  }
  if (sweep_select(tx, sweep_expired_sql, as_of, &d, res) != 0)
    goto out;
  for (size_t i = 0; i < d.n && res->error == REG_OK; i++) {
    reg_emit_ended(tx, &j->base, &d.id[i], true, d.expires_at[i], NULL,
                   as_of);
    res->expired++;
  }
  if (res->error != REG_OK)
    goto out;
  res->more = d.more;
  if (j->req.open_ttl_us < 0 || d.more)
    goto out;
  if (j->req.open_ttl_us > as_of) /* nothing is that old */
    goto out;
  d.cap = j->req.limit - res->expired;
  if (sweep_select(tx, sweep_open_sql, as_of - j->req.open_ttl_us, &d,
                   res) != 0)
    goto out;
  for (size_t i = 0; i < d.n && res->error == REG_OK; i++) {
    reg_emit_ended(tx, &j->base, &d.id[i], false, 0, "open-package-ttl",
                   as_of);
    res->aborted++;
  }
  res->more = d.more;
out:
  free(d.id);
  free(d.expires_at);
  if (res->error != REG_OK) {
    res->expired = res->aborted = 0;
    res->more = false;
  }
  return reg_job_status(&j->base);
}

int reg_sweep(struct writer *w, const struct sweep_req *req, reg_cb cb,
              void *arg) {
  struct sweep_job *j;

  if (req->limit == 0)
    return UV_EINVAL;
  j = calloc(1, sizeof *j);
  if (j == NULL)
    return UV_ENOMEM;
  j->req = *req;
  j->base.actor = REG_ACTOR_SWEEPER;
  return reg_job_submit(w, &j->base, reg_sweep_run, cb, arg);
}
