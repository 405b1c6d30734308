/*
 * evlog.c: digests and records of the event log.
 *
 * Each row of `events` carries
 *   payload_digest = BLAKE3(payload)                       (32 bytes)
 *   chain_digest   = BLAKE3(layout below)                  (32 bytes)
 * where the chain input is the concatenation of
 *   prev_chain      32 bytes: chain_digest of sequence - 1, or 32 zero
 *                   bytes for sequence 1
 *   sequence        u64, big-endian
 *   created_at      i64, big-endian two's complement (us since epoch, UTC)
 *   event_type      u16 big-endian byte length, then the UTF-8 bytes
 *   subject_kind    u16 big-endian byte length, then the UTF-8 bytes
 *   subject_id      16 bytes (UUID)
 *   actor           u16 big-endian byte length, then the UTF-8 bytes
 *   payload_digest  32 bytes
 * The payload enters through its digest, so verifying a row rehashes the
 * payload once.  Any edit of a row, or deleting or reordering rows, changes
 * every later chain_digest (artifactstored --verify-log).
 */
#include "store/evlog/chain.h"

#include <stdlib.h>
#include <string.h>

#include "blake3.h"

void evlog_payload_digest(const uint8_t *payload, size_t len,
                          uint8_t out[DIGEST_LEN]) {
  digest_blake3(payload, len, out);
}

static void evlog_put_be(blake3_hasher *h, uint64_t v, int nbytes) {
  uint8_t b[8];

  for (int i = 0; i < nbytes; i++)
    b[i] = (uint8_t)(v >> (8 * (nbytes - 1 - i)));
  blake3_hasher_update(h, b, (size_t)nbytes);
}

static void evlog_put_text(blake3_hasher *h, const char *s) {
  size_t n = strlen(s);

  evlog_put_be(h, n, 2);
  blake3_hasher_update(h, s, n);
}

int evlog_chain_digest(const uint8_t prev[DIGEST_LEN],
                       const struct event_rec *ev, uint8_t out[DIGEST_LEN]) {
  static const uint8_t zero[DIGEST_LEN];
  blake3_hasher h;

  if (strlen(ev->event_type) > EVLOG_TEXT_MAX ||
      strlen(ev->subject_kind) > EVLOG_TEXT_MAX ||
      strlen(ev->actor) > EVLOG_TEXT_MAX)
    return UV_EINVAL;
  blake3_hasher_init(&h);
  blake3_hasher_update(&h, prev != NULL ? prev : zero, DIGEST_LEN);
  evlog_put_be(&h, (uint64_t)ev->sequence, 8);
  evlog_put_be(&h, (uint64_t)ev->created_at, 8);
  evlog_put_text(&h, ev->event_type);
  evlog_put_text(&h, ev->subject_kind);
  blake3_hasher_update(&h, ev->subject_id.b, UUID_LEN);
  evlog_put_text(&h, ev->actor);
  blake3_hasher_update(&h, ev->payload_digest, DIGEST_LEN);
  blake3_hasher_finalize(&h, out, DIGEST_LEN);
  return 0;
}

/* Lays the record out as [struct][payload][event_type\0][kind\0][actor\0]. */
static struct event_rec *evlog_rec_alloc(const struct event_rec *f,
                                         size_t type_len, size_t kind_len,
                                         size_t actor_len) {
  size_t total = sizeof *f + f->payload_len + type_len + kind_len +
                 actor_len + 3;
  struct event_rec *ev = malloc(total);
  char *p;

  if (ev == NULL)
    return NULL;
  *ev = *f;
  p = (char *)(ev + 1);
  if (f->payload_len > 0)
    memcpy(p, f->payload, f->payload_len);
  ev->payload = (const uint8_t *)p;
  p += f->payload_len;
  memcpy(p, f->event_type, type_len);
  p[type_len] = '\0';
  ev->event_type = p;
  p += type_len + 1;
  memcpy(p, f->subject_kind, kind_len);
  p[kind_len] = '\0';
  ev->subject_kind = p;
  p += kind_len + 1;
  memcpy(p, f->actor, actor_len);
  p[actor_len] = '\0';
  ev->actor = p;
  return ev;
}

struct event_rec *evlog_rec_new(const struct event_rec *f) {
  return evlog_rec_alloc(f, strlen(f->event_type), strlen(f->subject_kind),
                         strlen(f->actor));
}

static int evlog_col_blob(sqlite3_stmt *st, int col, void *out, size_t n) {
  if (sqlite3_column_type(st, col) != SQLITE_BLOB ||
      (size_t)sqlite3_column_bytes(st, col) != n)
    return UV_EPROTO;
  memcpy(out, sqlite3_column_blob(st, col), n);
  return 0;
}

int evlog_rec_view_row(sqlite3_stmt *st, struct event_rec *f) {
  int rc;

  memset(f, 0, sizeof *f);
  /* Exactly the stored types: SQLite would convert a TEXT "123" or a REAL
   * to an integer, or TEXT to a blob, and an edit like that must not
   * verify.  Text that holds a NUL would be hashed only up to it. */
  if (sqlite3_column_type(st, 0) != SQLITE_INTEGER ||
      sqlite3_column_type(st, 1) != SQLITE_INTEGER ||
      sqlite3_column_type(st, 2) != SQLITE_TEXT ||
      sqlite3_column_type(st, 3) != SQLITE_TEXT ||
      sqlite3_column_type(st, 5) != SQLITE_TEXT ||
      sqlite3_column_type(st, 6) != SQLITE_BLOB)
    return UV_EPROTO;
  f->sequence = sqlite3_column_int64(st, 0);
  f->created_at = sqlite3_column_int64(st, 1);
  f->event_type = (const char *)sqlite3_column_text(st, 2);
  f->subject_kind = (const char *)sqlite3_column_text(st, 3);
  f->actor = (const char *)sqlite3_column_text(st, 5);
  if (f->event_type == NULL || f->subject_kind == NULL || f->actor == NULL)
    return UV_EPROTO;
  if (strlen(f->event_type) != (size_t)sqlite3_column_bytes(st, 2) ||
      strlen(f->subject_kind) != (size_t)sqlite3_column_bytes(st, 3) ||
      strlen(f->actor) != (size_t)sqlite3_column_bytes(st, 5))
    return UV_EPROTO;
  if ((rc = evlog_col_blob(st, 4, f->subject_id.b, UUID_LEN)) != 0 ||
      (rc = evlog_col_blob(st, 7, f->payload_digest, DIGEST_LEN)) != 0 ||
      (rc = evlog_col_blob(st, 8, f->chain_digest, DIGEST_LEN)) != 0)
    return rc;
  f->payload = sqlite3_column_blob(st, 6);
  f->payload_len = (size_t)sqlite3_column_bytes(st, 6);
  return 0;
}

int evlog_rec_from_row(sqlite3_stmt *st, struct event_rec **out) {
  struct event_rec f;
  int rc;

  *out = NULL;
  if ((rc = evlog_rec_view_row(st, &f)) != 0)
    return rc;
  *out = evlog_rec_alloc(&f, (size_t)sqlite3_column_bytes(st, 2),
                         (size_t)sqlite3_column_bytes(st, 3),
                         (size_t)sqlite3_column_bytes(st, 5));
  return *out != NULL ? 0 : UV_ENOMEM;
}
