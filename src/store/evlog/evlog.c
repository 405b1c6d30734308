/*
 * evlog.c: the entry points of evlog.h.  Picks the backend for a location,
 * keeps each connection's statement cache and dispatches through the
 * backend's struct evlog_ops (evlog_impl.h).  No database is touched here.
 */
#include "store/evlog/evlog_impl.h"

#include <assert.h>
#include <string.h>

#include "store/evlog/sqlite/sqlite.h"

int evlog_open(const char *location, enum evlog_mode mode,
               struct evlog_db **out, struct errbuf *e) {
  *out = NULL;
  if (location == NULL || location[0] == '\0')
    return err_set(e, UV_EINVAL, "no database location given");
  return evlog_sqlite_open(location, mode, out, e);
}

int evlog_copy(struct evlog_db *src, const char *location,
               struct evlog_db **out, struct errbuf *e) {
  *out = NULL;
  return src->ops->copy(src, location, out, e);
}

void evlog_db_init(struct evlog_db *db, const struct evlog_ops *ops) {
  memset(db, 0, sizeof *db);
  db->ops = ops;
}

void evlog_db_drop_cache(struct evlog_db *db) {
  for (unsigned i = 0; i < EVLOG_STMT_SLOTS; i++) {
    if (db->cache[i].sql != NULL)
      db->ops->finalize(db->cache[i].st);
    db->cache[i].sql = NULL;
  }
  db->ncache = 0;
}

void evlog_close(struct evlog_db *db) {
  if (db != NULL)
    db->ops->close(db);
}

int evlog_begin(struct evlog_db *db, bool write, struct errbuf *e) {
  return db->ops->begin(db, write, e);
}

int evlog_commit(struct evlog_db *db, struct errbuf *e) {
  return db->ops->commit(db, e);
}

void evlog_rollback(struct evlog_db *db) { db->ops->rollback(db); }
bool evlog_in_tx(struct evlog_db *db) { return db->ops->in_tx(db); }

int evlog_exec(struct evlog_db *db, const char *sql, struct errbuf *e) {
  return db->ops->exec(db, sql, e);
}

int evlog_check(struct evlog_db *db, struct errbuf *e) {
  return db->ops->check(db, e);
}

int evlog_quick_check(struct evlog_db *db, struct errbuf *e) {
  return db->ops->quick_check(db, e);
}

/* The slot of sql, or the free slot where it belongs. */
static unsigned evlog_slot(const struct evlog_db *db, const char *sql) {
  uint64_t h = (uint64_t)(uintptr_t)sql * UINT64_C(0x9e3779b97f4a7c15);
  unsigned i = (unsigned)(h >> 58); /* 6 bits: EVLOG_STMT_SLOTS */

  _Static_assert(EVLOG_STMT_SLOTS == 64, "the hash takes 6 bits");
  while (db->cache[i].sql != NULL && db->cache[i].sql != sql)
    i = (i + 1) % EVLOG_STMT_SLOTS;
  return i;
}

int evlog_stmt(struct evlog_db *db, const char *sql, struct evlog_stmt **out,
               struct errbuf *e) {
  unsigned i = evlog_slot(db, sql);
  int rc;

  if (db->cache[i].sql == sql) {
    /* users reset a statement when done with it (evlog_reset,
     * evlog_run); rewinding again is cheap insurance */
    db->ops->rewind(db->cache[i].st);
    *out = db->cache[i].st;
    return 0;
  }
  *out = NULL;
  if (db->ncache == EVLOG_STMT_CACHE)
    return err_set(e, UV_ENOMEM,
                   "database: more than %d distinct statements on one "
                   "connection (raise EVLOG_STMT_SLOTS)",
                   EVLOG_STMT_CACHE);
  if ((rc = db->ops->prepare(db, sql, out, e)) != 0)
    return rc;
  db->cache[i].sql = sql;
  db->cache[i].st = *out;
  db->ncache++;
  return 0;
}

int evlog_prepare(struct evlog_db *db, const char *sql,
                  struct evlog_stmt **out, struct errbuf *e) {
  *out = NULL;
  return db->ops->prepare(db, sql, out, e);
}

void evlog_finalize(struct evlog_stmt *st) {
  if (st != NULL)
    st->db->ops->finalize(st);
}

int evlog_bind_int(struct evlog_stmt *st, int i, int64_t v) {
  return st->db->ops->bind_int(st, i, v);
}

int evlog_bind_text(struct evlog_stmt *st, int i, const char *s, size_t n) {
  return st->db->ops->bind_text(st, i, s, n);
}

int evlog_bind_str(struct evlog_stmt *st, int i, const char *s) {
  if (s == NULL)
    return st->db->ops->bind_null(st, i);
  return st->db->ops->bind_text(st, i, s, strlen(s));
}

int evlog_bind_blob(struct evlog_stmt *st, int i, const void *p, size_t n) {
  return st->db->ops->bind_blob(st, i, p, n);
}

int evlog_bind_null(struct evlog_stmt *st, int i) {
  return st->db->ops->bind_null(st, i);
}

int evlog_step(struct evlog_stmt *st) { return st->db->ops->step(st); }
void evlog_reset(struct evlog_stmt *st) { st->db->ops->reset(st); }
int evlog_col_count(struct evlog_stmt *st) { return st->db->ops->col_count(st); }

enum evlog_type evlog_col_type(struct evlog_stmt *st, int i) {
  return st->db->ops->col_type(st, i);
}

int64_t evlog_col_int(struct evlog_stmt *st, int i) {
  return st->db->ops->col_int(st, i);
}

const char *evlog_col_text(struct evlog_stmt *st, int i, size_t *n) {
  return st->db->ops->col_text(st, i, n);
}

const void *evlog_col_blob(struct evlog_stmt *st, int i, size_t *n) {
  return st->db->ops->col_blob(st, i, n);
}

int evlog_col_copy(struct evlog_stmt *st, int i, void *out, size_t n) {
  const void *p;
  size_t have;

  if (evlog_col_type(st, i) != EVLOG_BLOB)
    return UV_EPROTO;
  p = evlog_col_blob(st, i, &have);
  if (have != n)
    return UV_EPROTO;
  memcpy(out, p, n);
  return 0;
}

int evlog_row(struct evlog_stmt *st, struct evlog_value *out, int n) {
  return st->db->ops->row(st, out, n);
}

int64_t evlog_changes(struct evlog_db *db) { return db->ops->changes(db); }

const char *evlog_errmsg(struct evlog_db *db) { return db->ops->errmsg(db); }

int evlog_fail(struct evlog_db *db, int rc, const char *what,
               struct errbuf *e) {
  if (rc == 0)
    return 0;
  return err_set(e, rc, "database: %s failed: %s", what,
                 db != NULL ? db->ops->errmsg(db) : uv_strerror(rc));
}

int evlog_run(struct evlog_stmt *st, const char *what, struct errbuf *e) {
  int rc = evlog_step(st);

  evlog_reset(st);
  if (rc == EVLOG_ROW)
    return 0; /* a statement with results run for its effect */
  return evlog_fail(st->db, rc, what, e);
}
