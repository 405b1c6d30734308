/* ts.c: timestamps (RFC 3339, UTC, microseconds); see ts.h. */
#include "store/codec/ts.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <uv.h>

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

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t ts_days(int64_t y, int64_t m, int64_t d) {
  int64_t era, yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* n decimal digits at s into *v; false when one is not a digit. */
static bool ts_digits(const char *s, size_t n, int64_t *v) {
  *v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    *v = *v * 10 + (s[i] - '0');
  }
  return true;
}

int ts_parse(const char *s, size_t n, int64_t *out) {
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int64_t y, mo, d, h, mi, sec, frac = 0;
  size_t i = 19, nd;
  int dim;

  if (n < 20 || !ts_digits(s, 4, &y) || s[4] != '-' ||
      !ts_digits(s + 5, 2, &mo) || s[7] != '-' || !ts_digits(s + 8, 2, &d) ||
      s[10] != 'T' || !ts_digits(s + 11, 2, &h) || s[13] != ':' ||
      !ts_digits(s + 14, 2, &mi) || s[16] != ':' ||
      !ts_digits(s + 17, 2, &sec))
    return UV_EINVAL;
  if (s[i] == '.') {
    for (nd = 0, i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, nd++) {
      if (nd >= 6)
        return UV_EINVAL;
      frac = frac * 10 + (s[i] - '0');
    }
    if (nd == 0)
      return UV_EINVAL;
    for (; nd < 6; nd++)
      frac *= 10;
  }
  if (i + 1 != n || s[i] != 'Z')
    return UV_EINVAL;
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 ||
      y < 1970)
    return UV_EINVAL;
  dim = mdays[mo - 1] +
        (mo == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
  if (d > dim)
    return UV_EINVAL;
  *out = ((ts_days(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec;
  *out = *out * 1000000 + frac;
  return 0;
}
