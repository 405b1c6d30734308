/*
 * chain.h: the digests of the event log's rows: payload_digest and the
 * chain digest that links each row to the one before it.  The byte layout
 * of chain_digest is documented at the top of chain.c and in
 * docs/EVENTS.md.  Pure computation: no I/O.
 */
#ifndef AS_CHAIN_H
#define AS_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "store/evlog/event.h"

#define EVLOG_TEXT_MAX 65535 /* event_type, subject_kind, actor bytes */

void evlog_payload_digest(const uint8_t *payload, size_t len,
                          uint8_t out[DIGEST_LEN]);
/* Chain digest of ev given the previous row's chain digest (NULL for
 * sequence 1).  Uses every field of ev except chain_digest.  UV_EINVAL when
 * a text field exceeds EVLOG_TEXT_MAX. */
int evlog_chain_digest(const uint8_t prev[DIGEST_LEN],
                       const struct event_rec *ev, uint8_t out[DIGEST_LEN]);

#endif
