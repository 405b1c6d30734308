/*
 * log.c: reading and writing the rows of `events` and `state` (see log.h;
 * schema in schema/0001_event_log.sql, layout in docs/EVENTS.md).
 */
#include "store/evlog/log.h"

#include <stdlib.h>
#include <string.h>

#define EVLOG_COLUMNS                                                      \
  "sequence, created_at, event_type, subject_kind, subject_id, actor, "   \
  "payload, payload_digest, chain_digest"

const char evlog_scan_sql[] =
    "SELECT " EVLOG_COLUMNS " FROM events ORDER BY sequence";
const char evlog_scan_from_sql[] =
    "SELECT " EVLOG_COLUMNS " FROM events WHERE sequence >= ?1 "
    "ORDER BY sequence";

static const char evlog_insert_sql[] =
    "INSERT INTO events (" EVLOG_COLUMNS ") "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char evlog_tail_sql[] =
    "SELECT sequence, chain_digest FROM events "
    "ORDER BY sequence DESC LIMIT 1";
static const char evlog_since_sql[] =
    "SELECT " EVLOG_COLUMNS " FROM events WHERE sequence > ?1 "
    "ORDER BY sequence LIMIT ?2";
static const char evlog_stamp_sql[] =
    "UPDATE state SET last_sequence = ?1 WHERE id = 1";
static const char evlog_applied_sql[] =
    "SELECT last_sequence FROM state WHERE id = 1";

int evlog_append(struct evlog_db *db, const struct event_rec *ev,
                 struct errbuf *e) {
  struct evlog_stmt *st;
  int rc;

  if ((rc = evlog_stmt(db, evlog_insert_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_int(st, 1, ev->sequence);
  if (rc == 0)
    rc = evlog_bind_int(st, 2, ev->created_at);
  if (rc == 0)
    rc = evlog_bind_str(st, 3, ev->event_type);
  if (rc == 0)
    rc = evlog_bind_str(st, 4, ev->subject_kind);
  if (rc == 0)
    rc = evlog_bind_blob(st, 5, ev->subject_id.b, UUID_LEN);
  if (rc == 0)
    rc = evlog_bind_str(st, 6, ev->actor);
  if (rc == 0)
    rc = evlog_bind_blob(st, 7, ev->payload, ev->payload_len);
  if (rc == 0)
    rc = evlog_bind_blob(st, 8, ev->payload_digest, DIGEST_LEN);
  if (rc == 0)
    rc = evlog_bind_blob(st, 9, ev->chain_digest, DIGEST_LEN);
  if (rc != 0) {
    evlog_reset(st);
    return evlog_fail(db, rc, "appending an event", e);
  }
  return evlog_run(st, "appending an event", e);
}

int evlog_tail(struct evlog_db *db, int64_t *seq, uint8_t chain[DIGEST_LEN],
               struct errbuf *e) {
  struct evlog_stmt *st;
  int rc;

  *seq = 0;
  if ((rc = evlog_stmt(db, evlog_tail_sql, &st, e)) != 0)
    return rc;
  rc = evlog_step(st);
  if (rc == EVLOG_ROW) {
    if ((rc = evlog_col_copy(st, 1, chain, DIGEST_LEN)) != 0)
      err_set(e, rc, "the last event has a malformed chain digest: run "
              "artifactstored --verify-log");
    else
      *seq = evlog_col_int(st, 0);
  } else {
    rc = evlog_fail(db, rc, "reading the end of the event log", e);
  }
  evlog_reset(st);
  return rc;
}

/* Exactly n bytes of a BLOB column. */
static int evlog_val_fixed(const struct evlog_value *v, void *out, size_t n) {
  if (v->type != EVLOG_BLOB || v->n != n)
    return UV_EPROTO;
  memcpy(out, v->p, n);
  return 0;
}

/* Text that is exactly its stored bytes: no NUL hidden inside (it would
 * be hashed only up to the NUL). */
static int evlog_val_str(const struct evlog_value *v, const char **out) {
  if (v->type != EVLOG_TEXT || v->p == NULL || strlen(v->p) != v->n)
    return UV_EPROTO;
  *out = v->p;
  return 0;
}

int evlog_row_view(struct evlog_stmt *st, struct event_rec *f) {
  struct evlog_value v[9];
  int rc;

  memset(f, 0, sizeof *f);
  if (evlog_row(st, v, 9) != 0)
    return UV_EPROTO;
  /* Exactly the stored types: a database may convert a TEXT "123" or a
   * REAL to an integer, or TEXT to a blob, and an edit like that must not
   * verify. */
  if (v[0].type != EVLOG_INTEGER || v[1].type != EVLOG_INTEGER ||
      v[6].type != EVLOG_BLOB)
    return UV_EPROTO;
  f->sequence = v[0].i;
  f->created_at = v[1].i;
  if ((rc = evlog_val_str(&v[2], &f->event_type)) != 0 ||
      (rc = evlog_val_str(&v[3], &f->subject_kind)) != 0 ||
      (rc = evlog_val_str(&v[5], &f->actor)) != 0 ||
      (rc = evlog_val_fixed(&v[4], f->subject_id.b, UUID_LEN)) != 0 ||
      (rc = evlog_val_fixed(&v[7], f->payload_digest, DIGEST_LEN)) != 0 ||
      (rc = evlog_val_fixed(&v[8], f->chain_digest, DIGEST_LEN)) != 0)
    return rc;
  f->payload = v[6].p;
  f->payload_len = v[6].n;
  return 0;
}

int evlog_read_since(struct evlog_db *db, int64_t since, unsigned limit,
                     struct event_rec ***out, size_t *count,
                     struct errbuf *e) {
  struct event_rec **v = NULL, view;
  struct evlog_stmt *st;
  size_t n = 0;
  int rc;

  *out = NULL;
  *count = 0;
  if (limit == 0 || limit > EVLOG_READ_MAX)
    limit = EVLOG_READ_MAX;
  if ((rc = evlog_stmt(db, evlog_since_sql, &st, e)) != 0)
    return rc;
  v = malloc(limit * sizeof *v);
  if (v == NULL)
    return err_set(e, UV_ENOMEM, "out of memory");
  rc = evlog_bind_int(st, 1, since);
  if (rc == 0)
    rc = evlog_bind_int(st, 2, limit);
  while (rc == 0 && (rc = evlog_step(st)) == EVLOG_ROW) {
    if (evlog_row_view(st, &view) != 0) {
      rc = err_set(e, UV_EPROTO, "the event log has a malformed row after "
                   "sequence %lld: run artifactstored --verify-log",
                   (long long)(n > 0 ? v[n - 1]->sequence : since));
      goto fail;
    }
    if ((v[n] = event_rec_dup(&view)) == NULL) {
      rc = err_set(e, UV_ENOMEM, "out of memory");
      goto fail;
    }
    n++;
    rc = 0;
  }
  if (rc < 0) {
    evlog_fail(db, rc, "reading the event log", e);
    goto fail;
  }
  evlog_reset(st);
  *out = v;
  *count = n;
  return 0;
fail:
  evlog_reset(st);
  while (n > 0)
    free(v[--n]);
  free(v);
  return rc;
}

int evlog_stamp(struct evlog_db *db, int64_t sequence, struct errbuf *e) {
  struct evlog_stmt *st;
  int rc;

  if ((rc = evlog_stmt(db, evlog_stamp_sql, &st, e)) != 0)
    return rc;
  if ((rc = evlog_bind_int(st, 1, sequence)) != 0) {
    evlog_reset(st);
    return evlog_fail(db, rc, "stamping the applied sequence", e);
  }
  return evlog_run(st, "stamping the applied sequence", e);
}

int evlog_applied(struct evlog_db *db, int64_t *out, const char *what,
                  struct errbuf *e) {
  struct evlog_stmt *st;
  int rc;

  if ((rc = evlog_stmt(db, evlog_applied_sql, &st, e)) != 0)
    return rc;
  rc = evlog_step(st);
  if (rc == EVLOG_ROW)
    *out = evlog_col_int(st, 0);
  evlog_reset(st);
  if (rc == 0)
    return err_set(e, UV_ENOENT, "%s: the state row is missing", what);
  return rc == EVLOG_ROW ? 0 : evlog_fail(db, rc, what, e);
}
