/*
 * views.h: the materialised views' event handlers, shared by the writer
 * thread (live) and replay.  A handler takes every value from the event
 * (payload, sequence, payload_digest), never from the clock or a random
 * source, so replaying the log yields byte-identical views.
 */
#ifndef AS_VIEWS_H
#define AS_VIEWS_H

#include <sqlite3.h>

#include "util/common.h"
#include "store/evlog/event.h"
#include "store/registry/model.h"

#define EV_PACKAGE_CREATED "v1.package.created"
#define EV_FILE_INGESTED "v1.file.ingested"
#define EV_PACKAGE_FINALIZED "v1.package.finalized"
#define EV_KIND_PACKAGE "package"
#define EV_KIND_FILE "file"

#define VIEWS_US_PER_DAY INT64_C(86400000000)

struct views; /* prepared statements on one connection */

int views_open(sqlite3 *db, struct views **out);
void views_close(struct views *v);
/* Applies one event, already in (or being replayed from) `events`, to the
 * views and stamps state.last_sequence.  UV_EPROTO (message in e) when the
 * event does not fit the views: unknown type, malformed payload, missing
 * package; other errors are the database's. */
int views_apply(struct views *v, const struct event_rec *ev,
                struct errbuf *e);
/* views_apply in two steps, for callers applying many events in one
 * transaction: views_apply_event changes the views without stamping;
 * views_stamp records the highest applied sequence.  The caller stamps
 * before the transaction (or savepoint) that applied them commits. */
int views_apply_event(struct views *v, const struct event_rec *ev,
                      struct errbuf *e);
int views_stamp(struct views *v, int64_t sequence, struct errbuf *e);
/* Reads the stamp back on any connection: 0 with *out, UV_ENOENT when the
 * state row is missing (*out untouched), or the database's error, with
 * "<what>: ..." in e. */
int views_applied(sqlite3 *db, int64_t *out, const char *what,
                  struct errbuf *e);

#endif
