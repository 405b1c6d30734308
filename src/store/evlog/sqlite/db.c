/*
 * db.c: connection set-up shared by the writer, the readers and the
 * operator commands.  The schema lives in schema/NNNN_*.sql, embedded at
 * build time; PRAGMA user_version records the last migration applied.  All
 * pending migrations run in one IMMEDIATE transaction, so a crash leaves the
 * database either before or after them.
 */
#include "store/evlog/sqlite/db.h"

#include <stdio.h>

int db_err(sqlite3 *db, int rc, const char *what, struct errbuf *e) {
  int code;

  switch (rc & 0xff) {
  case SQLITE_OK:
  case SQLITE_DONE:
  case SQLITE_ROW:
    return 0;
  case SQLITE_NOMEM:
    code = UV_ENOMEM;
    break;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    code = UV_EBUSY;
    break;
  case SQLITE_READONLY:
  case SQLITE_PERM:
  case SQLITE_AUTH:
    code = UV_EACCES;
    break;
  case SQLITE_FULL:
    code = UV_ENOSPC;
    break;
  case SQLITE_CANTOPEN:
    code = UV_ENOENT;
    break;
  case SQLITE_CONSTRAINT:
    code = UV_EEXIST;
    break;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    code = UV_EPROTO;
    break;
  default:
    code = UV_EIO;
    break;
  }
  if (e != NULL)
    err_set(e, code, "database: %s failed: %s", what,
            db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  return code;
}

int db_exec(sqlite3 *db, const char *sql, struct errbuf *e) {
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  return db_err(db, rc, sql, e);
}

int db_schema_version(void) {
  return schema_migrations[schema_migration_count - 1].version;
}

static int db_user_version(sqlite3 *db, int *out, struct errbuf *e) {
  sqlite3_stmt *st = NULL;
  int rc;

  *out = 0; /* SQLITE_DONE (no row) maps to success: read it as 0 */
  rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int(st, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  return db_err(db, rc, "reading the schema version", e);
}

static int db_check_version(const char *path, int have,
                            struct errbuf *e) {
  if (have > db_schema_version())
    return err_set(e, UV_EPROTO,
                   "database %s has schema version %d but this artifactstored "
                   "knows only up to %d: run a newer artifactstored (or restore "
                   "a backup made by this version)",
                   path, have, db_schema_version());
  return 0;
}

static int db_migrate(sqlite3 *db, const char *path, struct errbuf *e) {
  char sql[64];
  int have, rc;

  if ((rc = db_exec(db, "BEGIN IMMEDIATE", e)) != 0)
    return rc;
  /* Read inside the transaction: another process may have migrated. */
  if ((rc = db_user_version(db, &have, e)) != 0)
    goto fail;
  if ((rc = db_check_version(path, have, e)) != 0)
    goto fail;
  for (size_t i = 0; i < schema_migration_count; i++) {
    const struct schema_migration *m = &schema_migrations[i];
    if (m->version <= have)
      continue;
    rc = sqlite3_exec(db, m->sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
      rc = db_err(db, rc, m->name, e);
      goto fail;
    }
  }
  snprintf(sql, sizeof sql, "PRAGMA user_version = %d", db_schema_version());
  if ((rc = db_exec(db, sql, e)) != 0)
    goto fail;
  return db_exec(db, "COMMIT", e);
fail:
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

/* Process-wide, before SQLite initialises (the first open).  The writer's
 * per-request SAVEPOINT copies each page it touches into the sub-journal;
 * with temp_store=MEMORY SQLite keeps that journal in 1 KiB chunks, about
 * 40 malloc/free pairs per request.  With temp_store=FILE and this spill
 * size it is one in-memory chunk, written to a temp file only past
 * DB_SUBJOURNAL_SPILL bytes (no request comes near it).  SQLITE_MISUSE
 * (SQLite already initialised by someone else) only keeps the default. */
static void db_configure_once(void) {
  sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, DB_SUBJOURNAL_SPILL);
}

static int db_open(const char *path, int flags, sqlite3 **out,
                   struct errbuf *e) {
  static uv_once_t once = UV_ONCE_INIT;
  sqlite3 *db = NULL;
  int rc;

  uv_once(&once, db_configure_once);
  *out = NULL;
  rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    err_set(e, UV_EIO, "cannot open database %s: %s", path,
            db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    rc = db_err(NULL, rc, "open", NULL);
    sqlite3_close(db);
    return rc;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, DB_BUSY_TIMEOUT_MS);
  *out = db;
  return 0;
}

int db_open_rw(const char *path, sqlite3 **out, struct errbuf *e) {
  sqlite3 *db;
  int rc;

  rc = db_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &db, e);
  if (rc != 0)
    return rc;
  rc = db_exec(db, "PRAGMA journal_mode = WAL", e);
  if (rc == 0)
    rc = db_exec(db, "PRAGMA synchronous = FULL", e);
  if (rc == 0)
    rc = db_exec(db, "PRAGMA foreign_keys = ON", e);
  /* Savepoint sub-journals stay in memory up to DB_SUBJOURNAL_SPILL bytes
   * (db_configure_once): a per-request SAVEPOINT costs no temp-file
   * write, and one allocation rather than one per KiB journaled. */
  if (rc == 0)
    rc = db_exec(db, "PRAGMA temp_store = FILE", e);
  if (rc == 0)
    rc = db_exec(db, "PRAGMA cache_size = -" DB_CACHE_KIB, e);
  if (rc == 0)
    rc = db_migrate(db, path, e);
  if (rc != 0) {
    sqlite3_close(db);
    return rc;
  }
  *out = db;
  return 0;
}

int db_open_ro(const char *path, sqlite3 **out, struct errbuf *e) {
  sqlite3 *db;
  int rc, have;

  rc = db_open(path, SQLITE_OPEN_READONLY, &db, e);
  if (rc != 0)
    return rc;
  rc = db_user_version(db, &have, e);
  if (rc == 0)
    rc = db_check_version(path, have, e);
  if (rc == 0 && have < db_schema_version())
    rc = err_set(e, UV_EPROTO,
                 "database %s has schema version %d, older than %d: open it "
                 "read-write once (start artifactstored) to migrate it",
                 path, have, db_schema_version());
  if (rc != 0) {
    sqlite3_close(db);
    return rc;
  }
  *out = db;
  return 0;
}
