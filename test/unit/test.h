/*
 * test.h: assertions and the case list of the C unit tests.
 *
 * A test program lists its cases once, at the end of its file:
 *
 *   TEST_MAIN(TEST_CASE(known), TEST_CASE(rejects))
 *
 * Each case is a void function named test_<case> that sets up and tears
 * down what it uses, so it can run alone; it is known by <case>.  `test_x` runs every case in order; `test_x -t
 * NAME` runs one; `test_x -l` lists them.  test/meson.build reads the same
 * TEST_CASE() list from the source and registers every case as its own
 * meson test named PROGRAM.CASE, so `meson test -C build caddr.known` runs
 * exactly one.  A failed check prints where and what and aborts the
 * program (meson counts the case failed).
 */
#ifndef AS_TEST_H
#define AS_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ASSERT(expr)                                                        \
  do {                                                                      \
    if (!(expr)) {                                                          \
      fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__,  \
              #expr);                                                       \
      abort();                                                              \
    }                                                                       \
  } while (0)

#define ASSERT_EQ(a, b)                                                     \
  do {                                                                      \
    int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                           \
    if (a_ != b_) {                                                         \
      fprintf(stderr, "%s:%d: %s == %s failed: %" PRId64 " != %" PRId64 "\n", \
              __FILE__, __LINE__, #a, #b, a_, b_);                          \
      abort();                                                              \
    }                                                                       \
  } while (0)

#define ASSERT_STREQ(a, b)                                                  \
  do {                                                                      \
    const char *a_ = (a), *b_ = (b);                                        \
    if (strcmp(a_, b_) != 0) {                                              \
      fprintf(stderr, "%s:%d: %s == %s failed:\n  \"%s\"\n  \"%s\"\n",      \
              __FILE__, __LINE__, #a, #b, a_, b_);                          \
      abort();                                                              \
    }                                                                       \
  } while (0)

#define ASSERT_MEMEQ(a, b, n) ASSERT(memcmp((a), (b), (n)) == 0)

struct test_case {
  const char *name;
  void (*fn)(void);
};

#define TEST_CASE(fn) {#fn, fn}

/* Runs the cases argv selects (see above); the process exit status. */
int test_main(int argc, char **argv, const struct test_case *cases,
              size_t n);

#define TEST_MAIN(...)                                                      \
  static const struct test_case test_cases_[] = {__VA_ARGS__};             \
  int main(int argc, char **argv) {                                         \
    return test_main(argc, argv, test_cases_,                               \
                     sizeof test_cases_ / sizeof test_cases_[0]);          \
  }

#endif
