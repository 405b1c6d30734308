/*
 * test_hex.c: hexadecimal digits (util/hex.h): both parsers over all 256
 * byte values, and the encoder's exact output and bounds.
 */
#include "util/hex.h"
#include "test.h"

static void test_digits(void) {
  ASSERT_MEMEQ(hex_digits, "0123456789abcdef", 16);
}

/* 0-9, a-f and A-F have their values; every other byte is -1. */
static void test_val(void) {
  for (int b = 0; b < 256; b++) {
    char c = (char)b;
    int want = -1;

    if (b >= '0' && b <= '9')
      want = b - '0';
    else if (b >= 'a' && b <= 'f')
      want = b - 'a' + 10;
    else if (b >= 'A' && b <= 'F')
      want = b - 'A' + 10;
    ASSERT_EQ(hex_val(c), want);
  }
}

/* Only 0-9 and a-f: uppercase is refused like any other byte. */
static void test_val_lower(void) {
  for (int b = 0; b < 256; b++) {
    char c = (char)b;
    int want = -1;

    if (b >= '0' && b <= '9')
      want = b - '0';
    else if (b >= 'a' && b <= 'f')
      want = b - 'a' + 10;
    ASSERT_EQ(hex_val_lower(c), want);
  }
  ASSERT_EQ(hex_val_lower('A'), -1);
  ASSERT_EQ(hex_val_lower('F'), -1);
  ASSERT_EQ(hex_val_lower('g'), -1);
  ASSERT_EQ(hex_val_lower('\0'), -1);
}

/* Lowercase, two digits per byte, a NUL after them and nothing beyond. */
static void test_encode(void) {
  static const uint8_t d[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
  uint8_t all[256];
  char out[2 * sizeof d + 2];
  char big[2 * sizeof all + 1];

  memset(out, 'Z', sizeof out);
  hex_encode(d, sizeof d, out);
  ASSERT_STREQ(out, "00017f80abff");
  ASSERT_EQ(out[2 * sizeof d + 1], 'Z'); /* the byte after the NUL */

  memset(out, 'Z', sizeof out);
  hex_encode(d, 0, out);
  ASSERT_STREQ(out, "");
  ASSERT_EQ(out[1], 'Z');

  /* Every byte value, and back through hex_val_lower. */
  for (int i = 0; i < 256; i++)
    all[i] = (uint8_t)i;
  hex_encode(all, sizeof all, big);
  ASSERT_EQ(strlen(big), 2 * sizeof all);
  for (size_t i = 0; i < sizeof all; i++) {
    int hi = hex_val_lower(big[2 * i]), lo = hex_val_lower(big[2 * i + 1]);

    ASSERT(hi >= 0 && lo >= 0);
    ASSERT_EQ(hi * 16 + lo, all[i]);
  }
}

TEST_MAIN(TEST_CASE(test_digits), TEST_CASE(test_val),
          TEST_CASE(test_val_lower), TEST_CASE(test_encode))
