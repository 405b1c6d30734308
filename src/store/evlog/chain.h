/*
 * evlog.h: the event log's on-disk record: digests, record construction,
 * and reading rows of `events` into struct event_rec.  The byte layout of
 * chain_digest is documented at the top of evlog.c.
 */
#ifndef AS_EVLOG_H
#define AS_EVLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "util/common.h"
#include "store/evlog/event.h"

#define EVLOG_TEXT_MAX 65535    /* event_type, subject_kind, actor bytes */

/* The columns evlog_rec_from_row expects, in this order. */
#define EVLOG_COLUMNS                                                      \
  "sequence, created_at, event_type, subject_kind, subject_id, actor, "   \
  "payload, payload_digest, chain_digest"

void evlog_payload_digest(const uint8_t *payload, size_t len,
                          uint8_t out[DIGEST_LEN]);
/* Chain digest of ev given the previous row's chain digest (NULL for
 * sequence 1).  Uses every field of ev except chain_digest.  UV_EINVAL when
 * a text field exceeds EVLOG_TEXT_MAX. */
int evlog_chain_digest(const uint8_t prev[DIGEST_LEN],
                       const struct event_rec *ev, uint8_t out[DIGEST_LEN]);

/* One allocation holding the record, its strings and payload (free()).
 * NULL on ENOMEM. */
struct event_rec *evlog_rec_new(const struct event_rec *fields);
/* Reads the current row of a statement selecting EVLOG_COLUMNS.  0,
 * UV_ENOMEM or UV_EPROTO (a malformed row). */
int evlog_rec_from_row(sqlite3_stmt *st, struct event_rec **out);
/* Like evlog_rec_from_row without copying: *out points into the
 * statement's column memory, valid until it steps or resets (replay). */
int evlog_rec_view_row(sqlite3_stmt *st, struct event_rec *out);

#endif
