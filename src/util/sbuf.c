/* sbuf.c: growable byte buffer (see sbuf.h). */
#include "util/sbuf.h"

#include <stdlib.h>
#include <string.h>

#include "util/common.h"

#define SBUF_MIN_CAP 64

static int sbuf_reserve(struct sbuf *b, size_t n) {
  size_t need, cap;
  uint8_t *p;

  if (n > SIZE_MAX - b->len - 1) /* keep room for a NUL in sbuf_take() */
    return UV_ENOMEM;
  need = b->len + n + 1;
  if (need <= b->cap)
    return 0;
  cap = b->cap < SBUF_MIN_CAP ? SBUF_MIN_CAP : b->cap;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  p = realloc(b->p, cap);
  if (p == NULL)
    return UV_ENOMEM;
  b->p = p;
  b->cap = cap;
  return 0;
}

int sbuf_put(struct sbuf *b, const void *data, size_t n) {
  int rc;

  if (n == 0)
    return 0;
  rc = sbuf_reserve(b, n);
  if (rc != 0)
    return rc;
  memcpy(b->p + b->len, data, n);
  b->len += n;
  return 0;
}

int sbuf_putc(struct sbuf *b, uint8_t c) {
  return sbuf_put(b, &c, 1);
}

uint8_t *sbuf_take(struct sbuf *b, size_t *len) {
  uint8_t *p;

  if (sbuf_reserve(b, 0) != 0) {
    sbuf_free(b);
    return NULL;
  }
  p = b->p;
  p[b->len] = '\0';
  *len = b->len;
  b->p = NULL;
  b->len = b->cap = 0;
  return p;
}

void sbuf_free(struct sbuf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}
