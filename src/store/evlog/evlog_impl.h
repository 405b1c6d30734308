/*
 * evlog_impl.h: what a database backend of the event log fills in
 * (private to src/store/evlog and its backend sub-folders).
 *
 * evlog.c owns the public entry points of evlog.h: it checks arguments,
 * keeps each connection's statement cache and dispatches through the
 * backend's struct evlog_ops.  A backend embeds struct evlog_db and struct
 * evlog_stmt as the first member of its own structs and keeps everything
 * else private, as the blob store's backends do (blob/blob_impl.h).  It
 * maps its own result codes to 0 / EVLOG_ROW / negative UV_E* codes once,
 * and keeps the last error message of a connection for evlog_fail.
 */
#ifndef AS_EVLOG_IMPL_H
#define AS_EVLOG_IMPL_H

#include "store/evlog/evlog.h"

/* Statements kept per connection: an open-addressing table keyed by the
 * address of the SQL text, filled to at most three quarters. */
#define EVLOG_STMT_SLOTS 64
#define EVLOG_STMT_CACHE (EVLOG_STMT_SLOTS * 3 / 4)

struct evlog_ops {
  const char *name;
  void (*close)(struct evlog_db *db);
  int (*copy)(struct evlog_db *src, const char *location,
              struct evlog_db **out, struct errbuf *e);
  int (*begin)(struct evlog_db *db, bool write, struct errbuf *e);
  int (*commit)(struct evlog_db *db, struct errbuf *e);
  void (*rollback)(struct evlog_db *db);
  bool (*in_tx)(struct evlog_db *db);
  int (*exec)(struct evlog_db *db, const char *sql, struct errbuf *e);
  int (*check)(struct evlog_db *db, struct errbuf *e);
  int (*quick_check)(struct evlog_db *db, struct errbuf *e);
  /* A statement kept for the life of the connection. */
  int (*prepare)(struct evlog_db *db, const char *sql,
                 struct evlog_stmt **out, struct errbuf *e);
  void (*finalize)(struct evlog_stmt *st);
  int (*bind_int)(struct evlog_stmt *st, int i, int64_t v);
  int (*bind_text)(struct evlog_stmt *st, int i, const char *s, size_t n);
  int (*bind_blob)(struct evlog_stmt *st, int i, const void *p, size_t n);
  int (*bind_null)(struct evlog_stmt *st, int i);
  int (*step)(struct evlog_stmt *st);
  void (*reset)(struct evlog_stmt *st); /* and clear the bindings */
  /* Back to the start, bindings kept (cheap when already there). */
  void (*rewind)(struct evlog_stmt *st);
  int (*col_count)(struct evlog_stmt *st);
  enum evlog_type (*col_type)(struct evlog_stmt *st, int i);
  int64_t (*col_int)(struct evlog_stmt *st, int i);
  const char *(*col_text)(struct evlog_stmt *st, int i, size_t *n);
  const void *(*col_blob)(struct evlog_stmt *st, int i, size_t *n);
  int (*row)(struct evlog_stmt *st, struct evlog_value *out, int n);
  int64_t (*changes)(struct evlog_db *db);
  const char *(*errmsg)(struct evlog_db *db);
};

struct evlog_stmt {
  struct evlog_db *db;
};

struct evlog_db {
  const struct evlog_ops *ops;
  struct {
    const char *sql; /* the cache key: the address of the text */
    struct evlog_stmt *st;
  } cache[EVLOG_STMT_SLOTS];
  unsigned ncache;
};

/* Backends call this once their connection is open. */
void evlog_db_init(struct evlog_db *db, const struct evlog_ops *ops);
/* Backends call this first in their close: finalizes cached statements. */
void evlog_db_drop_cache(struct evlog_db *db);

#endif
