/*
 * sbuf.h: a growable byte buffer for the encoders (canonical CBOR, JCS).
 * One owner: whoever holds the struct frees it with sbuf_free() or takes
 * the bytes with sbuf_take().  Growth is overflow-checked.
 */
#ifndef AS_SBUF_H
#define AS_SBUF_H

#include <stddef.h>
#include <stdint.h>

struct sbuf {
  uint8_t *p;
  size_t len;
  size_t cap;
};

#define SBUF_INIT {NULL, 0, 0}

/* 0 or UV_ENOMEM. */
int sbuf_put(struct sbuf *b, const void *data, size_t n);
int sbuf_putc(struct sbuf *b, uint8_t c);

/* Hands the bytes (NUL-terminated, *len excludes the NUL) to the caller and
 * resets b.  NULL on ENOMEM (b is then freed). */
uint8_t *sbuf_take(struct sbuf *b, size_t *len);

void sbuf_free(struct sbuf *b);

#endif
