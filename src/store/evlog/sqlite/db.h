/*
 * db.h: opening the SQLite database and applying the embedded migrations.
 * SQLite codes stay inside src/store/; db_err maps them to UV_E* once.
 */
#ifndef AS_DB_H
#define AS_DB_H

#include <stddef.h>
#include <sqlite3.h>

#include "util/common.h"

#define DB_FILE "artifactstore.db"   /* inside the data directory */
#define DB_BUSY_TIMEOUT_MS 5000
#define DB_CACHE_KIB "32768"        /* page cache of the writer */
#define DB_SUBJOURNAL_SPILL (256 * 1024) /* bytes of savepoint journal kept
                                          * in memory (see db.c) */

struct schema_migration {
  int version;                       /* 1, 2, ... = PRAGMA user_version */
  const char *name;                  /* file name in schema/ */
  const char *sql;
};

/* Generated from the schema/ migrations by tools/embed_sql.py. */
extern const struct schema_migration schema_migrations[];
extern const size_t schema_migration_count;

/* Opens (creating) the read-write connection: WAL, synchronous=FULL,
 * foreign_keys=ON, busy_timeout; applies pending migrations in one
 * transaction.  A database newer than this binary is refused (UV_EPROTO). */
int db_open_rw(const char *path, sqlite3 **out, struct errbuf *e);
/* Read-only connection on an existing, current database. */
int db_open_ro(const char *path, sqlite3 **out, struct errbuf *e);
/* The highest migration version this binary knows. */
int db_schema_version(void);

/* SQLITE_* -> 0 / UV_E*; when e is not NULL and rc is an error, records
 * what failed (what) and sqlite's message. */
int db_err(sqlite3 *db, int rc, const char *what, struct errbuf *e);
/* Runs SQL text without results (BEGIN, COMMIT, PRAGMA ...). */
int db_exec(sqlite3 *db, const char *sql, struct errbuf *e);

#endif
