/*
 * relpath.c: validation of client-supplied relative file paths (see
 * relpath.h).
 *
 * A path arrives from the network (the tail of a PUT URL) and ends up as a
 * file's name inside a package and in its manifest.  It must never be able
 * to name anything outside the package, and it must mean the same thing to
 * every consumer that later unpacks it, so the rules are strict and each
 * rejection says which rule was broken.  Checks run in a fixed order so the
 * reason is deterministic: size, then each byte left to right (NUL,
 * backslash, control characters, UTF-8 well-formedness per RFC 3629), then
 * the segment structure.  Messages name byte offsets, never echo the path.
 */
#include "store/codec/relpath.h"

#include <stdint.h>

#define ASCII_DEL 0x7f

/* Length of a well-formed UTF-8 sequence at p[0..n), or 0 with a reason. */
static size_t utf8_seq(const uint8_t *p, size_t n, size_t at,
                       struct errbuf *e) {
  uint8_t b = p[0];
  size_t len;
  uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

  if (b < 0x80)
    return 1;
  if (b < 0xc0) {
    err_set(e, UV_EINVAL,
            "path is not valid UTF-8: unexpected continuation byte at byte %zu",
            at);
    return 0;
  }
  if (b < 0xc2) {
    err_set(e, UV_EINVAL,
            "path is not valid UTF-8: overlong encoding at byte %zu", at);
    return 0;
  }
  if (b < 0xe0) {
    len = 2;
  } else if (b < 0xf0) {
    len = 3;
    if (b == 0xe0)
      lo = 0xa0; /* below: overlong */
    else if (b == 0xed)
      hi = 0x9f; /* above: U+D800..U+DFFF */
  } else if (b < 0xf5) {
    len = 4;
    if (b == 0xf0)
      lo = 0x90; /* below: overlong */
    else if (b == 0xf4)
      hi = 0x8f; /* above: beyond U+10FFFF */
  } else if (b < 0xf8) {
    err_set(e, UV_EINVAL,
            "path is not valid UTF-8: code point above U+10FFFF at byte %zu",
            at);
    return 0;
  } else {
    err_set(e, UV_EINVAL,
            "path is not valid UTF-8: byte 0x%02x at byte %zu never occurs "
            "in UTF-8", b, at);
    return 0;
  }

  if (n < len) {
    for (size_t k = 1; k < n; k++)
      if ((p[k] & 0xc0) != 0x80)
        goto truncated;
    err_set(e, UV_EINVAL,
            "path is not valid UTF-8: sequence at byte %zu is cut off by the "
            "end of the path", at);
    return 0;
  }
  for (size_t k = 1; k < len; k++)
    if ((p[k] & 0xc0) != 0x80)
      goto truncated;
  if (p[1] < lo) {
    err_set(e, UV_EINVAL,
            "path is not valid UTF-8: overlong encoding at byte %zu", at);
    return 0;
  }
  if (p[1] > hi) {
    if (b == 0xed)
      err_set(e, UV_EINVAL,
              "path is not valid UTF-8: UTF-16 surrogate (U+D800..U+DFFF) "
              "at byte %zu", at);
    else
      err_set(e, UV_EINVAL,
              "path is not valid UTF-8: code point above U+10FFFF at byte %zu",
              at);
    return 0;
  }
  return len;

truncated:
  err_set(e, UV_EINVAL,
          "path is not valid UTF-8: incomplete multi-byte sequence at byte %zu",
          at);
  return 0;
}

static int relpath_check_bytes(const uint8_t *p, size_t n, struct errbuf *e) {
  size_t i = 0;

  while (i < n) {
    uint8_t b = p[i];
    size_t len;

    if (b == '\0')
      return err_set(e, UV_EINVAL, "path contains a NUL byte at byte %zu", i);
    if (b == '\\')
      return err_set(e, UV_EINVAL,
                     "path contains a backslash at byte %zu; separate "
                     "segments with '/'", i);
    if (b < 0x20 || b == ASCII_DEL)
      return err_set(e, UV_EINVAL,
                     "path contains control character 0x%02x at byte %zu", b,
                     i);
    len = utf8_seq(p + i, n - i, i, e);
    if (len == 0)
      return UV_EINVAL;
    i += len;
  }
  return 0;
}

static int relpath_check_segments(const char *p, size_t n, struct errbuf *e) {
  size_t start = 0;

  if (p[0] == '/')
    return err_set(e, UV_EINVAL,
                   "path must be relative: it must not start with '/'");
  if (p[n - 1] == '/')
    return err_set(e, UV_EINVAL,
                   "path must name a file: it must not end with '/'");
  for (size_t i = 0; i <= n; i++) {
    size_t len;

    if (i < n && p[i] != '/')
      continue;
    len = i - start;
    if (len == 0)
      return err_set(e, UV_EINVAL,
                     "path has an empty segment (\"//\") at byte %zu", start);
    if (len == 1 && p[start] == '.')
      return err_set(e, UV_EINVAL, "path segment \".\" is not allowed");
    if (len == 2 && p[start] == '.' && p[start + 1] == '.')
      return err_set(e, UV_EINVAL, "path segment \"..\" is not allowed");
    start = i + 1;
  }
  return 0;
}

int relpath_check(const char *p, size_t n, struct errbuf *e) {
  int rc;

  if (n == 0)
    return err_set(e, UV_EINVAL, "path is empty: name the file");
  if (n > RELPATH_MAX)
    return err_set(e, UV_EINVAL,
                   "path is %zu bytes long; at most %d bytes are allowed", n,
                   RELPATH_MAX);
  rc = relpath_check_bytes((const uint8_t *)p, n, e);
  if (rc != 0)
    return rc;
  return relpath_check_segments(p, n, e);
}
