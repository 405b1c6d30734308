/*
 * test.h: minimal assertions for the C unit tests.  A failed check prints
 * where and what and aborts the test program (meson counts it failed).
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

#endif
