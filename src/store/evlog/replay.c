/*
 * replay.c: rebuild of the views from `events`, and the view digest.
 *
 * View digest: BLAKE3 over, for each view in the domain's fixed order
 * (struct evlog_domain: the registry's retention_classes, packages, blobs,
 * files, retention_state), then the engine's `state`,
 *   u16be length + table name
 *   for each row in primary-key order:
 *     0x52 ('R')
 *     for each column in declaration order, one tagged value:
 *       0x00                                  NULL
 *       0x01 i64be                            INTEGER
 *       0x02 f64 IEEE-754 bits, be            REAL (unused today)
 *       0x03 u32be length + UTF-8 bytes       TEXT
 *       0x04 u32be length + bytes             BLOB
 *   0x45 ('E') u64be row count of the table
 * Seeded configuration (retention_classes) is included: both sides of a
 * comparison must agree on it too.  `events` is not a view and is not
 * included.
 *
 * replay_live rebuilds in place in one transaction; replay_scratch copies
 * the database with the backup API into a scratch file, rebuilds there and
 * deletes it, so the live database is only read.
 *
 * Speed (docs/EVENTS.md, "Performance"): the connection is opened for a
 * rebuild (EVLOG_REBUILD: reference checks deferred, caches sized for
 * rewriting every view; see the backend), and before COMMIT one
 * evlog_check proves the rebuilt views consistent, or the transaction
 * rolls back.
 */
#include "store/evlog/replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "blake3.h"
#include "store/evlog/log.h"

#define REPLAY_COLUMNS_MAX 32 /* columns of a view */

/* The engine's own table, digested after the domain's views. */
static const struct evlog_view_table replay_state = {"state", "id"};

static void replay_put_be(blake3_hasher *h, uint64_t v, int nbytes) {
  uint8_t b[8];

  for (int i = 0; i < nbytes; i++)
    b[i] = (uint8_t)(v >> (8 * (nbytes - 1 - i)));
  blake3_hasher_update(h, b, (size_t)nbytes);
}

static void replay_put_tag(blake3_hasher *h, uint8_t tag) {
  blake3_hasher_update(h, &tag, 1);
}

static void replay_put_value(blake3_hasher *h, const struct evlog_value *v) {
  switch (v->type) {
  case EVLOG_INTEGER:
    replay_put_tag(h, 0x01);
    replay_put_be(h, (uint64_t)v->i, 8);
    break;
  case EVLOG_REAL: {
    uint64_t bits;
    memcpy(&bits, &v->d, sizeof bits);
    replay_put_tag(h, 0x02);
    replay_put_be(h, bits, 8);
    break;
  }
  case EVLOG_TEXT:
  case EVLOG_BLOB:
    replay_put_tag(h, v->type == EVLOG_TEXT ? 0x03 : 0x04);
    replay_put_be(h, v->n, 4);
    if (v->n > 0)
      blake3_hasher_update(h, v->p, v->n);
    break;
  default:
    replay_put_tag(h, 0x00);
    break;
  }
}

static int replay_digest_table(struct evlog_db *db, blake3_hasher *h,
                               const struct evlog_view_table *v,
                               uint64_t *rows, struct errbuf *e) {
  struct evlog_stmt *st = NULL;
  char sql[160];
  uint64_t n = 0;
  int ncol, rc;

  snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY %s", v->name,
           v->order_by);
  replay_put_be(h, strlen(v->name), 2);
  blake3_hasher_update(h, v->name, strlen(v->name));
  if ((rc = evlog_prepare(db, sql, &st, e)) != 0)
    return rc;
  ncol = evlog_col_count(st);
  if (ncol > REPLAY_COLUMNS_MAX) {
    evlog_finalize(st);
    return err_set(e, UV_E2BIG, "view %s has %d columns, more than %d",
                   v->name, ncol, REPLAY_COLUMNS_MAX);
  }
  while ((rc = evlog_step(st)) == EVLOG_ROW) {
    struct evlog_value vals[REPLAY_COLUMNS_MAX];
    evlog_row(st, vals, ncol);
    replay_put_tag(h, 0x52);
    for (int c = 0; c < ncol; c++)
      replay_put_value(h, &vals[c]);
    n++;
  }
  evlog_finalize(st);
  if (rc != 0)
    return evlog_fail(db, rc, "reading a view for its digest", e);
  replay_put_tag(h, 0x45);
  replay_put_be(h, n, 8);
  *rows += n;
  return 0;
}

int replay_view_digest(struct evlog_db *db, const struct evlog_domain *dom,
                       uint8_t out[DIGEST_LEN], uint64_t *rows,
                       struct errbuf *e) {
  blake3_hasher h;
  uint64_t total = 0;
  int rc;

  blake3_hasher_init(&h);
  for (size_t i = 0; i < dom->ntables; i++)
    if ((rc = replay_digest_table(db, &h, &dom->tables[i], &total, e)) != 0)
      return rc;
  if ((rc = replay_digest_table(db, &h, &replay_state, &total, e)) != 0)
    return rc;
  blake3_hasher_finalize(&h, out, DIGEST_LEN);
  if (rows != NULL)
    *rows = total;
  return 0;
}

int replay_rebuild(struct evlog_db *db, const struct evlog_domain *dom,
                   uint64_t *applied, struct errbuf *e) {
  struct evlog_stmt *st = NULL;
  int64_t expect = 1;
  uint64_t n = 0;
  int rc;

  *applied = 0;
  if ((rc = evlog_exec(db, dom->reset_sql, e)) != 0)
    return rc;
  if ((rc = evlog_stamp(db, 0, e)) != 0)
    return rc;
  if ((rc = evlog_stmt(db, evlog_scan_sql, &st, e)) != 0)
    return rc;
  while ((rc = evlog_step(st)) == EVLOG_ROW) {
    struct event_rec ev; /* points into the row: no copy */
    if ((rc = evlog_row_view(st, &ev)) != 0) {
      err_set(e, rc, "event log row after sequence %lld is malformed: run "
              "--verify-log", (long long)(expect - 1));
      goto out;
    }
    if (ev.sequence != expect) {
      rc = err_set(e, UV_EPROTO,
                   "event log has a gap: sequence %lld is missing (next is "
                   "%lld): run --verify-log",
                   (long long)expect, (long long)ev.sequence);
      goto out;
    }
    if ((rc = dom->apply(db, &ev, e)) != 0)
      goto out;
    expect++;
    n++;
  }
  rc = evlog_fail(db, rc, "reading the event log", e);
  /* One stamp for the whole rebuild, inside its transaction. */
  if (rc == 0 && n > 0)
    rc = evlog_stamp(db, expect - 1, e);
out:
  evlog_reset(st);
  *applied = n;
  return rc;
}

static int replay_in_tx(struct evlog_db *db, const struct evlog_domain *dom,
                        struct replay_report *r, bool digest_before,
                        struct errbuf *e) {
  uint64_t t0;
  int rc;

  if ((rc = evlog_begin(db, true, e)) != 0)
    return rc;
  if (digest_before &&
      (rc = replay_view_digest(db, dom, r->before, NULL, e)) != 0)
    goto fail;
  t0 = uv_hrtime();
  if ((rc = replay_rebuild(db, dom, &r->applied, e)) != 0)
    goto fail;
  if ((rc = evlog_check(db, e)) != 0)
    goto fail;
  r->seconds = (double)(uv_hrtime() - t0) / 1e9;
  if ((rc = replay_view_digest(db, dom, r->after, NULL, e)) != 0)
    goto fail;
  if ((rc = evlog_commit(db, e)) != 0)
    goto fail;
  return 0;
fail:
  evlog_rollback(db);
  return rc;
}

int replay_live(const char *location, const struct evlog_domain *dom,
                struct replay_report *r, struct errbuf *e) {
  struct evlog_db *db;
  int rc;

  memset(r, 0, sizeof *r);
  if ((rc = evlog_open(location, EVLOG_REBUILD, &db, e)) != 0)
    return rc;
  rc = replay_in_tx(db, dom, r, true, e);
  evlog_close(db);
  return rc;
}

int replay_scratch(const char *location, const char *scratch,
                   const struct evlog_domain *dom, struct replay_report *r,
                   struct errbuf *e) {
  struct evlog_db *live = NULL, *db = NULL;
  int rc;

  memset(r, 0, sizeof *r);
  if ((rc = evlog_open(location, EVLOG_RO, &live, e)) != 0)
    return rc;
  /* The live digest, read in one transaction. */
  rc = evlog_begin(live, false, e);
  if (rc == 0) {
    rc = replay_view_digest(live, dom, r->before, NULL, e);
    evlog_rollback(live);
  }
  if (rc == 0)
    rc = evlog_copy(live, scratch, &db, e);
  if (rc == 0)
    rc = replay_in_tx(db, dom, r, false, e);
  evlog_close(db); /* deletes the scratch copy */
  evlog_close(live);
  return rc;
}
