/*
 * test_relpath.c: relpath_check accepts exactly the paths DESIGN.md allows
 * and names the broken rule for every rejection, including each way a
 * path could try to leave its package.
 */
#include "store/codec/relpath.h"

#include "test.h"

/* A string literal with its exact length, so embedded NULs count. */
#define LIT(s) s, sizeof(s) - 1

struct relpath_case {
  const char *p;
  size_t n;
  const char *reason; /* NULL: accepted */
};

static const struct relpath_case cases[] = {
    /* Accepted. */
    {LIT("a"), NULL},
    {LIT("file.txt"), NULL},
    {LIT("dir/sub/file.tar.gz"), NULL},
    {LIT(".hidden"), NULL},
    {LIT("a/.b/c"), NULL},
    {LIT("..."), NULL},
    {LIT("a/..b/c.."), NULL},
    {LIT("a b/c d"), NULL},
    {LIT("~/x"), NULL},
    {LIT("caf\xc3\xa9/na\xc3\xafve"), NULL},        /* U+00E9, U+00EF */
    {LIT("\xc2\x80"), NULL},                        /* U+0080, smallest 2-byte */
    {LIT("\xdf\xbf"), NULL},                        /* U+07FF */
    {LIT("\xe0\xa0\x80"), NULL},                    /* U+0800, smallest 3-byte */
    {LIT("\xed\x9f\xbf"), NULL},                    /* U+D7FF, before surrogates */
    {LIT("\xee\x80\x80"), NULL},                    /* U+E000, after surrogates */
    {LIT("\xef\xbf\xbf"), NULL},                    /* U+FFFF */
    {LIT("\xf0\x90\x80\x80"), NULL},                /* U+10000 */
    {LIT("\xf0\x9f\x93\xa6.bin"), NULL},            /* U+1F4E6 */
    {LIT("\xf4\x8f\xbf\xbf"), NULL},                /* U+10FFFF, the last */

    /* Empty, leading and trailing '/', empty segments. */
    {LIT(""), "path is empty: name the file"},
    {LIT("/"), "path must be relative: it must not start with '/'"},
    {LIT("/etc/passwd"), "path must be relative: it must not start with '/'"},
    {LIT("//etc/passwd"), "path must be relative: it must not start with '/'"},
    {LIT("a/"), "path must name a file: it must not end with '/'"},
    {LIT("a/b/"), "path must name a file: it must not end with '/'"},
    {LIT("a//b"), "path has an empty segment (\"//\") at byte 2"},
    {LIT("a/b//c"), "path has an empty segment (\"//\") at byte 4"},

    /* "." and ".." in every position. */
    {LIT("."), "path segment \".\" is not allowed"},
    {LIT("./a"), "path segment \".\" is not allowed"},
    {LIT("a/./b"), "path segment \".\" is not allowed"},
    {LIT("a/."), "path segment \".\" is not allowed"},
    {LIT(".."), "path segment \"..\" is not allowed"},
    {LIT("../a"), "path segment \"..\" is not allowed"},
    {LIT("../../etc/passwd"), "path segment \"..\" is not allowed"},
    {LIT("a/.."), "path segment \"..\" is not allowed"},
    {LIT("a/../b"), "path segment \"..\" is not allowed"},
    {LIT("a/../../b"), "path segment \"..\" is not allowed"},

    /* NUL, backslash, control characters. */
    {LIT("a\0b"), "path contains a NUL byte at byte 1"},
    {LIT("a/b\0/../../etc"), "path contains a NUL byte at byte 3"},
    {LIT("\0"), "path contains a NUL byte at byte 0"},
    {LIT("a\\b"), "path contains a backslash at byte 1; separate segments "
                  "with '/'"},
    {LIT("..\\..\\etc"), "path contains a backslash at byte 2; separate "
                         "segments with '/'"},
    {LIT("C:\\x"), "path contains a backslash at byte 2; separate segments "
                   "with '/'"},
    {LIT("a\nb"), "path contains control character 0x0a at byte 1"},
    {LIT("\x01"), "path contains control character 0x01 at byte 0"},
    {LIT("a\tb"), "path contains control character 0x09 at byte 1"},
    {LIT("a\x1f"), "path contains control character 0x1f at byte 1"},
    {LIT("a\x7f"), "path contains control character 0x7f at byte 1"},

    /* Invalid UTF-8. */
    {LIT("a\x80"), "path is not valid UTF-8: unexpected continuation byte at "
                   "byte 1"},
    {LIT("\xbf"), "path is not valid UTF-8: unexpected continuation byte at "
                  "byte 0"},
    {LIT("\xc0\xaf"), "path is not valid UTF-8: overlong encoding at byte 0"},
    {LIT("\xc0\xae\xc0\xae/x"), /* overlong "..", the classic traversal */
     "path is not valid UTF-8: overlong encoding at byte 0"},
    {LIT("\xc1\xbf"), "path is not valid UTF-8: overlong encoding at byte 0"},
    {LIT("ab\xe0\x80\xaf"), "path is not valid UTF-8: overlong encoding at "
                            "byte 2"},
    {LIT("\xe0\x9f\xbf"), "path is not valid UTF-8: overlong encoding at "
                          "byte 0"},
    {LIT("\xf0\x80\x80\xaf"), "path is not valid UTF-8: overlong encoding at "
                              "byte 0"},
    {LIT("\xf0\x8f\xbf\xbf"), "path is not valid UTF-8: overlong encoding at "
                              "byte 0"},
    {LIT("\xed\xa0\x80"), "path is not valid UTF-8: UTF-16 surrogate "
                          "(U+D800..U+DFFF) at byte 0"},
    {LIT("x\xed\xbf\xbf"), "path is not valid UTF-8: UTF-16 surrogate "
                           "(U+D800..U+DFFF) at byte 1"},
    {LIT("\xf4\x90\x80\x80"), "path is not valid UTF-8: code point above "
                              "U+10FFFF at byte 0"},
    {LIT("\xf5\x80\x80\x80"), "path is not valid UTF-8: code point above "
                              "U+10FFFF at byte 0"},
    {LIT("\xf7\xbf\xbf\xbf"), "path is not valid UTF-8: code point above "
                              "U+10FFFF at byte 0"},
    {LIT("\xf8\x88\x80\x80\x80"), "path is not valid UTF-8: byte 0xf8 at "
                                  "byte 0 never occurs in UTF-8"},
    {LIT("a\xff"), "path is not valid UTF-8: byte 0xff at byte 1 never "
                   "occurs in UTF-8"},
    {LIT("a\xc3"), "path is not valid UTF-8: sequence at byte 1 is cut off "
                   "by the end of the path"},
    {LIT("\xe2\x82"), "path is not valid UTF-8: sequence at byte 0 is cut "
                      "off by the end of the path"},
    {LIT("\xc3/b"), "path is not valid UTF-8: incomplete multi-byte "
                    "sequence at byte 0"},
    {LIT("\xe2\x82x"), "path is not valid UTF-8: incomplete multi-byte "
                       "sequence at byte 0"},
    {LIT("\xf0\x9f\x93/"), "path is not valid UTF-8: incomplete multi-byte "
                           "sequence at byte 0"},
};

static void check(const char *p, size_t n, const char *reason,
                  const char *what) {
  struct errbuf e = {{0}};
  int rc = relpath_check(p, n, &e);

  if (reason == NULL) {
    if (rc != 0)
      fprintf(stderr, "%s: rejected: %s\n", what, e.msg);
    ASSERT_EQ(rc, 0);
    ASSERT_STREQ(e.msg, "");
  } else {
    if (rc != UV_EINVAL)
      fprintf(stderr, "%s: expected rejection \"%s\"\n", what, reason);
    ASSERT_EQ(rc, UV_EINVAL);
    ASSERT_STREQ(e.msg, reason);
  }
}

static void test_table(void) {
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    char what[32];

    snprintf(what, sizeof what, "case %zu", i);
    check(cases[i].p, cases[i].n, cases[i].reason, what);
  }
}

/* The length limit counts bytes, not characters, and is inclusive. */
static void test_length(void) {
  char buf[RELPATH_MAX + 8];

  memset(buf, 'a', sizeof buf);
  check(buf, RELPATH_MAX, NULL, "1024 x a");
  check(buf, RELPATH_MAX + 1,
        "path is 1025 bytes long; at most 1024 bytes are allowed", "1025");
  check(buf, sizeof buf,
        "path is 1032 bytes long; at most 1024 bytes are allowed", "1032");

  /* 1024 bytes made of segments and 2-byte characters. */
  for (size_t i = 0; i + 1 < RELPATH_MAX; i += 2) {
    buf[i] = '\xc3';
    buf[i + 1] = '\xa9';
  }
  buf[100] = '/';
  buf[101] = 'x';
  check(buf, RELPATH_MAX, NULL, "1024 bytes of U+00E9");
  /* Cutting a character in half at the end is caught as such. */
  check(buf, RELPATH_MAX - 1,
        "path is not valid UTF-8: sequence at byte 1022 is cut off by the "
        "end of the path",
        "1023 bytes ending mid-character");
}

/* Only the n bytes given are read: the text after them does not matter. */
static void test_not_terminated(void) {
  const char s[] = "a/b/../c";

  check(s, 3, NULL, "prefix a/b");
  check(s, 4, "path must name a file: it must not end with '/'", "prefix a/b/");
  check(s, 6, "path segment \"..\" is not allowed", "prefix a/b/..");
}

/* A NULL errbuf is allowed: the code alone still tells the caller. */
static void test_null_errbuf(void) {
  ASSERT_EQ(relpath_check(LIT("ok/path"), NULL), 0);
  ASSERT_EQ(relpath_check(LIT("../x"), NULL), UV_EINVAL);
  ASSERT_EQ(relpath_check(NULL, 0, NULL), UV_EINVAL);
}

/* Every single byte: only printable ASCII except '/' and '\\' stands alone. */
static void test_single_bytes(void) {
  for (int b = 0; b < 256; b++) {
    char c = (char)b;
    struct errbuf e = {{0}};
    int ok = b >= 0x20 && b < 0x7f && b != '/' && b != '\\' && b != '.';

    ASSERT_EQ(relpath_check(&c, 1, &e) == 0, ok);
  }
}

TEST_MAIN(TEST_CASE(test_table), TEST_CASE(test_length),
          TEST_CASE(test_not_terminated), TEST_CASE(test_null_errbuf),
          TEST_CASE(test_single_bytes))
