/*
 * evlog.h: the event-log engine's database: connections, transactions and
 * statements, whatever database holds the log.
 *
 * The log and the views derived from it live in one database, so that an
 * event and its view changes commit together.  Everything above the engine
 * (the registry's operations, views and reads; replay; verify) reaches that
 * database through this interface only: no other room includes a
 * database's own header.  A backend (today SQLite, in sqlite/) fills in the
 * function table of evlog_impl.h; evlog_open picks the backend from the
 * location it is given.
 *
 * SQL text is written once for every backend: `?N` parameters (N from 1),
 * standard statements.  Statements are cached per connection by the
 * address of their text, so SQL must be a string with static storage (a
 * literal or a static array).  Whoever takes a statement with evlog_stmt
 * hands it back reset and unbound (evlog_reset, or evlog_run) before the
 * next one takes it; evlog_stmt only rewinds it again, cheaply.  Text and blob parameters are not copied: they must
 * stay valid until the statement is stepped to its end or reset.
 *
 * A connection is used by one thread at a time.  Errors are 0 or a negative
 * UV_E* code; where a message helps the user, it is filled into an errbuf
 * as "database: <what> failed: <the database's message>".
 */
#ifndef AS_EVLOG_H
#define AS_EVLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/common.h"

struct evlog_db;   /* one connection */
struct evlog_stmt; /* a prepared statement of one connection */

enum evlog_mode {
  EVLOG_RW,      /* the writer: creates, migrates, commits durably */
  EVLOG_RO,      /* readers, --verify-log: an existing, current database */
  EVLOG_REBUILD, /* --replay: read-write, reference checks deferred to
                  * evlog_check, caches sized for rewriting every view */
};

/* evlog_step: a row is ready (0: the statement has run to its end). */
#define EVLOG_ROW 1

/* The database file is damaged (SQLite's SQLITE_CORRUPT / SQLITE_NOTADB).
 * Distinct from the other codes so the daemon can stop writing and say
 * what to run.  A code libuv knows ("inappropriate file type or format"):
 * uv_strerror and uv_err_name allocate, and never free, a string for a
 * code they do not know, such as -EUCLEAN. */
#define EVLOG_ECORRUPT UV_EFTYPE

enum evlog_type {
  EVLOG_NULL,
  EVLOG_INTEGER,
  EVLOG_REAL,
  EVLOG_TEXT,
  EVLOG_BLOB,
};

/* One column of a row, as evlog_row reads it: for TEXT and BLOB, p and n
 * (valid until the statement steps or resets); for INTEGER, i; for REAL,
 * d. */
struct evlog_value {
  enum evlog_type type;
  int64_t i;
  double d;
  const void *p;
  size_t n;
};

/* --- connections --- */

/* Opens the database at location (today: a SQLite file path). */
int evlog_open(const char *location, enum evlog_mode mode,
               struct evlog_db **out, struct errbuf *e);
/* A scratch copy of src at location, opened for a rebuild without
 * durability; closing it deletes it. */
int evlog_copy(struct evlog_db *src, const char *location,
               struct evlog_db **out, struct errbuf *e);
void evlog_close(struct evlog_db *db);

/* --- transactions --- */

/* write: takes the write lock at once (no upgrade later). */
int evlog_begin(struct evlog_db *db, bool write, struct errbuf *e);
int evlog_commit(struct evlog_db *db, struct errbuf *e);
void evlog_rollback(struct evlog_db *db);
/* False when no transaction is open, including when the database rolled
 * one back on its own (I/O error, full disk, out of memory). */
bool evlog_in_tx(struct evlog_db *db);
/* Runs SQL text (one or more statements, no results, not cached). */
int evlog_exec(struct evlog_db *db, const char *sql, struct errbuf *e);
/* 0 when every reference between rows holds (foreign keys); UV_EPROTO
 * naming the first table that breaks one. */
int evlog_check(struct evlog_db *db, struct errbuf *e);
/* The database's own quick check of its file (pages, b-trees; not what
 * the rows mean): 0, or EVLOG_ECORRUPT saying what it found damaged. */
int evlog_quick_check(struct evlog_db *db, struct errbuf *e);

/* --- statements --- */

/* The cached statement for sql (static storage, see above), rewound. */
int evlog_stmt(struct evlog_db *db, const char *sql, struct evlog_stmt **out,
               struct errbuf *e);
/* A statement of its own (not cached: sql may be built at run time), to
 * release with evlog_finalize. */
int evlog_prepare(struct evlog_db *db, const char *sql,
                  struct evlog_stmt **out, struct errbuf *e);
void evlog_finalize(struct evlog_stmt *st);
int evlog_bind_int(struct evlog_stmt *st, int i, int64_t v);
int evlog_bind_text(struct evlog_stmt *st, int i, const char *s, size_t n);
/* NUL-terminated s, or NULL for SQL NULL. */
int evlog_bind_str(struct evlog_stmt *st, int i, const char *s);
int evlog_bind_blob(struct evlog_stmt *st, int i, const void *p, size_t n);
int evlog_bind_null(struct evlog_stmt *st, int i);
/* EVLOG_ROW, 0 when done, or an error (evlog_fail tells what). */
int evlog_step(struct evlog_stmt *st);
/* Back to the start with no bindings: call when done with a statement
 * that was not stepped to its end. */
void evlog_reset(struct evlog_stmt *st);
int evlog_col_count(struct evlog_stmt *st);
enum evlog_type evlog_col_type(struct evlog_stmt *st, int i);
int64_t evlog_col_int(struct evlog_stmt *st, int i);
/* NULL for SQL NULL; *n (may be NULL) gets the byte length.  Valid until
 * the statement steps or resets. */
const char *evlog_col_text(struct evlog_stmt *st, int i, size_t *n);
const void *evlog_col_blob(struct evlog_stmt *st, int i, size_t *n);
/* Copies a BLOB column of exactly n bytes (ids, digests) into out: 0, or
 * UV_EPROTO (out untouched) when it is another type or length. */
int evlog_col_copy(struct evlog_stmt *st, int i, void *out, size_t n);
/* The first n columns of the current row at once (scans of every row:
 * replay, verify, the view digest).  0, or UV_EINVAL when the row has
 * fewer than n columns. */
int evlog_row(struct evlog_stmt *st, struct evlog_value *out, int n);
/* Rows changed by the last INSERT, UPDATE or DELETE. */
int64_t evlog_changes(struct evlog_db *db);

/* The database's message about the last failure on db. */
const char *evlog_errmsg(struct evlog_db *db);
/* Fills e with "database: <what> failed: <the database's message>" and
 * returns rc (0 stays 0 and leaves e alone). */
int evlog_fail(struct evlog_db *db, int rc, const char *what,
               struct errbuf *e);

/* Steps a statement that returns no rows and resets it: 0 or the error,
 * with "<what>" in e. */
int evlog_run(struct evlog_stmt *st, const char *what, struct errbuf *e);

#endif
