/*
 * wtx.h: what the writer thread offers the registry operations while a
 * batch transaction is open (private to src/store/: writer.c, registry.c).
 */
#ifndef AS_WTX_H
#define AS_WTX_H

#include <sqlite3.h>

#include "store/evlog/writer.h"

enum wjob_kind {
  WJOB_CREATE,
  WJOB_INGEST,
  WJOB_FINALIZE,
};

struct wjob {
  struct wjob *next;
  enum wjob_kind kind;
  struct pkg_create_req create;   /* WJOB_CREATE */
  struct file_ingest_req ingest;  /* WJOB_INGEST */
  struct uuid package_id;         /* WJOB_FINALIZE */
  const char *actor;              /* all kinds */
  reg_cb cb;
  void *arg;
  struct reg_result res;
  /* copies of the request's strings follow the struct */
};

struct wtx;

sqlite3 *wtx_db(struct wtx *tx);
/* A cached prepared statement for sql (a string literal: cached by
 * address), reset and unbound.  NULL with *rc set on failure. */
sqlite3_stmt *wtx_stmt(struct wtx *tx, const char *sql, int *rc);
/* Appends one event (next sequence, chained) and applies it to the views.
 * 0 or an error with a message in e. */
int wtx_emit(struct wtx *tx, const char *event_type, const char *subject_kind,
             const struct uuid *subject_id, const char *actor,
             int64_t created_at, const uint8_t *payload, size_t payload_len,
             struct errbuf *e);
int64_t wtx_last_sequence(const struct wtx *tx);
/* A UUIDv7 for unix_ms, strictly greater than every id this writer made
 * before (RFC 9562 6.2 method 2: within one millisecond, or if the clock
 * steps back, the previous id plus one), so ids sort in creation order. */
void wtx_new_id(struct wtx *tx, uint64_t unix_ms, struct uuid *out);

/* registry.c: runs one job inside the open transaction (the caller wraps it
 * in a SAVEPOINT) and fills j->res. */
void registry_run(struct wtx *tx, struct wjob *j);

#endif
