/*
 * evring.h: the loop's in-memory ring of recently committed events,
 * bounded by count and bytes, so tails of recent history never touch
 * SQLite.  Loop thread only.
 */
#ifndef AS_EVRING_H
#define AS_EVRING_H

#include <stddef.h>
#include <stdint.h>

#include "store/evlog/event.h"

struct evring;

int evring_new(size_t max_events, size_t max_bytes, struct evring **out);
void evring_free(struct evring *r);
/* Copies events (in sequence order, gapless after what the ring holds). */
int evring_push(struct evring *r, const struct event_rec *evs, size_t n);
/* Fills out[0..*n) (caller's array of limit pointers) with the events of
 * sequence > since, oldest first; the pointers stay valid until the next
 * push.  Returns 0 (*n may be 0 when since is the newest), or AS_AGAIN when
 * since is older than the ring holds: read SQLite instead. */
int evring_since(struct evring *r, int64_t since, size_t limit,
                 const struct event_rec **out, size_t *n);
int64_t evring_last(const struct evring *r); /* 0 when empty */
/* Seeds the newest sequence known at start-up (ring stays empty). */
void evring_set_last(struct evring *r, int64_t last);

#endif
