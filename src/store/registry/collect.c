/*
 * collect.c: the collector's operation (lifecycle.h): one writer job that
 * decides, as of the time it runs, which blob files may go: candidates
 * (refcount 0, not collected, unreferenced at least grace_us ago; index
 * blobs_candidates, oldest first), then the orphan files the caller found
 * on disk, each re-checked here: a blob a live file references, or a
 * candidate still in its grace period, stays.  Each blob that may go is
 * one v1.blob.collected (actor system:sweeper), all in the job's
 * savepoint; the caller moves the files to the trash after the commit.
 * A dry run makes the same choices and writes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "store/codec/ccbor.h"
#include "store/registry/lifecycle.h"
#include "store/registry/op.h"
#include "store/registry/views.h"

struct collect_job {
  struct reg_job base;
  struct collect_req req;
  struct orphan_candidate *orphans; /* a sorted copy, req.norphans */
};

static const char collect_candidates_sql[] =
    "SELECT blake3, size, unref_seq, unref_at FROM blobs "
    "WHERE refcount = 0 AND collected_seq IS NULL AND unref_at <= ?1 "
    "ORDER BY unref_at, blake3 LIMIT ?2";
static const char collect_recheck_sql[] =
    "SELECT refcount, collected_seq IS NULL FROM blobs WHERE blake3 = ?1";

static int collect_malformed(struct reg_result *res) {
  reg_err(res, REG_INTERNAL, "database: malformed row in the blobs view; "
          "run --replay to rebuild the views");
  res->status = UV_EPROTO;
  return UV_EPROTO;
}

/* Candidates past their grace into res->collected (room for cap); more
 * when another one waits. */
static int collect_candidates(struct wtx *tx, int64_t before, size_t cap,
                              struct reg_result *res) {
  struct evlog_db *db = wtx_db(tx);
  struct errbuf e = {{0}};
  struct evlog_stmt *st;
  int rc;

  if ((rc = evlog_stmt(db, collect_candidates_sql, &st, &e)) != 0) {
    reg_internal(res, rc, &e);
    return rc;
  }
  rc = evlog_bind_int(st, 1, before);
  if (rc == 0)
    rc = evlog_bind_int(st, 2, (int64_t)cap + 1);
  while (rc == 0 && (rc = evlog_step(st)) == EVLOG_ROW) {
    struct reg_collected *c = &res->collected[res->ncollected];
    int64_t size = evlog_col_int(st, 1);

    rc = 0;
    if (res->ncollected == cap) {
      res->more = true;
      break;
    }
    if (evlog_col_copy(st, 0, c->blake3, DIGEST_LEN) != 0 || size < 0) {
      evlog_reset(st);
      return collect_malformed(res);
    }
    c->size = (uint64_t)size;
    c->unreferenced_seq = evlog_col_int(st, 2);
    c->unreferenced_at = evlog_col_int(st, 3);
    c->sequence = 0;
    res->ncollected++;
  }
  evlog_reset(st);
  if (rc != 0) {
    reg_internal(res, evlog_fail(db, rc, "selecting blobs to collect", &e),
                 &e);
    return rc;
  }
  return 0;
}

/* 1 when the file is an orphan (no row, or a row already collected: the
 * file was found again), 0 when it stays, or a negative error. */
static int collect_is_orphan(struct wtx *tx, const uint8_t *b3,
                             struct reg_result *res) {
  struct evlog_db *db = wtx_db(tx);
  struct errbuf e = {{0}};
  struct evlog_stmt *st;
  int64_t refcount = 0, uncollected = 0;
  int rc;

  if ((rc = evlog_stmt(db, collect_recheck_sql, &st, &e)) != 0) {
    reg_internal(res, rc, &e);
    return rc;
  }
  rc = evlog_bind_blob(st, 1, b3, DIGEST_LEN);
  if (rc == 0)
    rc = evlog_step(st);
  if (rc == EVLOG_ROW) {
    refcount = evlog_col_int(st, 0);
    uncollected = evlog_col_int(st, 1);
  }
  evlog_reset(st);
  if (rc == 0)
    return 1;
  if (rc != EVLOG_ROW) {
    reg_internal(res, evlog_fail(db, rc, "re-checking a blob", &e), &e);
    return rc;
  }
  if (refcount > 0 || uncollected)
    return 0;
  return 1;
}

/* The orphans that are orphans still, after the candidates, up to cap. */
static int collect_orphans(struct collect_job *j, struct wtx *tx,
                           size_t cap) {
  struct reg_result *res = &j->base.res;

  for (size_t i = 0; i < j->req.norphans && !res->more; i++) {
    const struct orphan_candidate *o = &j->orphans[i];
    struct reg_collected *c;
    int rc;

    if (i > 0 && memcmp(o->blake3, j->orphans[i - 1].blake3,
                        DIGEST_LEN) == 0)
      continue; /* named twice */
    if ((rc = collect_is_orphan(tx, o->blake3, res)) < 0)
      return rc;
    if (rc == 0)
      continue;
    if (res->ncollected == cap) {
      res->more = true;
      break;
    }
    c = &res->collected[res->ncollected++];
    memcpy(c->blake3, o->blake3, DIGEST_LEN);
    c->size = o->size;
    c->unreferenced_seq = 0;
    c->unreferenced_at = 0;
    c->sequence = 0;
  }
  return 0;
}

/* v1.blob.collected for c, as of as_of. */
static void collect_emit(struct wtx *tx, struct reg_job *j,
                         struct reg_collected *c, int64_t as_of) {
  cbor_item_t *map = ccbor_map_new(4);
  struct uuid subject;
  int rc;

  if (map == NULL) {
    reg_err(&j->res, REG_INTERNAL, "out of memory");
    return;
  }
  if (c->size > (uint64_t)CCBOR_MAX_INT) {
    cbor_decref(&map);
    reg_err(&j->res, REG_INVALID, "blob size %llu is larger than 2^53",
            (unsigned long long)c->size);
    return;
  }
  memcpy(subject.b, c->blake3, UUID_LEN);
  rc = ccbor_map_put_int(map, "as_of", as_of);
  if (rc == 0)
    rc = reg_put_caddr(map, "blake3", CADDR_BLAKE3, c->blake3);
  if (rc == 0)
    rc = ccbor_map_put_int(map, "size", (int64_t)c->size);
  if (rc == 0)
    rc = c->unreferenced_seq > 0
             ? ccbor_map_put_int(map, "unreferenced_seq", c->unreferenced_seq)
             : ccbor_map_put_null(map, "unreferenced_seq");
  reg_emit(tx, j, map, rc, EV_BLOB_COLLECTED, EV_KIND_BLOB, &subject, as_of);
  c->sequence = j->res.sequence;
}

static int reg_collect_run(struct writer_job *wj, struct wtx *tx) {
  struct collect_job *j = container_of(wj, struct collect_job, base.wj);
  struct reg_result *res = &j->base.res;
  size_t cap = j->req.limit;
  int64_t as_of, ms;

  as_of = reg_now(&ms);
  res->collected = malloc(cap * sizeof *res->collected);
  if (res->collected == NULL) {
    reg_err(res, REG_INTERNAL, "out of memory");
    return reg_job_status(&j->base);
  }
  if (collect_candidates(tx, as_of - j->req.grace_us, cap, res) != 0 ||
      (!res->more && collect_orphans(j, tx, cap) != 0) || j->req.dry_run)
    return reg_job_status(&j->base);
  for (size_t i = 0; i < res->ncollected && res->error == REG_OK; i++)
    collect_emit(tx, &j->base, &res->collected[i], as_of);
  return reg_job_status(&j->base);
}

static int orphan_cmp(const void *a, const void *b) {
  return memcmp(((const struct orphan_candidate *)a)->blake3,
                ((const struct orphan_candidate *)b)->blake3, DIGEST_LEN);
}

int reg_collect(struct writer *w, const struct collect_req *req, reg_cb cb,
                void *arg) {
  struct collect_job *j;
  size_t n = req->norphans;

  if (req->limit == 0 || req->grace_us < 0 || (n > 0 && req->orphans == NULL))
    return UV_EINVAL;
  if (n > (SIZE_MAX - sizeof *j) / sizeof *req->orphans)
    return UV_ENOMEM;
  j = calloc(1, sizeof *j + n * sizeof *req->orphans);
  if (j == NULL)
    return UV_ENOMEM;
  j->req = *req;
  j->orphans = (struct orphan_candidate *)(j + 1);
  j->req.orphans = j->orphans;
  if (n > 0) {
    memcpy(j->orphans, req->orphans, n * sizeof *req->orphans);
    qsort(j->orphans, n, sizeof *j->orphans, orphan_cmp);
  }
  j->base.actor = REG_ACTOR_SWEEPER;
  return reg_job_submit(w, &j->base, reg_collect_run, cb, arg);
}
