/*
 * event.h: one row of the event log as the engine hands it around.
 * Records are single allocations (strings and payload inside) released
 * with free(); the chain digest layout is in chain.c.
 */
#ifndef AS_EVENT_H
#define AS_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "store/codec/digest.h"
#include "store/codec/uuid.h"

struct event_rec {
  int64_t sequence;
  int64_t created_at;          /* us */
  const char *event_type;      /* e.g. "v1.package.created" */
  const char *subject_kind;    /* "package", "file", ... */
  struct uuid subject_id;
  const char *actor;
  const uint8_t *payload;      /* canonical CBOR */
  size_t payload_len;
  uint8_t payload_digest[DIGEST_LEN];
  uint8_t chain_digest[DIGEST_LEN];
};

/* Deep copy of an event into one allocation (free() releases it). */
struct event_rec *event_rec_dup(const struct event_rec *ev);
/* Bytes event_rec_dup allocates for ev; 0 when that would overflow. */
size_t event_rec_size(const struct event_rec *ev);

#endif
