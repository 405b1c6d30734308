/*
 * relpath.h: validation of client-supplied relative file paths.
 *
 * A valid path is UTF-8, '/'-separated, 1..RELPATH_MAX bytes, has no empty,
 * "." or ".." segment, no leading or trailing '/', no NUL, no backslash and
 * no ASCII control character.  Paths are validated once, at the edge; the
 * store never builds a filesystem path from them.
 */
#ifndef AS_RELPATH_H
#define AS_RELPATH_H

#include <stddef.h>

#include "util/common.h"

#define RELPATH_MAX 1024 /* bytes */

/* 0 or UV_EINVAL with the reason (e.g. `path segment ".." is not allowed`). */
int relpath_check(const char *p, size_t n, struct errbuf *e);

#endif
