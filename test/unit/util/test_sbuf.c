/*
 * test_sbuf.c: the growable byte buffer (util/sbuf.h): growth keeps every
 * byte, sizes that would overflow are refused with UV_ENOMEM before
 * anything is written, and sbuf_take hands over a NUL-terminated copy.
 */
#include <stdint.h>

#include "util/common.h"
#include "util/sbuf.h"
#include "test.h"

/* The sanitizer build aborts on an impossible allocation unless told that
 * malloc may return NULL; sbuf must see that NULL to report UV_ENOMEM.
 * (The ASAN_OPTIONS of tools/test.sh are applied on top of this.) */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#endif
#ifdef TEST_ASAN
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "allocator_may_return_null=1";
}
#endif

/* b holds exactly the bytes 0, 1, 2, ... (mod 251), len of them. */
static void expect_pattern(const struct sbuf *b, size_t len) {
  ASSERT_EQ(b->len, len);
  ASSERT(len == 0 || b->cap > b->len); /* room for sbuf_take's NUL */
  for (size_t i = 0; i < len; i++)
    ASSERT_EQ(b->p[i], i % 251);
}

/* Pieces of every size up to 300 bytes, across many reallocations. */
static void test_put(void) {
  struct sbuf b = SBUF_INIT;
  uint8_t piece[300];
  size_t total = 0;

  for (size_t n = 0; n <= sizeof piece; n++) {
    for (size_t i = 0; i < n; i++)
      piece[i] = (uint8_t)((total + i) % 251);
    ASSERT_EQ(sbuf_put(&b, piece, n), 0);
    total += n;
    expect_pattern(&b, total);
  }
  sbuf_free(&b);
}

/* A zero-length put neither allocates nor reads data (which may be NULL). */
static void test_put_empty(void) {
  struct sbuf b = SBUF_INIT;

  ASSERT_EQ(sbuf_put(&b, NULL, 0), 0);
  ASSERT(b.p == NULL);
  ASSERT_EQ(b.len, 0);
  ASSERT_EQ(b.cap, 0);
  ASSERT_EQ(sbuf_put(&b, "ab", 2), 0);
  ASSERT_EQ(sbuf_put(&b, NULL, 0), 0);
  ASSERT_EQ(b.len, 2);
  sbuf_free(&b);
}

/* Sizes near SIZE_MAX: refused with UV_ENOMEM, and the buffer (pointer,
 * length, capacity and bytes) is left exactly as it was. */
static void test_put_overflow(void) {
  static const char junk[1];
  struct sbuf b = SBUF_INIT;
  uint8_t *p;
  size_t len, cap;
  size_t huge[3];

  ASSERT_EQ(sbuf_put(&b, "0123456789", 10), 0);
  p = b.p;
  len = b.len;
  cap = b.cap;
  /* len + n + 1 (the bytes and sbuf_take's NUL) exceeds SIZE_MAX for
   * each of these; SIZE_MAX - len is the smallest such n. */
  huge[0] = SIZE_MAX;
  huge[1] = SIZE_MAX - 1;
  huge[2] = SIZE_MAX - len;
  for (size_t i = 0; i < ARRAY_SIZE(huge); i++) {
    ASSERT_EQ(sbuf_put(&b, junk, huge[i]), UV_ENOMEM);
    ASSERT(b.p == p);
    ASSERT_EQ(b.len, len);
    ASSERT_EQ(b.cap, cap);
    ASSERT_MEMEQ(b.p, "0123456789", 10);
  }
  /* Just inside the check: the allocation itself fails, and the buffer
   * still holds what it held. */
  ASSERT_EQ(sbuf_put(&b, junk, SIZE_MAX - len - 1), UV_ENOMEM);
  ASSERT(b.p == p);
  ASSERT_EQ(b.len, len);
  ASSERT_EQ(b.cap, cap);
  ASSERT_MEMEQ(b.p, "0123456789", 10);
  /* The buffer is still usable. */
  ASSERT_EQ(sbuf_putc(&b, 'x'), 0);
  ASSERT_EQ(b.len, 11);
  ASSERT_EQ(b.p[10], 'x');
  sbuf_free(&b);

  /* An empty buffer refuses the same sizes without allocating. */
  ASSERT_EQ(sbuf_put(&b, junk, SIZE_MAX), UV_ENOMEM);
  ASSERT(b.p == NULL);
  ASSERT_EQ(b.len, 0);
  ASSERT_EQ(b.cap, 0);
}

static void test_putc(void) {
  struct sbuf b = SBUF_INIT;

  for (int i = 0; i < 1000; i++)
    ASSERT_EQ(sbuf_putc(&b, (uint8_t)(i % 251)), 0);
  expect_pattern(&b, 1000);
  ASSERT_EQ(sbuf_putc(&b, 0), 0); /* a NUL byte is just a byte */
  ASSERT_EQ(b.len, 1001);
  ASSERT_EQ(b.p[1000], 0);
  sbuf_free(&b);
}

/* take hands over the bytes with a NUL after them and resets b. */
static void test_take(void) {
  struct sbuf b = SBUF_INIT;
  uint8_t *p;
  size_t len = 99;

  ASSERT_EQ(sbuf_put(&b, "hello", 5), 0);
  p = sbuf_take(&b, &len);
  ASSERT(p != NULL);
  ASSERT_EQ(len, 5);
  ASSERT_STREQ((const char *)p, "hello");
  ASSERT(b.p == NULL);
  ASSERT_EQ(b.len, 0);
  ASSERT_EQ(b.cap, 0);
  free(p);

  /* b is reusable after take. */
  ASSERT_EQ(sbuf_put(&b, "again", 5), 0);
  p = sbuf_take(&b, &len);
  ASSERT(p != NULL);
  ASSERT_EQ(len, 5);
  ASSERT_STREQ((const char *)p, "again");
  free(p);

  /* take of an empty buffer is an empty string the caller frees. */
  len = 99;
  p = sbuf_take(&b, &len);
  ASSERT(p != NULL);
  ASSERT_EQ(len, 0);
  ASSERT_EQ(p[0], '\0');
  free(p);
}

/* take of a buffer filled exactly to capacity still finds room for NUL. */
static void test_take_full(void) {
  struct sbuf b = SBUF_INIT;
  uint8_t *p;
  size_t len;

  ASSERT_EQ(sbuf_put(&b, "x", 1), 0);
  while (b.len + 1 < b.cap)
    ASSERT_EQ(sbuf_putc(&b, 'x'), 0);
  ASSERT_EQ(b.len + 1, b.cap);
  p = sbuf_take(&b, &len);
  ASSERT(p != NULL);
  ASSERT_EQ(len, strlen((const char *)p));
  free(p);
}

/* free releases and resets; freeing twice, or an empty buffer, is fine. */
static void test_free(void) {
  struct sbuf b = SBUF_INIT;

  sbuf_free(&b);
  ASSERT_EQ(sbuf_put(&b, "abc", 3), 0);
  sbuf_free(&b);
  ASSERT(b.p == NULL);
  ASSERT_EQ(b.len, 0);
  ASSERT_EQ(b.cap, 0);
  sbuf_free(&b);
}

TEST_MAIN(TEST_CASE(test_put), TEST_CASE(test_put_empty),
          TEST_CASE(test_put_overflow), TEST_CASE(test_putc),
          TEST_CASE(test_take), TEST_CASE(test_take_full),
          TEST_CASE(test_free))
