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

/* The value of a hex digit (0-9, a-f, A-F), or -1. */
int hex_val(char c);
/* The value of a lowercase hex digit (0-9, a-f), or -1: for formats that
 * allow only one spelling. */
int hex_val_lower(char c);
/* Lowercase hex of n bytes into out: 2n characters and a NUL. */
void hex_encode(const uint8_t *d, size_t n, char *out);

#endif
