/*
 * stmt.c: transactions and statements of the SQLite backend: the entries
 * of struct evlog_ops that open.c does not own, and the one mapping of
 * SQLite's result codes to UV_E* codes.
 *
 * Every parameter is bound SQLITE_STATIC (the caller keeps it alive until
 * the statement steps to its end or resets, as evlog.h says), and every
 * statement is prepared SQLITE_PREPARE_PERSISTENT: evlog.c caches them for
 * the life of the connection.
 */
#include "store/evlog/sqlite/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

int sq_code_slow(int rc) {
  switch (rc & 0xff) {
  case SQLITE_OK:
  case SQLITE_DONE:
    return 0;
  case SQLITE_ROW:
    return EVLOG_ROW;
  case SQLITE_NOMEM:
    return UV_ENOMEM;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return UV_EBUSY;
  case SQLITE_READONLY:
  case SQLITE_PERM:
  case SQLITE_AUTH:
    return UV_EACCES;
  case SQLITE_FULL:
    return UV_ENOSPC;
  case SQLITE_CANTOPEN:
    return UV_ENOENT;
  case SQLITE_CONSTRAINT:
    return UV_EEXIST;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return EVLOG_ECORRUPT;
  default:
    return UV_EIO;
  }
}

int sq_err(sqlite3 *h, int rc, const char *what, struct errbuf *e) {
  int code = sq_code(rc);

  if (code < 0)
    err_set(e, code, "database: %s failed: %s", what,
            h != NULL ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
  return code < 0 ? code : 0;
}

int sq_exec(sqlite3 *h, const char *sql, struct errbuf *e) {
  return sq_err(h, sqlite3_exec(h, sql, NULL, NULL, NULL), sql, e);
}

/* --- transactions --- */

static int sq_begin(struct evlog_db *db, bool write, struct errbuf *e) {
  return sq_exec(sq_db(db)->h, write ? "BEGIN IMMEDIATE" : "BEGIN", e);
}

static int sq_commit(struct evlog_db *db, struct errbuf *e) {
  return sq_exec(sq_db(db)->h, "COMMIT", e);
}

static void sq_rollback(struct evlog_db *db) {
  sqlite3 *h = sq_db(db)->h;

  if (!sqlite3_get_autocommit(h))
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
}

static bool sq_in_tx(struct evlog_db *db) {
  return !sqlite3_get_autocommit(sq_db(db)->h);
}

static int sq_exec_op(struct evlog_db *db, const char *sql,
                      struct errbuf *e) {
  return sq_exec(sq_db(db)->h, sql, e);
}

/* Reference checks are off during a rebuild (EVLOG_REBUILD): one bulk
 * check before its commit instead of one per inserted row. */
static int sq_check(struct evlog_db *db, struct errbuf *e) {
  sqlite3 *h = sq_db(db)->h;
  sqlite3_stmt *st = NULL;
  int rc;

  rc = sqlite3_prepare_v2(h, "PRAGMA foreign_key_check", -1, &st, NULL);
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
  return sq_err(h, rc, "checking references between views", e);
}

/* The database's own check of its pages and b-trees (not of the rows'
 * meaning), cheaper than integrity_check: it skips the index contents. */
static int sq_quick_check(struct evlog_db *db, struct errbuf *e) {
  sqlite3 *h = sq_db(db)->h;
  sqlite3_stmt *st = NULL;
  const char *msg;
  int rc;

  rc = sqlite3_prepare_v2(h, "PRAGMA quick_check(1)", -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    msg = (const char *)sqlite3_column_text(st, 0);
    if (msg == NULL || strcmp(msg, "ok") != 0) {
      err_set(e, EVLOG_ECORRUPT, "database: quick_check found damage: %s",
              msg != NULL ? msg : "?");
      for (char *p = e != NULL ? e->msg : NULL; p != NULL && *p; p++)
        *p = *p == '\n' ? ' ' : *p; /* one line */
      sqlite3_finalize(st);
      return EVLOG_ECORRUPT;
    }
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  return sq_err(h, rc, "quick_check", e);
}

/* --- statements --- */

static int sq_prepare(struct evlog_db *db, const char *sql,
                      struct evlog_stmt **out, struct errbuf *e) {
  struct sq_stmt *st = calloc(1, sizeof *st);
  sqlite3 *h = sq_db(db)->h;
  int rc;

  *out = NULL;
  if (st == NULL)
    return err_set(e, UV_ENOMEM, "out of memory preparing a statement");
  rc = sqlite3_prepare_v3(h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->h,
                          NULL);
  if (rc != SQLITE_OK) {
    free(st);
    return sq_err(h, rc, "preparing a statement", e);
  }
  st->base.db = db;
  *out = &st->base;
  return 0;
}

static void sq_finalize(struct evlog_stmt *st) {
  struct sq_stmt *s = sq_stmt(st);

  sqlite3_finalize(s->h);
  free(s);
}

static int sq_bind_int(struct evlog_stmt *st, int i, int64_t v) {
  return sq_code(sqlite3_bind_int64(sq_stmt(st)->h, i, v));
}

static int sq_bind_text(struct evlog_stmt *st, int i, const char *s,
                        size_t n) {
  if (n > INT32_MAX)
    return UV_E2BIG;
  return sq_code(
      sqlite3_bind_text(sq_stmt(st)->h, i, s, (int)n, SQLITE_STATIC));
}

static int sq_bind_blob(struct evlog_stmt *st, int i, const void *p,
                        size_t n) {
  if (n > INT32_MAX)
    return UV_E2BIG;
  /* a zero-length blob is a blob, not NULL: SQLite needs a non-NULL
   * pointer for that */
  return sq_code(sqlite3_bind_blob(sq_stmt(st)->h, i, p != NULL ? p : "",
                                   (int)n, SQLITE_STATIC));
}

static int sq_bind_null(struct evlog_stmt *st, int i) {
  return sq_code(sqlite3_bind_null(sq_stmt(st)->h, i));
}

static int sq_step(struct evlog_stmt *st) {
  return sq_code(sqlite3_step(sq_stmt(st)->h));
}

static void sq_reset(struct evlog_stmt *st) {
  sqlite3_stmt *h = sq_stmt(st)->h;

  sqlite3_reset(h);
  sqlite3_clear_bindings(h);
}

static void sq_rewind(struct evlog_stmt *st) {
  sqlite3_reset(sq_stmt(st)->h);
}

static int sq_col_count(struct evlog_stmt *st) {
  return sqlite3_column_count(sq_stmt(st)->h);
}

static enum evlog_type sq_type(int t) {
  switch (t) {
  case SQLITE_INTEGER:
    return EVLOG_INTEGER;
  case SQLITE_FLOAT:
    return EVLOG_REAL;
  case SQLITE_TEXT:
    return EVLOG_TEXT;
  case SQLITE_BLOB:
    return EVLOG_BLOB;
  default:
    return EVLOG_NULL;
  }
}

static enum evlog_type sq_col_type(struct evlog_stmt *st, int i) {
  return sq_type(sqlite3_column_type(sq_stmt(st)->h, i));
}

static int64_t sq_col_int(struct evlog_stmt *st, int i) {
  return sqlite3_column_int64(sq_stmt(st)->h, i);
}

static const char *sq_col_text(struct evlog_stmt *st, int i, size_t *n) {
  sqlite3_stmt *h = sq_stmt(st)->h;
  const char *s = (const char *)sqlite3_column_text(h, i);

  if (n != NULL)
    *n = s != NULL ? (size_t)sqlite3_column_bytes(h, i) : 0;
  return s;
}

static const void *sq_col_blob(struct evlog_stmt *st, int i, size_t *n) {
  sqlite3_stmt *h = sq_stmt(st)->h;
  const void *p = sqlite3_column_blob(h, i);

  if (n != NULL)
    *n = (size_t)sqlite3_column_bytes(h, i);
  return p;
}

static int sq_row(struct evlog_stmt *st, struct evlog_value *out, int n) {
  sqlite3_stmt *h = sq_stmt(st)->h;

  if (n > sqlite3_column_count(h))
    return UV_EINVAL;
  for (int i = 0; i < n; i++) {
    struct evlog_value *v = &out[i];
    switch ((v->type = sq_type(sqlite3_column_type(h, i)))) {
    case EVLOG_INTEGER:
      v->i = sqlite3_column_int64(h, i);
      break;
    case EVLOG_REAL:
      v->d = sqlite3_column_double(h, i);
      break;
    case EVLOG_TEXT:
      v->p = sqlite3_column_text(h, i);
      v->n = (size_t)sqlite3_column_bytes(h, i);
      break;
    case EVLOG_BLOB:
      v->p = sqlite3_column_blob(h, i);
      v->n = (size_t)sqlite3_column_bytes(h, i);
      break;
    case EVLOG_NULL:
      break;
    }
  }
  return 0;
}

static int64_t sq_changes(struct evlog_db *db) {
  return sqlite3_changes(sq_db(db)->h);
}

static const char *sq_errmsg(struct evlog_db *db) {
  return sqlite3_errmsg(sq_db(db)->h);
}

const struct evlog_ops sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .copy = sq_copy,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .in_tx = sq_in_tx,
    .exec = sq_exec_op,
    .check = sq_check,
    .quick_check = sq_quick_check,
    .prepare = sq_prepare,
    .finalize = sq_finalize,
    .bind_int = sq_bind_int,
    .bind_text = sq_bind_text,
    .bind_blob = sq_bind_blob,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .reset = sq_reset,
    .rewind = sq_rewind,
    .col_count = sq_col_count,
    .col_type = sq_col_type,
    .col_int = sq_col_int,
    .col_text = sq_col_text,
    .col_blob = sq_col_blob,
    .row = sq_row,
    .changes = sq_changes,
    .errmsg = sq_errmsg,
};
