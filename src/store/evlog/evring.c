/*
 * evring.c: the loop's ring of recently committed events (see evring.h).
 *
 * Long-polling consumers mostly ask for "what came after the last event I
 * saw", which is the tail of the log.  The writer hands each committed batch
 * to the loop, the loop pushes it here, and GET /v1/events answers from the
 * ring without a round trip to SQLite.  When the consumer is further behind
 * than the ring reaches, evring_since says AS_AGAIN and the handler reads
 * the log instead.
 *
 * The ring owns a deep copy of each event (event_rec_dup: one allocation
 * per event).  It is bounded twice: at most max_events events, and at most
 * max_bytes bytes, where an event is charged its whole copy (the struct,
 * its strings with their NULs and its payload).  Pushing evicts the oldest
 * events until both bounds hold again; an event bigger than max_bytes on
 * its own is therefore evicted at once and the ring only remembers its
 * sequence.
 *
 * Invariant: the ring holds the events first..last with no gap, where
 * first = last - count + 1 (count may be 0).  `last` survives eviction, so
 * an empty ring still knows where the log ends.
 */
#include "store/evlog/evring.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

struct evring {
  struct event_rec **slot; /* max_events entries, a circular buffer */
  size_t *size;            /* bytes charged to the event in the same slot */
  size_t max_events;
  size_t max_bytes;
  size_t head;  /* slot of the oldest event */
  size_t count; /* events held */
  size_t bytes; /* sum of size[] over the events held */
  int64_t last; /* newest sequence pushed or seeded; 0 when none */
};

#ifndef NDEBUG
/* O(1) checks, cheap enough to run on every push in debug builds. */
static int evring_ok(const struct evring *r) {
  assert(r->count <= r->max_events);
  assert(r->head < r->max_events);
  assert(r->count > 0 || r->bytes == 0);
  assert(r->bytes <= r->max_bytes);
  if (r->count > 0) {
    size_t newest = (r->head + r->count - 1) % r->max_events;
    assert(r->slot[newest]->sequence == r->last);
    assert(r->slot[r->head]->sequence == r->last - (int64_t)r->count + 1);
  }
  return 1;
}
#endif

int evring_new(size_t max_events, size_t max_bytes, struct evring **out) {
  struct evring *r;

  *out = NULL;
  if (max_events == 0 || max_bytes == 0)
    return UV_EINVAL;
  r = calloc(1, sizeof *r);
  if (r == NULL)
    return UV_ENOMEM;
  r->slot = calloc(max_events, sizeof *r->slot);
  r->size = calloc(max_events, sizeof *r->size);
  if (r->slot == NULL || r->size == NULL) {
    evring_free(r);
    return UV_ENOMEM;
  }
  r->max_events = max_events;
  r->max_bytes = max_bytes;
  *out = r;
  return 0;
}

static void evring_drop_oldest(struct evring *r) {
  assert(r->count > 0);
  free(r->slot[r->head]);
  r->slot[r->head] = NULL;
  r->bytes -= r->size[r->head];
  r->size[r->head] = 0;
  r->head = (r->head + 1) % r->max_events;
  r->count--;
}

static void evring_clear(struct evring *r) {
  while (r->count > 0)
    evring_drop_oldest(r);
  r->head = 0;
}

void evring_free(struct evring *r) {
  if (r == NULL)
    return;
  if (r->slot != NULL)
    evring_clear(r);
  free(r->slot);
  free(r->size);
  free(r);
}

int evring_push(struct evring *r, const struct event_rec *evs, size_t n) {
  size_t start = 0;

  /* Check the whole batch first so a bad one leaves the ring untouched. */
  for (size_t i = 0; i < n; i++)
    if (evs[i].sequence != r->last + 1 + (int64_t)i)
      return UV_EINVAL;
  if (n == 0)
    return 0;

  /* Events that the count bound would evict at once are never copied. */
  if (n > r->max_events) {
    start = n - r->max_events;
    evring_clear(r);
    r->last = evs[start - 1].sequence;
  }
  for (size_t i = start; i < n; i++) {
    struct event_rec *c = event_rec_dup(&evs[i]);
    size_t k;

    if (c == NULL) {
      /* Forget the history rather than hold a gap: readers of older
       * sequences get AS_AGAIN and go to SQLite, which has them. */
      evring_clear(r);
      r->last = evs[n - 1].sequence;
      return UV_ENOMEM;
    }
    if (r->count == r->max_events)
      evring_drop_oldest(r);
    k = (r->head + r->count) % r->max_events;
    r->slot[k] = c;
    r->size[k] = event_rec_size(c);
    r->bytes += r->size[k];
    r->count++;
    r->last = c->sequence;
    while (r->count > 0 && r->bytes > r->max_bytes)
      evring_drop_oldest(r);
  }
  assert(evring_ok(r));
  return 0;
}

int evring_since(struct evring *r, int64_t since, size_t limit,
                 const struct event_rec **out, size_t *n) {
  int64_t first = r->last - (int64_t)r->count + 1;
  size_t skip, avail;

  *n = 0;
  if (since < 0)
    since = 0; /* sequences start at 1: "after -5" is "after 0" */
  if (since >= r->last)
    return 0;
  if (since < first - 1)
    return AS_AGAIN;
  skip = (size_t)(since - (first - 1));
  avail = r->count - skip;
  if (avail > limit)
    avail = limit;
  for (size_t i = 0; i < avail; i++)
    out[i] = r->slot[(r->head + skip + i) % r->max_events];
  *n = avail;
  return 0;
}

int64_t evring_last(const struct evring *r) {
  return r->last;
}

void evring_set_last(struct evring *r, int64_t last) {
  evring_clear(r);
  r->last = last;
}
