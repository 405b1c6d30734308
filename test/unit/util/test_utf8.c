/*
 * test_utf8.c: strict UTF-8 (util/utf8.h) against RFC 3629: the first and
 * last code point of each sequence length, every class of ill-formed
 * input, every 1- to 3-byte sequence against the RFC's ABNF table, every
 * scalar value through an independent encoder, and the valid prefix.
 */
#include "util/common.h"
#include "util/utf8.h"
#include "test.h"

#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1

/* Decodes s[0..n) and expects exactly len bytes and code point cp. */
static void expect_cp(const uint8_t *s, size_t n, uint32_t cp) {
  uint32_t got = 0xffffffffu;

  ASSERT_EQ(utf8_decode(s, n, &got), n);
  ASSERT_EQ(got, cp);
}

static void expect_bad(const uint8_t *s, size_t n) {
  uint32_t got;

  ASSERT_EQ(utf8_decode(s, n, &got), 0);
}

/* RFC 3629 section 4, the well-formed sequences: 1 when s[0..n) is
 * exactly one of them.  Written from the table, not from the decoder. */
static int rfc3629_ok(const uint8_t *s, size_t n) {
  static const struct {
    uint8_t lo0, hi0, lo1, hi1; /* lead byte and second byte ranges */
    size_t len;
  } rows[] = {
      {0x00, 0x7f, 0, 0, 1},       {0xc2, 0xdf, 0x80, 0xbf, 2},
      {0xe0, 0xe0, 0xa0, 0xbf, 3}, {0xe1, 0xec, 0x80, 0xbf, 3},
      {0xed, 0xed, 0x80, 0x9f, 3}, {0xee, 0xef, 0x80, 0xbf, 3},
      {0xf0, 0xf0, 0x90, 0xbf, 4}, {0xf1, 0xf3, 0x80, 0xbf, 4},
      {0xf4, 0xf4, 0x80, 0x8f, 4},
  };

  for (size_t r = 0; r < ARRAY_SIZE(rows); r++) {
    if (s[0] < rows[r].lo0 || s[0] > rows[r].hi0)
      continue;
    if (n != rows[r].len)
      return 0;
    if (n >= 2 && (s[1] < rows[r].lo1 || s[1] > rows[r].hi1))
      return 0;
    for (size_t i = 2; i < n; i++)
      if (s[i] < 0x80 || s[i] > 0xbf)
        return 0;
    return 1;
  }
  return 0;
}

/* Every one-byte character is itself. */
static void test_decode_ascii(void) {
  for (unsigned c = 0; c < 0x80; c++) {
    uint8_t b = (uint8_t)c;
    expect_cp(&b, 1, c);
  }
}

/* The first and last code point of each length, and the neighbours of
 * the surrogate block. */
static void test_decode_boundaries(void) {
  expect_cp(LIT("\x7f"), 0x7f);
  expect_cp(LIT("\xc2\x80"), 0x80);
  expect_cp(LIT("\xdf\xbf"), 0x7ff);
  expect_cp(LIT("\xe0\xa0\x80"), 0x800);
  expect_cp(LIT("\xed\x9f\xbf"), 0xd7ff);
  expect_cp(LIT("\xee\x80\x80"), 0xe000);
  expect_cp(LIT("\xef\xbf\xbf"), 0xffff);
  expect_cp(LIT("\xf0\x90\x80\x80"), 0x10000);
  expect_cp(LIT("\xf4\x8f\xbf\xbf"), 0x10ffff);
  expect_cp(LIT("\xe2\x82\xac"), 0x20ac);     /* EURO SIGN */
  expect_cp(LIT("\xf0\x9f\x98\x80"), 0x1f600); /* an emoji */
}

/* Each way a sequence can be ill-formed. */
static void test_decode_rejects(void) {
  /* continuation bytes without a lead */
  expect_bad(LIT("\x80"));
  expect_bad(LIT("\xbf"));
  /* overlong forms: lead bytes c0 and c1, and too-small 3/4-byte forms */
  expect_bad(LIT("\xc0\x80"));
  expect_bad(LIT("\xc0\xaf"));
  expect_bad(LIT("\xc1\xbf"));
  expect_bad(LIT("\xe0\x80\x80"));
  expect_bad(LIT("\xe0\x9f\xbf"));
  expect_bad(LIT("\xf0\x80\x80\x80"));
  expect_bad(LIT("\xf0\x8f\xbf\xbf"));
  /* UTF-16 surrogates U+D800..U+DFFF */
  expect_bad(LIT("\xed\xa0\x80"));
  expect_bad(LIT("\xed\xaf\xbf"));
  expect_bad(LIT("\xed\xb0\x80"));
  expect_bad(LIT("\xed\xbf\xbf"));
  /* above U+10FFFF, and lead bytes that never occur */
  expect_bad(LIT("\xf4\x90\x80\x80"));
  expect_bad(LIT("\xf5\x80\x80\x80"));
  expect_bad(LIT("\xf7\xbf\xbf\xbf"));
  expect_bad(LIT("\xf8\x88\x80\x80\x80"));
  expect_bad(LIT("\xfc\x84\x80\x80\x80\x80"));
  expect_bad(LIT("\xfe"));
  expect_bad(LIT("\xff"));
  /* a continuation byte that is not one */
  expect_bad(LIT("\xc3\x28"));
  expect_bad(LIT("\xc3\xc3"));
  expect_bad(LIT("\xe2\x28\xa1"));
  expect_bad(LIT("\xe2\x82\x28"));
  expect_bad(LIT("\xf0\x28\x8c\xbc"));
  expect_bad(LIT("\xf0\x90\x28\xbc"));
  expect_bad(LIT("\xf0\x90\x8c\x28"));
}

/* Only n bytes are read: a sequence cut by n is refused, and n == 0 is
 * nothing at all. */
static void test_decode_reads_n(void) {
  static const uint8_t euro[] = {0xe2, 0x82, 0xac};
  static const uint8_t emoji[] = {0xf0, 0x9f, 0x98, 0x80};
  uint32_t cp;

  ASSERT_EQ(utf8_decode(euro, 0, &cp), 0);
  ASSERT_EQ(utf8_decode(euro, 1, &cp), 0);
  ASSERT_EQ(utf8_decode(euro, 2, &cp), 0);
  ASSERT_EQ(utf8_decode(euro, 3, &cp), 3);
  for (size_t n = 1; n < sizeof emoji; n++)
    ASSERT_EQ(utf8_decode(emoji, n, &cp), 0);
  ASSERT_EQ(utf8_decode(emoji, 4, &cp), 4);
  ASSERT_EQ(cp, 0x1f600);
  /* More bytes than the sequence: only the first character is decoded. */
  ASSERT_EQ(utf8_decode((const uint8_t *)"\xc3\xa9z", 3, &cp), 2);
  ASSERT_EQ(cp, 0xe9);
  ASSERT_EQ(utf8_decode((const uint8_t *)"", 0, &cp), 0);
}

/* Every sequence of 1 to 3 bytes, and every 4-byte lead and second byte
 * (with a few third and fourth bytes), agrees with the RFC's table. */
static void test_decode_table(void) {
  static const uint8_t tails[] = {0x00, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0,
                                  0xff};
  uint8_t s[4];
  uint32_t cp;

  for (unsigned a = 0; a < 256; a++) {
    s[0] = (uint8_t)a;
    ASSERT_EQ(utf8_decode(s, 1, &cp) == 1, rfc3629_ok(s, 1));
    for (unsigned b = 0; b < 256; b++) {
      s[1] = (uint8_t)b;
      /* a 1-byte character followed by anything is that character */
      if (a < 0x80) {
        ASSERT_EQ(utf8_decode(s, 2, &cp), 1);
        continue;
      }
      ASSERT_EQ(utf8_decode(s, 2, &cp) == 2, rfc3629_ok(s, 2));
      for (unsigned c = 0; c < 256; c++) {
        s[2] = (uint8_t)c;
        ASSERT_EQ(utf8_decode(s, 3, &cp) == 3, rfc3629_ok(s, 3));
        if (a < 0xf0)
          continue;
        for (size_t t = 0; t < ARRAY_SIZE(tails); t++) {
          s[3] = tails[t];
          ASSERT_EQ(utf8_decode(s, 4, &cp) == 4, rfc3629_ok(s, 4));
        }
      }
    }
  }
}

/* Every Unicode scalar value, encoded here by the textbook rules, decodes
 * to itself with the right length. */
static void test_round_trip(void) {
  for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
    uint8_t s[4];
    size_t n;
    uint32_t got;

    if (cp >= 0xd800 && cp <= 0xdfff)
      continue;
    if (cp < 0x80) {
      s[0] = (uint8_t)cp;
      n = 1;
    } else if (cp < 0x800) {
      s[0] = (uint8_t)(0xc0 | cp >> 6);
      s[1] = (uint8_t)(0x80 | (cp & 0x3f));
      n = 2;
    } else if (cp < 0x10000) {
      s[0] = (uint8_t)(0xe0 | cp >> 12);
      s[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
      s[2] = (uint8_t)(0x80 | (cp & 0x3f));
      n = 3;
    } else {
      s[0] = (uint8_t)(0xf0 | cp >> 18);
      s[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
      s[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
      s[3] = (uint8_t)(0x80 | (cp & 0x3f));
      n = 4;
    }
    ASSERT_EQ(utf8_decode(s, n, &got), n);
    ASSERT_EQ(got, cp);
    ASSERT_EQ(utf8_valid_prefix(s, n), n);
  }
}

/* The prefix stops before the first ill-formed or cut-off sequence. */
static void test_valid_prefix(void) {
  ASSERT_EQ(utf8_valid_prefix((const uint8_t *)"", 0), 0);
  ASSERT_EQ(utf8_valid_prefix(LIT("plain ascii")), 11);
  ASSERT_EQ(utf8_valid_prefix(LIT("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")),
            14);
  ASSERT_EQ(utf8_valid_prefix(LIT("ab\x80" "cd")), 2);
  ASSERT_EQ(utf8_valid_prefix(LIT("\xff")), 0);
  ASSERT_EQ(utf8_valid_prefix(LIT("a\xc0\xaf")), 1);        /* overlong */
  ASSERT_EQ(utf8_valid_prefix(LIT("ab\xed\xa0\x80")), 2);   /* surrogate */
  ASSERT_EQ(utf8_valid_prefix(LIT("\xc3\xa9\xf4\x90\x80\x80")), 2);
  ASSERT_EQ(utf8_valid_prefix(LIT("\xc3\xa9\xe2\x82")), 2); /* cut off */
  ASSERT_EQ(utf8_valid_prefix(LIT("x\xf0\x9f\x98")), 1);
  /* NUL is a valid character here; the canonical encoders refuse it
   * themselves. */
  ASSERT_EQ(utf8_valid_prefix(LIT("a\0b")), 3);
}

TEST_MAIN(TEST_CASE(test_decode_ascii), TEST_CASE(test_decode_boundaries),
          TEST_CASE(test_decode_rejects), TEST_CASE(test_decode_reads_n),
          TEST_CASE(test_decode_table), TEST_CASE(test_round_trip),
          TEST_CASE(test_valid_prefix))
