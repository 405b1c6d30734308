/*
 * utf8.h: strict UTF-8 (RFC 3629) checking and decoding for the canonical
 * encoders and the validators: no overlong forms, no surrogates, nothing
 * above U+10FFFF.  One decoder; callers that explain a rejection to a user
 * ask it why (enum utf8_fault).
 */
#ifndef AS_UTF8_H
#define AS_UTF8_H

#include <stddef.h>
#include <stdint.h>

enum utf8_fault {
  UTF8_OK = 0,
  UTF8_CONTINUATION, /* a continuation byte where a sequence must start */
  UTF8_OVERLONG,     /* a longer encoding than the code point needs */
  UTF8_SURROGATE,    /* U+D800..U+DFFF */
  UTF8_TOO_BIG,      /* above U+10FFFF */
  UTF8_BAD_BYTE,     /* 0xf8..0xff: never in UTF-8 */
  UTF8_CUT_OFF,      /* the input ends inside the sequence */
  UTF8_INCOMPLETE,   /* a continuation byte is missing */
};

/* Decodes the sequence at s[0..n) (n > 0): its length (1..4) with *cp
 * set, or 0 with *why (may be NULL) saying what is wrong. */
size_t utf8_decode_why(const uint8_t *s, size_t n, uint32_t *cp,
                       enum utf8_fault *why);

/* utf8_decode_why without the reason; 0 also when n is 0. */
size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);

/* Length of the longest valid UTF-8 prefix of s[0..n): n when all valid. */
size_t utf8_valid_prefix(const uint8_t *s, size_t n);

#endif
