/*
 * open.c: connections of the SQLite backend.
 *
 * One database file holds the log and the views.  The writer's connection
 * (EVLOG_RW) runs in WAL mode with synchronous=FULL, so a commit is durable
 * when COMMIT returns; foreign keys are on.  The schema lives in
 * schema/NNNN_*.sql, embedded at build time (schema.h); PRAGMA user_version
 * records the last migration applied, and all pending migrations run in
 * one IMMEDIATE transaction, so a crash leaves the database either before
 * or after them.  Readers (EVLOG_RO) open an existing, current database
 * read-only.  A rebuild (EVLOG_REBUILD, --replay) turns foreign keys off,
 * so emptying a view is SQLite's truncate (whole b-trees freed) instead of
 * a row-by-row delete that checks every child, and inserts skip their
 * parent look-ups; evlog_check proves the result consistent in bulk
 * before the rebuild commits.  Its page cache is sized for a rebuild and
 * the log is read through a memory mapping.  A scratch copy (evlog_copy,
 * --replay --check) is made with the backup API and runs without journal
 * or fsync: it is deleted whatever happens.
 */
#include "store/evlog/sqlite/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/evlog/sqlite/schema.h"
#include "store/evlog/sqlite/sqlite.h"

static int sq_schema_version(void) {
  return schema_migrations[schema_migration_count - 1].version;
}

static int sq_user_version(sqlite3 *h, int *out, struct errbuf *e) {
  sqlite3_stmt *st = NULL;
  int rc;

  *out = 0; /* SQLITE_DONE (no row) maps to success: read it as 0 */
  rc = sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int(st, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  return sq_err(h, rc, "reading the schema version", e);
}

static int sq_check_version(const char *path, int have, struct errbuf *e) {
  if (have > sq_schema_version())
    return err_set(e, UV_EPROTO,
                   "database %s has schema version %d but this artifactstored "
                   "knows only up to %d: run a newer artifactstored (or restore "
                   "a backup made by this version)",
                   path, have, sq_schema_version());
  return 0;
}

static int sq_migrate(sqlite3 *h, const char *path, struct errbuf *e) {
  char sql[64];
  int have, rc;

  if ((rc = sq_exec(h, "BEGIN IMMEDIATE", e)) != 0)
    return rc;
  /* Read inside the transaction: another process may have migrated. */
  if ((rc = sq_user_version(h, &have, e)) != 0)
    goto fail;
  if ((rc = sq_check_version(path, have, e)) != 0)
    goto fail;
  for (size_t i = 0; i < schema_migration_count; i++) {
    const struct schema_migration *m = &schema_migrations[i];
    if (m->version <= have)
      continue;
    rc = sqlite3_exec(h, m->sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
      rc = sq_err(h, rc, m->name, e);
      goto fail;
    }
  }
  snprintf(sql, sizeof sql, "PRAGMA user_version = %d", sq_schema_version());
  if ((rc = sq_exec(h, sql, e)) != 0)
    goto fail;
  return sq_exec(h, "COMMIT", e);
fail:
  sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

/* Process-wide, before SQLite initialises (the first open).  The writer's
 * per-request SAVEPOINT copies each page it touches into the sub-journal;
 * with temp_store=MEMORY SQLite keeps that journal in 1 KiB chunks, about
 * 40 malloc/free pairs per request.  With temp_store=FILE and this spill
 * size it is one in-memory chunk, written to a temp file only past
 * SQ_SUBJOURNAL_SPILL bytes (no single request comes near it; a sweep
 * expiring thousands of packages does).  Keep it at 128 KiB or below:
 * SQLite 3.40.1 (Debian 12) fails the spill of a sub-journal whose chunk
 * is larger (somewhere between 131,073 and 135,000 bytes) with
 * SQLITE_FULL, though no system call fails; test_lifecycle's
 * big_jobs_spill runs jobs well past the spill.  SQLITE_MISUSE
 * (SQLite already initialised by someone else) only keeps the default. */
static void sq_configure_once(void) {
  sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, SQ_SUBJOURNAL_SPILL);
}

static int sq_handle(const char *path, int flags, sqlite3 **out,
                     struct errbuf *e) {
  static uv_once_t once = UV_ONCE_INIT;
  sqlite3 *h = NULL;
  int rc;

  uv_once(&once, sq_configure_once);
  *out = NULL;
  rc = sqlite3_open_v2(path, &h, flags | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    err_set(e, UV_EIO, "cannot open database %s: %s", path,
            h != NULL ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
    rc = sq_code(rc);
    sqlite3_close(h);
    return rc < 0 ? rc : UV_EIO;
  }
  sqlite3_extended_result_codes(h, 1);
  sqlite3_busy_timeout(h, SQ_BUSY_TIMEOUT_MS);
  *out = h;
  return 0;
}

static int sq_setup_rw(sqlite3 *h, const char *path, struct errbuf *e) {
  int rc = sq_exec(h, "PRAGMA journal_mode = WAL", e);

  if (rc == 0)
    rc = sq_exec(h, "PRAGMA synchronous = FULL", e);
  if (rc == 0)
    rc = sq_exec(h, "PRAGMA foreign_keys = ON", e);
  /* Savepoint sub-journals stay in memory up to SQ_SUBJOURNAL_SPILL bytes
   * (sq_configure_once): a per-request SAVEPOINT costs no temp-file
   * write, and one allocation rather than one per KiB journaled. */
  if (rc == 0)
    rc = sq_exec(h, "PRAGMA temp_store = FILE", e);
  if (rc == 0)
    rc = sq_exec(h, "PRAGMA cache_size = -" SQ_CACHE_KIB, e);
  if (rc == 0)
    rc = sq_migrate(h, path, e);
  return rc;
}

static int sq_setup_ro(sqlite3 *h, const char *path, struct errbuf *e) {
  int have, rc = sq_user_version(h, &have, e);

  if (rc == 0)
    rc = sq_check_version(path, have, e);
  if (rc == 0 && have < sq_schema_version())
    rc = err_set(e, UV_EPROTO,
                 "database %s has schema version %d, older than %d: open it "
                 "read-write once (start artifactstored) to migrate it",
                 path, have, sq_schema_version());
  return rc;
}

/* Outside any transaction (the foreign_keys pragma is a no-op inside). */
static int sq_setup_rebuild(sqlite3 *h, struct errbuf *e) {
  int rc = sq_exec(h, "PRAGMA foreign_keys = OFF", e);

  if (rc == 0)
    rc = sq_exec(h, "PRAGMA cache_size = -" SQ_REBUILD_CACHE_KIB, e);
  if (rc == 0)
    rc = sq_exec(h, "PRAGMA mmap_size = " SQ_REBUILD_MMAP_BYTES, e);
  return rc;
}

static int sq_wrap(sqlite3 *h, struct evlog_db **out, struct errbuf *e) {
  struct sq_db *db = calloc(1, sizeof *db);

  if (db == NULL) {
    sqlite3_close(h);
    return err_set(e, UV_ENOMEM, "out of memory");
  }
  evlog_db_init(&db->base, &sq_ops);
  db->h = h;
  *out = &db->base;
  return 0;
}

int evlog_sqlite_open(const char *path, enum evlog_mode mode,
                      struct evlog_db **out, struct errbuf *e) {
  sqlite3 *h;
  int rc;

  *out = NULL;
  rc = sq_handle(path,
                 mode == EVLOG_RO ? SQLITE_OPEN_READONLY
                                  : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                 &h, e);
  if (rc != 0)
    return rc;
  rc = mode == EVLOG_RO ? sq_setup_ro(h, path, e) : sq_setup_rw(h, path, e);
  if (rc == 0 && mode == EVLOG_REBUILD)
    rc = sq_setup_rebuild(h, e);
  if (rc != 0) {
    sqlite3_close(h);
    return rc;
  }
  rc = sq_wrap(h, out, e);
  if (rc == 0)
    sq_db(*out)->writer = mode == EVLOG_RW;
  return rc;
}

static void sq_unlink_all(const char *path) {
  static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
  char p[4200];

  for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
    snprintf(p, sizeof p, "%s%s", path, sfx[i]);
    unlink(p);
  }
}

int sq_copy(struct evlog_db *src, const char *path, struct evlog_db **out,
            struct errbuf *e) {
  sqlite3 *h = NULL;
  sqlite3_backup *b;
  char *name;
  int rc;

  *out = NULL;
  name = strdup(path);
  if (name == NULL)
    return err_set(e, UV_ENOMEM, "out of memory");
  sq_unlink_all(path);
  rc = sq_handle(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &h, e);
  if (rc != 0)
    goto fail;
  b = sqlite3_backup_init(h, "main", sq_db(src)->h, "main");
  if (b == NULL) {
    rc = sq_err(h, sqlite3_errcode(h), "copying the database", e);
    goto fail;
  }
  rc = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    rc = sq_err(h, rc, "copying the database", e);
    goto fail;
  }
  /* Scratch: durability does not matter, speed does.  No rollback
   * journal either (a failed rebuild cannot roll back, but the scratch
   * file is deleted whatever happens).  Never on the live database. */
  rc = sq_exec(h, "PRAGMA journal_mode = OFF", e);
  if (rc == 0)
    rc = sq_exec(h, "PRAGMA synchronous = OFF", e);
  if (rc == 0)
    rc = sq_setup_rebuild(h, e);
  if (rc != 0)
    goto fail;
  if ((rc = sq_wrap(h, out, e)) != 0) {
    sq_unlink_all(name);
    free(name);
    return rc;
  }
  sq_db(*out)->scratch = name;
  return 0;
fail:
  sqlite3_close(h);
  sq_unlink_all(name);
  free(name);
  return rc;
}

void sq_close(struct evlog_db *db) {
  struct sq_db *s = sq_db(db);

  evlog_db_drop_cache(db);
  /* The daemon's readers close after the writer, and a read-only
   * connection cannot checkpoint: without this, a stopped daemon's
   * database file could hold little and its -wal everything.  Best
   * effort: a reader still inside a read leaves the rest to the next
   * start, which loses nothing. */
  if (s->writer)
    sqlite3_wal_checkpoint_v2(s->h, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
                              NULL);
  sqlite3_close(s->h);
  if (s->scratch != NULL) {
    sq_unlink_all(s->scratch);
    free(s->scratch);
  }
  free(s);
}
