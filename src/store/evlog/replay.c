/*
 * replay.c: rebuild of the views from `events`, and the view digest.
 *
 * View digest: BLAKE3 over, for each view in the fixed order of
 * replay_views[] below,
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
 * Speed (docs/EVENTS.md, "Performance"): the rebuild runs with foreign
 * keys off, so emptying a view is SQLite's truncate (whole b-trees freed)
 * instead of a row-by-row delete that checks every child, and inserts skip
 * their parent look-ups; before COMMIT one PRAGMA foreign_key_check proves
 * the rebuilt views consistent, or the transaction rolls back.  The page
 * cache is sized for a rebuild, which rewrites every view page, and the
 * log is read through a memory mapping (mmap_size) rather than a pread
 * copy per page.
 */
#include "store/evlog/replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "blake3.h"
#include "store/evlog/sqlite/db.h"
#include "store/evlog/chain.h"
#include "store/registry/views.h"

/* Page cache of a rebuild: the views of a 1,000,000-event log take about
 * 300 MiB; pages are allocated as used, so a small log costs little. */
#define REPLAY_CACHE_KIB "1048576"

/* Reads of the log (the largest table) through a mapping instead of one
 * pread copy per page. */
#define REPLAY_MMAP_BYTES "4294967296"

struct replay_view {
  const char *table;
  const char *order_by;
};

static const struct replay_view replay_views[] = {
    {"retention_classes", "name"},
    {"packages", "id"},
    {"blobs", "blake3"},
    {"files", "id"},
    {"retention_state", "package_id"},
    {"state", "id"},
};

/* Emptied before a rebuild, children first (foreign keys). */
static const char *const replay_reset_sql =
    "DELETE FROM files;"
    "DELETE FROM retention_state;"
    "DELETE FROM blobs;"
    "DELETE FROM packages;"
    "UPDATE state SET last_sequence = 0 WHERE id = 1;";

static void replay_put_be(blake3_hasher *h, uint64_t v, int nbytes) {
  uint8_t b[8];

  for (int i = 0; i < nbytes; i++)
    b[i] = (uint8_t)(v >> (8 * (nbytes - 1 - i)));
  blake3_hasher_update(h, b, (size_t)nbytes);
}

static void replay_put_tag(blake3_hasher *h, uint8_t tag) {
  blake3_hasher_update(h, &tag, 1);
}

static void replay_put_value(blake3_hasher *h, sqlite3_stmt *st, int col) {
  switch (sqlite3_column_type(st, col)) {
  case SQLITE_INTEGER:
    replay_put_tag(h, 0x01);
    replay_put_be(h, (uint64_t)sqlite3_column_int64(st, col), 8);
    break;
  case SQLITE_FLOAT: {
    double d = sqlite3_column_double(st, col);
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    replay_put_tag(h, 0x02);
    replay_put_be(h, bits, 8);
    break;
  }
  case SQLITE_TEXT: {
    const unsigned char *s = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    replay_put_tag(h, 0x03);
    replay_put_be(h, n, 4);
    blake3_hasher_update(h, s, n);
    break;
  }
  case SQLITE_BLOB: {
    const void *b = sqlite3_column_blob(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    replay_put_tag(h, 0x04);
    replay_put_be(h, n, 4);
    if (n > 0)
      blake3_hasher_update(h, b, n);
    break;
  }
  default:
    replay_put_tag(h, 0x00);
    break;
  }
}

int replay_view_digest(sqlite3 *db, uint8_t out[DIGEST_LEN], uint64_t *rows,
                       struct errbuf *e) {
  blake3_hasher h;
  uint64_t total = 0;

  blake3_hasher_init(&h);
  for (size_t i = 0; i < ARRAY_SIZE(replay_views); i++) {
    const struct replay_view *v = &replay_views[i];
    char sql[128];
    sqlite3_stmt *st = NULL;
    uint64_t n = 0;
    int rc;

    snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY %s", v->table,
             v->order_by);
    replay_put_be(&h, strlen(v->table), 2);
    blake3_hasher_update(&h, v->table, strlen(v->table));
    rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
      int ncol = sqlite3_column_count(st);
      replay_put_tag(&h, 0x52);
      for (int c = 0; c < ncol; c++)
        replay_put_value(&h, st, c);
      n++;
      rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
      return db_err(db, rc, "reading a view for its digest", e);
    replay_put_tag(&h, 0x45);
    replay_put_be(&h, n, 8);
    total += n;
  }
  blake3_hasher_finalize(&h, out, DIGEST_LEN);
  if (rows != NULL)
    *rows = total;
  return 0;
}

int replay_rebuild(sqlite3 *db, uint64_t *applied, struct errbuf *e) {
  struct views *v = NULL;
  sqlite3_stmt *st = NULL;
  int64_t expect = 1;
  uint64_t n = 0;
  int rc;

  *applied = 0;
  if ((rc = db_exec(db, replay_reset_sql, e)) != 0)
    return rc;
  if ((rc = views_open(db, &v)) != 0)
    return err_set(e, rc, "out of memory");
  rc = sqlite3_prepare_v2(db,
                          "SELECT " EVLOG_COLUMNS
                          " FROM events ORDER BY sequence",
                          -1, &st, NULL);
  if (rc != SQLITE_OK) {
    rc = db_err(db, rc, "reading the event log", e);
    goto out;
  }
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct event_rec ev; /* points into the row: no copy */
    if ((rc = evlog_rec_view_row(st, &ev)) != 0) {
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
    if ((rc = views_apply_event(v, &ev, e)) != 0)
      goto out;
    expect++;
    n++;
  }
  rc = rc == SQLITE_DONE ? 0 : db_err(db, rc, "reading the event log", e);
  /* One stamp for the whole rebuild, inside its transaction. */
  if (rc == 0 && n > 0)
    rc = views_stamp(v, expect - 1, e);
out:
  sqlite3_finalize(st);
  views_close(v);
  *applied = n;
  return rc;
}

/* The rebuilt views must satisfy every foreign key (checked once, in
 * bulk, instead of per row while foreign keys are off). */
static int replay_fk_check(sqlite3 *db, struct errbuf *e) {
  sqlite3_stmt *st = NULL;
  int rc;

  rc = sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const char *table = (const char *)sqlite3_column_text(st, 0);
    const char *parent = (const char *)sqlite3_column_text(st, 2);
    err_set(e, UV_EPROTO,
            "the log implies a %s row whose %s row does not exist: run "
            "--verify-log",
            table != NULL ? table : "?", parent != NULL ? parent : "?");
    sqlite3_finalize(st);
    return UV_EPROTO;
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : db_err(db, rc, "checking foreign keys", e);
}

/* Outside any transaction (the foreign_keys pragma is a no-op inside). */
static int replay_tune(sqlite3 *db, struct errbuf *e) {
  int rc = db_exec(db, "PRAGMA foreign_keys = OFF", e);

  if (rc == 0)
    rc = db_exec(db, "PRAGMA cache_size = -" REPLAY_CACHE_KIB, e);
  if (rc == 0)
    rc = db_exec(db, "PRAGMA mmap_size = " REPLAY_MMAP_BYTES, e);
  return rc;
}

static int replay_in_tx(sqlite3 *db, struct replay_report *r,
                        bool digest_before, struct errbuf *e) {
  uint64_t t0;
  int rc;

  if ((rc = replay_tune(db, e)) != 0)
    return rc;
  if ((rc = db_exec(db, "BEGIN IMMEDIATE", e)) != 0)
    return rc;
  if (digest_before &&
      (rc = replay_view_digest(db, r->before, NULL, e)) != 0)
    goto fail;
  t0 = uv_hrtime();
  if ((rc = replay_rebuild(db, &r->applied, e)) != 0)
    goto fail;
  if ((rc = replay_fk_check(db, e)) != 0)
    goto fail;
  r->seconds = (double)(uv_hrtime() - t0) / 1e9;
  if ((rc = replay_view_digest(db, r->after, NULL, e)) != 0)
    goto fail;
  return db_exec(db, "COMMIT", e);
fail:
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

int replay_live(const char *db_path, struct replay_report *r,
                struct errbuf *e) {
  sqlite3 *db;
  int rc;

  memset(r, 0, sizeof *r);
  if ((rc = db_open_rw(db_path, &db, e)) != 0)
    return rc;
  rc = replay_in_tx(db, r, true, e);
  sqlite3_close(db);
  return rc;
}

static void replay_unlink_scratch(const char *path) {
  static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
  char p[4200];

  for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
    snprintf(p, sizeof p, "%s%s", path, sfx[i]);
    unlink(p);
  }
}

int replay_scratch(const char *db_path, const char *scratch_path,
                   struct replay_report *r, struct errbuf *e) {
  sqlite3 *live = NULL, *db = NULL;
  sqlite3_backup *b;
  int rc;

  memset(r, 0, sizeof *r);
  if ((rc = db_open_ro(db_path, &live, e)) != 0)
    return rc;
  /* The live digest, read in one transaction. */
  rc = db_exec(live, "BEGIN", e);
  if (rc == 0)
    rc = replay_view_digest(live, r->before, NULL, e);
  sqlite3_exec(live, "COMMIT", NULL, NULL, NULL);
  if (rc != 0)
    goto out;

  replay_unlink_scratch(scratch_path);
  rc = sqlite3_open_v2(scratch_path, &db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK) {
    rc = db_err(db, rc, "creating the scratch database", e);
    goto out;
  }
  b = sqlite3_backup_init(db, "main", live, "main");
  if (b == NULL) {
    rc = db_err(db, sqlite3_errcode(db), "copying the database", e);
    goto out;
  }
  rc = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    rc = db_err(db, rc, "copying the database", e);
    goto out;
  }
  /* Scratch: durability does not matter, speed does.  No rollback
   * journal either (a failed rebuild cannot roll back, but the scratch
   * file is deleted whatever happens).  Never on the live database. */
  rc = db_exec(db, "PRAGMA journal_mode = OFF", e);
  if (rc == 0)
    rc = db_exec(db, "PRAGMA synchronous = OFF", e);
  if (rc == 0)
    rc = replay_in_tx(db, r, false, e);
out:
  sqlite3_close(db);
  sqlite3_close(live);
  replay_unlink_scratch(scratch_path);
  return rc;
}
