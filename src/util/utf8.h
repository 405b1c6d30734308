/*
 * utf8.h: strict UTF-8 (RFC 3629) checking and decoding for the canonical
 * encoders: no overlong forms, no surrogates, nothing above U+10FFFF.
 */
#ifndef AS_UTF8_H
#define AS_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the sequence at s[0..n): its length (1..4) with *cp set, or 0
 * when it is not valid UTF-8 (or n is 0). */
size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);

/* Length of the longest valid UTF-8 prefix of s[0..n): n when all valid. */
size_t utf8_valid_prefix(const uint8_t *s, size_t n);

#endif
