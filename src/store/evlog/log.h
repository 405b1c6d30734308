/*
 * log.h: the rows of the log itself: appending an event, finding the
 * log's end, reading events back, and the `state` row that says up to
 * which event the views are built.  SQL lives here once, on evlog.h's
 * statements, for every backend.
 */
#ifndef AS_LOG_H
#define AS_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "store/evlog/event.h"
#include "store/evlog/evlog.h"

#define EVLOG_READ_MAX 1000 /* events per evlog_read_since */

/* Every event in sequence order, as evlog_row_view reads them (replay,
 * verify): evlog_stmt(db, evlog_scan_sql, ...). */
extern const char evlog_scan_sql[];
/* The same from sequence ?1 on. */
extern const char evlog_scan_from_sql[];

/* Inserts ev (all fields set, digests computed).  0 or an error with a
 * message. */
int evlog_append(struct evlog_db *db, const struct event_rec *ev,
                 struct errbuf *e);
/* The last row's sequence and chain digest; *seq = 0 (chain untouched)
 * when the log is empty.  UV_EPROTO when that chain digest is malformed. */
int evlog_tail(struct evlog_db *db, int64_t *seq, uint8_t chain[DIGEST_LEN],
               struct errbuf *e);
/* Up to limit (1..EVLOG_READ_MAX) events after since, oldest first, each a
 * single allocation; *out is an array of *n pointers (free each, then the
 * array). */
int evlog_read_since(struct evlog_db *db, int64_t since, unsigned limit,
                     struct event_rec ***out, size_t *n, struct errbuf *e);

/* The current row of a statement selecting the log's columns
 * (evlog_scan_sql), without copying: out points into the statement's
 * memory, valid until it steps or resets.  0 or UV_EPROTO when a column
 * has the wrong type or length, or text hides a NUL. */
int evlog_row_view(struct evlog_stmt *st, struct event_rec *out);

/* Records that the views reflect every event up to sequence (inside the
 * transaction that applied them). */
int evlog_stamp(struct evlog_db *db, int64_t sequence, struct errbuf *e);
/* Reads it back: 0 with *out, UV_ENOENT when the state row is missing
 * (*out untouched), or the database's error, with "<what>: ..." in e. */
int evlog_applied(struct evlog_db *db, int64_t *out, const char *what,
                  struct errbuf *e);

#endif
