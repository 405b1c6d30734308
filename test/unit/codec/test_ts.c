/*
 * test_ts.c: timestamps: RFC 3339 text with microseconds, UTC, at the
 * epoch, before it and far after it, and the wall clock in microseconds.
 */
#include <stdint.h>

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

TEST_MAIN(TEST_CASE(test_format), TEST_CASE(test_format_negative),
          TEST_CASE(test_format_out_of_range), TEST_CASE(test_now))
