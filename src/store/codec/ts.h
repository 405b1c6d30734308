/*
 * ts.h: timestamps: microseconds since the Unix epoch, UTC, and their
 * RFC 3339 text form with microseconds (2026-11-22T14:24:53.123456Z).
 */
#ifndef AS_TS_H
#define AS_TS_H

#include <stdint.h>

#define TS_STRLEN 27            /* 2026-11-22T14:24:53.123456Z */
#define TS_NONE INT64_MIN       /* timestamp not set (JSON null) */

/* Microseconds since the Unix epoch, UTC, from the wall clock. */
int64_t ts_now_us(void);
/* RFC 3339 UTC with microseconds; out holds TS_STRLEN + 1 bytes. */
void ts_format(int64_t us, char out[TS_STRLEN + 1]);

#endif
