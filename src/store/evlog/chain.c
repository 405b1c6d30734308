/*
 * chain.c: the digests of the event log's rows (see chain.h).
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

#include <string.h>

#include <uv.h>

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
