/*
 * event.c: deep copies of event records (see event.h).
 *
 * A copy is one allocation: the struct, then its strings (each with its
 * NUL), then the payload bytes, so free() releases all of it and a record
 * can outlive the buffers it was built from (the writer's statement memory,
 * a request's body).  NULL strings and an empty payload stay NULL.
 */
#include "store/evlog/event.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Adds x to *total; false (and *total unchanged) on overflow. */
static bool event_rec_add(size_t *total, size_t x) {
  if (x > SIZE_MAX - *total)
    return false;
  *total += x;
  return true;
}

static size_t event_rec_strsize(const char *s) {
  return s == NULL ? 0 : strlen(s) + 1;
}

/* Copies s to *cursor and advances it; returns the copy or NULL. */
static const char *event_rec_put(char **cursor, const char *s) {
  char *d;
  size_t n;

  if (s == NULL)
    return NULL;
  n = strlen(s) + 1;
  d = *cursor;
  memcpy(d, s, n);
  *cursor += n;
  return d;
}

size_t event_rec_size(const struct event_rec *ev) {
  size_t total = sizeof *ev;

  if (!event_rec_add(&total, event_rec_strsize(ev->event_type)) ||
      !event_rec_add(&total, event_rec_strsize(ev->subject_kind)) ||
      !event_rec_add(&total, event_rec_strsize(ev->actor)) ||
      !event_rec_add(&total, ev->payload != NULL ? ev->payload_len : 0))
    return 0;
  return total;
}

struct event_rec *event_rec_dup(const struct event_rec *ev) {
  size_t total = event_rec_size(ev);
  struct event_rec *c;
  char *cursor;

  if (total == 0)
    return NULL;
  c = malloc(total);
  if (c == NULL)
    return NULL;
  *c = *ev;
  cursor = (char *)(c + 1);
  c->event_type = event_rec_put(&cursor, ev->event_type);
  c->subject_kind = event_rec_put(&cursor, ev->subject_kind);
  c->actor = event_rec_put(&cursor, ev->actor);
  if (ev->payload != NULL && ev->payload_len > 0) {
    memcpy(cursor, ev->payload, ev->payload_len);
    c->payload = (const uint8_t *)cursor;
  } else {
    c->payload = NULL;
    c->payload_len = 0;
  }
  return c;
}
