/*
 * model.c: UUIDs (RFC 9562) and timestamps (RFC 3339, UTC, microseconds).
 * Random bits come from libsodium's randombytes_buf (sodium_init is called
 * by writer_open/main before any id is made; randombytes_buf is safe
 * without it on Linux).
 */
#include "store/model.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <uv.h>

static int model_hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int uuid_parse(const char *s, size_t n, struct uuid *out) {
  size_t j = 0;

  if (n != UUID_STRLEN)
    return UV_EINVAL;
  for (size_t i = 0; i < n;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-')
        return UV_EINVAL;
      i++;
      continue;
    }
    int hi = model_hexval(s[i]), lo = model_hexval(s[i + 1]);
    if (hi < 0 || lo < 0)
      return UV_EINVAL;
    out->b[j++] = (uint8_t)(hi << 4 | lo);
    i += 2;
  }
  return 0;
}

void uuid_format(const struct uuid *u, char out[UUID_STRLEN + 1]) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;

  for (size_t i = 0; i < UUID_LEN; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out[o++] = '-';
    out[o++] = hex[u->b[i] >> 4];
    out[o++] = hex[u->b[i] & 0xf];
  }
  out[o] = '\0';
}

void uuid_v7(uint64_t unix_ms, struct uuid *out) {
  randombytes_buf(out->b, sizeof out->b);
  for (int i = 0; i < 6; i++)
    out->b[i] = (uint8_t)(unix_ms >> (8 * (5 - i)));
  out->b[6] = (uint8_t)(0x70 | (out->b[6] & 0x0f)); /* version 7 */
  out->b[8] = (uint8_t)(0x80 | (out->b[8] & 0x3f)); /* variant 10 */
}

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
