/* ts.c: timestamps (RFC 3339, UTC, microseconds); see ts.h. */
#include "store/codec/ts.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t ts_now_us(void) {
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void ts_format(int64_t us, char out[TS_STRLEN + 1]) {
  int64_t sec = us / 1000000, frac = us % 1000000;
  struct tm tm;
  time_t t;

  if (frac < 0) {
    frac += 1000000;
    sec -= 1;
  }
  t = (time_t)sec;
  if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 ||
      tm.tm_year + 1900 > 9999) {
    memcpy(out, "0000-00-00T00:00:00.000000Z", TS_STRLEN + 1);
    return;
  }
  snprintf(out, TS_STRLEN + 1, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, (int)frac);
}
