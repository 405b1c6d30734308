/*
 * views.h: the registry's materialised views and the events that change
 * them.  views_domain is what the event-log engine needs of the registry
 * (domain.h): the writer applies every event it appends through it, and
 * replay rebuilds and digests the views with it.  An apply function takes
 * every value from the event (payload, sequence, payload_digest), never
 * from the clock or a random source, so replaying the log yields
 * byte-identical views.
 */
#ifndef AS_VIEWS_H
#define AS_VIEWS_H

#include "store/evlog/domain.h"

/* Event types and subject kinds (payloads in docs/EVENTS.md). */
#define EV_PACKAGE_CREATED "v1.package.created"
#define EV_FILE_INGESTED "v1.file.ingested"
#define EV_PACKAGE_FINALIZED "v1.package.finalized"
#define EV_RETENTION_CLASS_DEFINED "v1.retention_class.defined"
#define EV_RETENTION_CLASS_REMOVED "v1.retention_class.removed"
#define EV_RETENTION_EXTENDED "v1.retention.extended"
#define EV_HOLD_PLACED "v1.hold.placed"
#define EV_HOLD_RELEASED "v1.hold.released"
#define EV_PACKAGE_EXPIRED "v1.package.expired"
#define EV_PACKAGE_ABORTED "v1.package.aborted"
#define EV_BLOB_COLLECTED "v1.blob.collected"
#define EV_KIND_PACKAGE "package"
#define EV_KIND_FILE "file"
#define EV_KIND_CLASS "retention_class" /* subject: uuid_v5-like, below */
#define EV_KIND_HOLD "hold"
#define EV_KIND_BLOB "blob" /* subject: the first 16 bytes of BLAKE3 */

extern const struct evlog_domain views_domain;

/* Applies one event, already in (or being replayed from) the log, to the
 * views.  UV_EPROTO (message in e) when the event does not fit them:
 * unknown type, malformed payload, missing package; other errors are the
 * database's. */
int views_apply(struct evlog_db *db, const struct event_rec *ev,
                struct errbuf *e);

#endif
