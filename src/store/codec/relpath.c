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

#include "util/utf8.h"

#define ASCII_DEL 0x7f

/* What each fault of the shared decoder means in a path. */
static const char *const relpath_utf8_why[] = {
    [UTF8_OK] = "",
    [UTF8_CONTINUATION] = "unexpected continuation byte",
    [UTF8_OVERLONG] = "overlong encoding",
    [UTF8_SURROGATE] = "UTF-16 surrogate (U+D800..U+DFFF)",
    [UTF8_TOO_BIG] = "code point above U+10FFFF",
    [UTF8_BAD_BYTE] = NULL, /* names the byte: see below */
    [UTF8_CUT_OFF] = "sequence cut off by the end of the path",
    [UTF8_INCOMPLETE] = "incomplete multi-byte sequence",
};

/* Length of a well-formed UTF-8 sequence at p[0..n), or 0 with a reason. */
static size_t relpath_utf8(const uint8_t *p, size_t n, size_t at,
                           struct errbuf *e) {
  enum utf8_fault why;
  uint32_t cp;
  size_t len = utf8_decode_why(p, n, &cp, &why);

  if (len != 0)
    return len;
  if (why == UTF8_BAD_BYTE)
    err_set(e, UV_EINVAL,
            "path is not valid UTF-8: byte 0x%02x at byte %zu never occurs "
            "in UTF-8",
            p[0], at);
  else if (why == UTF8_CUT_OFF)
    err_set(e, UV_EINVAL,
            "path is not valid UTF-8: sequence at byte %zu is cut off by the "
            "end of the path",
            at);
  else
    err_set(e, UV_EINVAL, "path is not valid UTF-8: %s at byte %zu",
            relpath_utf8_why[why], at);
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
    len = relpath_utf8(p + i, n - i, i, e);
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
