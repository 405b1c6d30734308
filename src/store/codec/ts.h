/*
 * ts.h: timestamps: microseconds since the Unix epoch, UTC, and their
 * RFC 3339 text form with microseconds (2026-11-22T14:24:53.123456Z).
 */
#ifndef AS_TS_H
#define AS_TS_H

#include <stddef.h>
#include <stdint.h>

#define TS_STRLEN 27            /* 2026-11-22T14:24:53.123456Z */
#define TS_NONE INT64_MIN       /* timestamp not set (JSON null) */

/* Microseconds since the Unix epoch, UTC, from the wall clock. */
int64_t ts_now_us(void);
/* RFC 3339 UTC with microseconds; out holds TS_STRLEN + 1 bytes. */
void ts_format(int64_t us, char out[TS_STRLEN + 1]);

/* Parses RFC 3339 UTC text of exactly n bytes, YYYY-MM-DDTHH:MM:SS
 * with an optional fraction of 1 to 6 digits and the offset Z (no other
 * offset, no leap second, year 1970 or later), into microseconds:
 * 0 or UV_EINVAL. */
int ts_parse(const char *s, size_t n, int64_t *out);

#endif
