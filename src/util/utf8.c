/* utf8.c: strict UTF-8 checking and decoding (see utf8.h). */
#include "util/utf8.h"

static size_t utf8_fail(enum utf8_fault *why, enum utf8_fault f) {
  if (why != NULL)
    *why = f;
  return 0;
}

size_t utf8_decode_why(const uint8_t *s, size_t n, uint32_t *cp,
                       enum utf8_fault *why) {
  uint8_t b = s[0];
  uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
  uint32_t c;
  size_t len;

  if (b < 0x80) {
    *cp = b;
    return 1;
  }
  if (b < 0xc0)
    return utf8_fail(why, UTF8_CONTINUATION);
  if (b < 0xc2)
    return utf8_fail(why, UTF8_OVERLONG);
  if (b < 0xe0) {
    len = 2;
    c = b & 0x1f;
  } else if (b < 0xf0) {
    len = 3;
    c = b & 0x0f;
    if (b == 0xe0)
      lo = 0xa0; /* below: overlong */
    else if (b == 0xed)
      hi = 0x9f; /* above: U+D800..U+DFFF */
  } else if (b < 0xf5) {
    len = 4;
    c = b & 0x07;
    if (b == 0xf0)
      lo = 0x90; /* below: overlong */
    else if (b == 0xf4)
      hi = 0x8f; /* above: beyond U+10FFFF */
  } else if (b < 0xf8) {
    return utf8_fail(why, UTF8_TOO_BIG);
  } else {
    return utf8_fail(why, UTF8_BAD_BYTE);
  }
  for (size_t k = 1; k < len; k++) {
    if (k == n)
      return utf8_fail(why, UTF8_CUT_OFF);
    if ((s[k] & 0xc0) != 0x80)
      return utf8_fail(why, UTF8_INCOMPLETE);
  }
  if (s[1] < lo)
    return utf8_fail(why, UTF8_OVERLONG);
  if (s[1] > hi)
    return utf8_fail(why, b == 0xed ? UTF8_SURROGATE : UTF8_TOO_BIG);
  for (size_t k = 1; k < len; k++)
    c = (c << 6) | (s[k] & 0x3f);
  *cp = c;
  if (why != NULL)
    *why = UTF8_OK;
  return len;
}

size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp) {
  return n == 0 ? 0 : utf8_decode_why(s, n, cp, NULL);
}

size_t utf8_valid_prefix(const uint8_t *s, size_t n) {
  size_t pos = 0, k;
  uint32_t cp;

  while (pos < n) {
    if (s[pos] < 0x80) { /* ASCII fast path */
      pos++;
      continue;
    }
    k = utf8_decode_why(s + pos, n - pos, &cp, NULL);
    if (k == 0)
      break;
    pos += k;
  }
  return pos;
}
