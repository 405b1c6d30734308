/*
 * sqlite_int.h: what the two halves of the SQLite backend share.  open.c
 * owns connections (open, pragmas, migrations, scratch copies, close);
 * stmt.c owns transactions and statements (the struct evlog_ops entries).
 * SQLite's result codes are mapped to UV_E* here and nowhere else.
 */
#ifndef AS_SQLITE_INT_H
#define AS_SQLITE_INT_H

#include <sqlite3.h>

#include "store/evlog/evlog_impl.h"

#define SQ_BUSY_TIMEOUT_MS 5000
#define SQ_CACHE_KIB "32768"            /* page cache of the writer */
#define SQ_SUBJOURNAL_SPILL (128 * 1024) /* bytes of savepoint journal kept
                                          * in memory (see open.c) */
/* A rebuild rewrites every view page: the views of a 1,000,000-event log
 * take about 300 MiB; pages are allocated as used, so a small log costs
 * little.  The log (the largest table) is read through a mapping instead
 * of one pread copy per page. */
#define SQ_REBUILD_CACHE_KIB "1048576"
#define SQ_REBUILD_MMAP_BYTES "4294967296"

struct sq_db {
  struct evlog_db base;
  sqlite3 *h;
  char *scratch; /* a scratch copy: its path, deleted on close */
  bool writer;   /* EVLOG_RW: checkpoints the WAL into the file on close */
};

struct sq_stmt {
  struct evlog_stmt base;
  sqlite3_stmt *h;
};

static inline struct sq_db *sq_db(struct evlog_db *db) {
  return container_of(db, struct sq_db, base);
}

static inline struct sq_stmt *sq_stmt(struct evlog_stmt *st) {
  return container_of(st, struct sq_stmt, base);
}

extern const struct evlog_ops sq_ops;

/* SQLITE_* -> 0 / EVLOG_ROW / UV_E*; the common answers inline, as every
 * bind and step asks. */
int sq_code_slow(int rc);
static inline int sq_code(int rc) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE)
    return 0;
  return rc == SQLITE_ROW ? EVLOG_ROW : sq_code_slow(rc);
}
/* sq_code(rc), with "database: <what> failed: <sqlite's message>" in e. */
int sq_err(sqlite3 *h, int rc, const char *what, struct errbuf *e);
/* Runs SQL text without results. */
int sq_exec(sqlite3 *h, const char *sql, struct errbuf *e);

/* open.c */
void sq_close(struct evlog_db *db);
int sq_copy(struct evlog_db *src, const char *path, struct evlog_db **out,
            struct errbuf *e);

#endif
