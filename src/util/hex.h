/*
 * hex.h: hexadecimal digits, defined once for every parser and formatter
 * (content addresses, UUIDs, percent-decoding, JSON escapes).
 */
#ifndef AS_HEX_H
#define AS_HEX_H

#include <stddef.h>
#include <stdint.h>

/* "0123456789abcdef": the digit of a nibble, lowercase. */
extern const char hex_digits[16];

/* The value of a lowercase hex digit (0-9, a-f), or -1: for formats that
 * allow only one spelling.  Inline: parsers call it per character. */
static inline int hex_val_lower(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* The value of a hex digit (0-9, a-f, A-F), or -1. */
static inline int hex_val(char c) {
  int v = hex_val_lower(c);

  if (v < 0 && c >= 'A' && c <= 'F')
    v = c - 'A' + 10;
  return v;
}
/* Lowercase hex of n bytes into out: 2n characters and a NUL. */
void hex_encode(const uint8_t *d, size_t n, char *out);

#endif
