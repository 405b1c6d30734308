/*
 * work.c: references, abort and detach for the state of a request whose
 * handler has returned (see work.h for the rules).
 */
#include "handlers/work.h"

#include <assert.h>
#include <stddef.h>

static void work_free(struct work *w) {
  struct conn *c = w->c;

  assert(w->refs == 0 && w->state != WORK_ATTACHED);
  w->free_cb(w); /* w is gone */
  http_conn_release(c);
}

/* The connection is closing: it has already forgotten ctx and timer. */
static void work_abort_cb(struct conn *c, void *ctx) {
  struct work *w = ctx;
  (void)c;

  assert(w->state == WORK_ATTACHED);
  w->state = WORK_ABORTED;
  w->timer_cb = NULL;
  if (w->refs == 0)
    work_free(w);
}

void work_init(struct work *w, struct conn *c,
               void (*free_cb)(struct work *w)) {
  w->c = c;
  w->free_cb = free_cb;
  w->timer_cb = NULL;
  w->refs = 1;
  w->state = WORK_ATTACHED;
  http_conn_hold(c);
  http_set_ctx(c, w, work_abort_cb);
}

void work_ref(struct work *w) { w->refs++; }

void work_unref(struct work *w) {
  assert(w->refs > 0);
  if (--w->refs == 0 && w->state != WORK_ATTACHED)
    work_free(w);
}

bool work_live(const struct work *w) { return w->state == WORK_ATTACHED; }

struct conn *work_end(struct work *w) {
  assert(w->state == WORK_ATTACHED && w->refs > 0);
  if (w->timer_cb != NULL) {
    w->timer_cb = NULL;
    http_timer(w->c, 0, NULL);
  }
  http_set_ctx(w->c, NULL, NULL);
  w->state = WORK_ENDED;
  return w->c;
}

static void work_timer_fire(struct conn *c) {
  struct work *w = http_ctx(c);
  void (*cb)(struct work *w);

  assert(w != NULL && w->state == WORK_ATTACHED && w->timer_cb != NULL);
  cb = w->timer_cb;
  w->timer_cb = NULL;
  work_ref(w);
  cb(w);
  work_unref(w);
}

void work_timer(struct work *w, uint64_t ms, void (*cb)(struct work *w)) {
  assert(w->state == WORK_ATTACHED);
  if (ms == 0 && w->timer_cb == NULL)
    return; /* not ours to stop: the connection may be timing a body */
  w->timer_cb = ms != 0 ? cb : NULL;
  http_timer(w->c, ms, ms != 0 ? work_timer_fire : NULL);
}
