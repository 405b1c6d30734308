/*
 * test_ts.c: timestamps: RFC 3339 text with microseconds, UTC, at the
 * epoch, before it and far after it, parsed back, and the wall clock in
 * microseconds.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "store/codec/ts.h"
#include "test.h"

static void test_format(void) {
  char t[TS_STRLEN + 1];

  ts_format(0, t);
  ASSERT_STREQ(t, "1970-01-01T00:00:00.000000Z");
  ts_format(INT64_C(1795962293123456), t);
  ASSERT_STREQ(t, "2026-11-29T14:24:53.123456Z");
  ASSERT_EQ(strlen(t), TS_STRLEN);
}

/* Before the epoch the fraction still counts up within its second. */
static void test_format_negative(void) {
  char t[TS_STRLEN + 1];

  ts_format(-1, t);
  ASSERT_STREQ(t, "1969-12-31T23:59:59.999999Z");
  ts_format(-1000000, t);
  ASSERT_STREQ(t, "1969-12-31T23:59:59.000000Z");
}

/* Years RFC 3339 cannot write get a fixed placeholder, not garbage. */
static void test_format_out_of_range(void) {
  char t[TS_STRLEN + 1];

  ts_format(INT64_MAX, t);
  ASSERT_STREQ(t, "0000-00-00T00:00:00.000000Z");
  ts_format(TS_NONE, t);
  ASSERT_STREQ(t, "0000-00-00T00:00:00.000000Z");
}

static void test_now(void) {
  ASSERT(ts_now_us() > INT64_C(1700000000000000));
}

static int64_t parse(const char *s) {
  int64_t v = 0;

  ASSERT_EQ(ts_parse(s, strlen(s), &v), 0);
  return v;
}

/* RFC 3339 UTC in: what ts_format writes, fewer fractional digits, none;
 * every other form out. */
static void test_parse(void) {
  static const char *const bad[] = {
      "", "2026-11-29", "2026-11-29T14:24:53", "2026-11-29 14:24:53Z",
      "2026-11-29T14:24:53+00:00", "2026-11-29T14:24:53z",
      "2026-11-29T14:24:53.Z", "2026-11-29T14:24:53.1234567Z",
      "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-02-29T00:00:00Z",
      "2026-04-31T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z",
      "2026-01-01T00:00:60Z", "1969-12-31T23:59:59Z", "2026-1-01T00:00:00Z",
      "2026-01-01T00:00:00ZZ", "+026-01-01T00:00:00Z", "2026-01-01T00:00:00Z "};
  char t[TS_STRLEN + 1];
  int64_t v;

  ASSERT_EQ(parse("2026-11-29T14:24:53.123456Z"), INT64_C(1795962293123456));
  ASSERT_EQ(parse("2026-11-29T14:24:53.1Z"), INT64_C(1795962293100000));
  ASSERT_EQ(parse("2026-11-29T14:24:53Z"), INT64_C(1795962293000000));
  ASSERT_EQ(parse("1970-01-01T00:00:00Z"), 0);
  ASSERT_EQ(parse("2024-02-29T00:00:00Z"), INT64_C(1709164800000000));
  ASSERT_EQ(parse("2000-02-29T23:59:59.999999Z"), INT64_C(951868799999999));
  for (int64_t us = 0; us < INT64_C(8000000000000000);
       us += INT64_C(123456789012345)) {
    ts_format(us, t);
    ASSERT_EQ(parse(t), us);
  }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    v = 42;
    if (ts_parse(bad[i], strlen(bad[i]), &v) != UV_EINVAL)
      fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
    ASSERT_EQ(ts_parse(bad[i], strlen(bad[i]), &v), UV_EINVAL);
    ASSERT_EQ(v, 42);
  }
}

TEST_MAIN(TEST_CASE(test_format), TEST_CASE(test_format_negative),
          TEST_CASE(test_format_out_of_range), TEST_CASE(test_now),
          TEST_CASE(test_parse))
