/*
 * test_caddr.c: content addresses parse and format as exact inverses, and
 * the strict parser rejects every near miss with a message that names the
 * problem.
 */
#include "store/codec/caddr.h"

#include "test.h"

#define LIT(s) s, sizeof(s) - 1

#define HEX64 "0123456789abcdef0123456789abcdef" \
              "fedcba9876543210fedcba9876543210"
#define B3_EMPTY "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"

static const char msg_prefix[] =
    "content address must start with \"blake3:\" or \"sha256:\"";
static const char msg_len_b3[] =
    "content address must have exactly 64 hex digits after \"blake3:\"";
static const char msg_len_sha[] =
    "content address must have exactly 64 hex digits after \"sha256:\"";
static const char msg_hex[] =
    "content address digest must be lowercase hex (0-9, a-f)";

static void expect_ok(const char *s, size_t n, enum caddr_alg alg) {
  struct caddr a;
  struct errbuf e = {{0}};
  char back[CADDR_BUFSIZE];

  memset(&a, 0xaa, sizeof a);
  if (caddr_parse(s, n, &a, &e) != 0)
    fprintf(stderr, "rejected %.*s: %s\n", (int)n, s, e.msg);
  ASSERT_EQ(caddr_parse(s, n, &a, &e), 0);
  ASSERT_EQ(a.alg, alg);
  caddr_format(&a, back);
  ASSERT_EQ(strlen(back), CADDR_STRLEN);
  ASSERT_EQ(n, CADDR_STRLEN);
  ASSERT_MEMEQ(back, s, CADDR_STRLEN);
}

static void expect_bad(const char *s, size_t n, const char *msg) {
  struct caddr a;
  struct errbuf e = {{0}};

  ASSERT_EQ(caddr_parse(s, n, &a, &e), UV_EINVAL);
  ASSERT_STREQ(e.msg, msg);
  /* A NULL errbuf still gets the code. */
  ASSERT_EQ(caddr_parse(s, n, &a, NULL), UV_EINVAL);
}

static void test_known(void) {
  struct caddr a;
  struct errbuf e = {{0}};
  static const uint8_t want[4] = {0xaf, 0x13, 0x49, 0xb9};

  ASSERT_EQ(caddr_parse(LIT("blake3:" B3_EMPTY), &a, &e), 0);
  ASSERT_EQ(a.alg, CADDR_BLAKE3);
  ASSERT_MEMEQ(a.d, want, sizeof want);
  ASSERT_EQ(a.d[31], 0x62);

  expect_ok(LIT("blake3:" HEX64), CADDR_BLAKE3);
  expect_ok(LIT("sha256:" HEX64), CADDR_SHA256);
  expect_ok(LIT("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495"
                "991b7852b855"), CADDR_SHA256);
  expect_ok(LIT("blake3:0000000000000000000000000000000000000000000000000000"
                "000000000000"), CADDR_BLAKE3);
  expect_ok(LIT("sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffff"
                "ffffffffffff"), CADDR_SHA256);
}

/* Every byte value round-trips through format and parse, both algorithms. */
static void test_round_trip(void) {
  for (int alg = CADDR_BLAKE3; alg <= CADDR_SHA256; alg++) {
    for (int base = 0; base < 256; base += DIGEST_LEN) {
      struct caddr in, out;
      char s[CADDR_BUFSIZE];
      struct errbuf e = {{0}};

      in.alg = (enum caddr_alg)alg;
      for (int k = 0; k < DIGEST_LEN; k++)
        in.d[k] = (uint8_t)(base + k * 7);
      caddr_format(&in, s);
      ASSERT_EQ(strlen(s), CADDR_STRLEN);
      ASSERT(strncmp(s, alg == CADDR_BLAKE3 ? "blake3:" : "sha256:", 7) == 0);
      ASSERT_EQ(caddr_parse(s, strlen(s), &out, &e), 0);
      ASSERT_EQ(out.alg, in.alg);
      ASSERT_MEMEQ(out.d, in.d, DIGEST_LEN);
    }
  }
}

/* caddr_format_raw writes what caddr_format writes for the same digest. */
static void test_format_raw(void) {
  static const uint8_t want[4] = {0xaf, 0x13, 0x49, 0xb9};
  char raw[CADDR_BUFSIZE], s[CADDR_BUFSIZE];
  struct caddr a;

  for (int alg = CADDR_BLAKE3; alg <= CADDR_SHA256; alg++) {
    a.alg = (enum caddr_alg)alg;
    for (int k = 0; k < DIGEST_LEN; k++)
      a.d[k] = (uint8_t)(255 - k * 5);
    memset(raw, 'Z', sizeof raw);
    caddr_format_raw(a.alg, a.d, raw);
    caddr_format(&a, s);
    ASSERT_STREQ(raw, s);
  }
  memset(a.d, 0, sizeof a.d);
  memcpy(a.d, want, sizeof want);
  caddr_format_raw(CADDR_BLAKE3, a.d, raw);
  ASSERT_STREQ(raw, "blake3:af1349b9000000000000000000000000000000000000000000"
                    "00000000000000");
}

static void test_rejects(void) {
  char buf[128];

  /* Uppercase hex, anywhere. */
  expect_bad(LIT("blake3:AF1349B9F5F9A1A6A0404DEA36DCC9499BCB25C9ADC112B7CC9A"
                 "93CAE41F3262"), msg_hex);
  expect_bad(LIT("blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a"
                 "93cae41f326F"), msg_hex);
  expect_bad(LIT("sha256:E3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495"
                 "991b7852b855"), msg_hex);
  /* Not hex at all. */
  expect_bad(LIT("blake3:g" "123456789abcdef0123456789abcdef"
                 "fedcba9876543210fedcba9876543210"), msg_hex);
  expect_bad(LIT("blake3: 123456789abcdef0123456789abcdef"
                 "fedcba9876543210fedcba9876543210"), msg_hex);

  /* Wrong length: 63 and 65 digits, none, and far too many. */
  expect_bad(LIT("blake3:" B3_EMPTY) - 1, msg_len_b3);
  expect_bad(LIT("blake3:" B3_EMPTY "0"), msg_len_b3);
  expect_bad(LIT("sha256:" HEX64) - 1, msg_len_sha);
  expect_bad(LIT("sha256:" HEX64 "a"), msg_len_sha);
  expect_bad(LIT("blake3:"), msg_len_b3);
  expect_bad(LIT("sha256:" HEX64 HEX64), msg_len_sha);

  /* Trailing garbage. */
  expect_bad(LIT("blake3:" B3_EMPTY "\n"), msg_len_b3);
  expect_bad(LIT("blake3:" B3_EMPTY " "), msg_len_b3);
  expect_bad(LIT("sha256:" HEX64 "/x"), msg_len_sha);

  /* Unknown or misspelt algorithm, missing colon, leading junk. */
  expect_bad(LIT("md5:d41d8cd98f00b204e9800998ecf8427e"), msg_prefix);
  expect_bad(LIT("md5:" HEX64), msg_prefix);
  expect_bad(LIT("BLAKE3:" B3_EMPTY), msg_prefix);
  expect_bad(LIT("Sha256:" HEX64), msg_prefix);
  expect_bad(LIT("sha512:" HEX64), msg_prefix);
  expect_bad(LIT("blake2b:" HEX64), msg_prefix);
  expect_bad(LIT("blake3" B3_EMPTY), msg_prefix);
  expect_bad(LIT("blake3;" B3_EMPTY), msg_prefix);
  expect_bad(LIT(B3_EMPTY), msg_prefix);
  expect_bad(LIT(" blake3:" B3_EMPTY), msg_prefix);
  expect_bad(LIT("blake3"), msg_prefix);
  expect_bad(LIT(""), msg_prefix);

  /* An embedded NUL is not hex, wherever it is. */
  expect_bad(LIT("blake3:af1349b9f5f9a1a6\0" "0404dea36dcc9499bcb25c9adc112b7"
                 "cc9a93cae41f3262"), msg_hex);
  memcpy(buf, "sha256:" HEX64, CADDR_STRLEN);
  buf[CADDR_STRLEN - 1] = '\0';
  expect_bad(buf, CADDR_STRLEN, msg_hex);
  memcpy(buf, "sha256:" HEX64, CADDR_STRLEN);
  buf[3] = '\0';
  expect_bad(buf, CADDR_STRLEN, msg_prefix);

  /* The parser reads only n bytes: a valid address followed by more text
   * is fine when n stops at its end, and the same bytes with a larger n
   * are trailing garbage. */
  snprintf(buf, sizeof buf, "blake3:%s,next", B3_EMPTY);
  expect_ok(buf, CADDR_STRLEN, CADDR_BLAKE3);
  expect_bad(buf, strlen(buf), msg_len_b3);

  /* Each message tells the user the accepted form. */
  ASSERT(strstr(msg_prefix, "blake3:") != NULL);
  ASSERT(strstr(msg_len_b3, "64") != NULL);
  ASSERT(strstr(msg_hex, "lowercase") != NULL);
}

TEST_MAIN(TEST_CASE(test_known), TEST_CASE(test_round_trip),
          TEST_CASE(test_format_raw), TEST_CASE(test_rejects))
