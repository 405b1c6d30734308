/*
 * test_cview.c: in-place reads of canonical CBOR maps (store/codec/cview.h):
 * fields of an encoded map, one hand-built byte string per rejection, every
 * truncation, and seeded random trees with byte mutations (run under ASan:
 * every read stays inside the buffer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccbor_gen.h"
#include "store/codec/ccbor.h"
#include "store/codec/cview.h"
#include "test.h"

static void test_fields(void) {
  static const char *const keys[] = {"id", "size", "neg", "meta", "list",
                                     "absent", "name"};
  struct errbuf e = {{0}};
  cbor_item_t *m = ccbor_map_new(6), *meta = ccbor_map_new(1);
  struct cview buf, f[7], inner[1];
  const char *s;
  uint8_t *enc;
  size_t n, len;
  int64_t v;

  ASSERT(m != NULL && meta != NULL);
  ASSERT_EQ(ccbor_map_put_str(meta, "k", "v"), 0);
  ASSERT_EQ(ccbor_map_put_str(m, "name", "caf\xc3\xa9"), 0);
  ASSERT_EQ(ccbor_map_put_str(m, "id", "019a"), 0);
  ASSERT_EQ(ccbor_map_put_int(m, "size", CCBOR_MAX_INT), 0);
  ASSERT_EQ(ccbor_map_put_int(m, "neg", -CCBOR_MAX_INT), 0);
  ASSERT_EQ(ccbor_map_put(m, "meta", meta), 0);
  ASSERT_EQ(ccbor_map_put_null(m, "list"), 0);
  ASSERT_EQ(ccbor_encode(m, &enc, &len, &e), 0);
  cbor_decref(&m);

  buf.p = enc;
  buf.n = len;
  ASSERT_EQ(cview_map(&buf, keys, 7, f), 0);
  ASSERT_EQ(cview_text(&f[0], &s, &n), 0);
  ASSERT(n == 4 && memcmp(s, "019a", 4) == 0);
  ASSERT_EQ(cview_int(&f[1], &v), 0);
  ASSERT_EQ(v, CCBOR_MAX_INT);
  ASSERT_EQ(cview_int(&f[2], &v), 0);
  ASSERT_EQ(v, -CCBOR_MAX_INT);
  ASSERT(cview_is_map(&f[3]));
  ASSERT_EQ(cview_map(&f[3], (const char *const[]){"k"}, 1, inner), 0);
  ASSERT_EQ(cview_text(&inner[0], &s, &n), 0);
  ASSERT(n == 1 && s[0] == 'v');
  ASSERT(f[4].p != NULL && f[4].n == 1 && f[4].p[0] == 0xf6);
  ASSERT(f[5].p == NULL && f[5].n == 0);
  ASSERT_EQ(cview_text(&f[6], &s, &n), 0);
  ASSERT(n == 5 && memcmp(s, "caf\xc3\xa9", 5) == 0);
  /* Wrong types. */
  ASSERT_EQ(cview_int(&f[0], &v), UV_EPROTO);
  ASSERT_EQ(cview_text(&f[1], &s, &n), UV_EPROTO);
  ASSERT_EQ(cview_text(&f[5], &s, &n), UV_EPROTO);
  ASSERT(!cview_is_map(&f[0]));
  /* Every strict prefix is truncated. */
  for (size_t cut = 0; cut < len; cut++) {
    struct cview c = {enc, cut};
    ASSERT_EQ(cview_map(&c, keys, 7, f), UV_EPROTO);
  }
  free(enc);
}

static void expect_map_reject(const uint8_t *b, size_t n, const char *why) {
  static const char *const keys[] = {"a", "b"};
  struct cview m = {b, n}, f[2];

  if (cview_map(&m, keys, 2, f) != UV_EPROTO) {
    fprintf(stderr, "cview_map accepted: %s\n", why);
    ASSERT(0);
  }
}

static void test_map_rejects(void) {
  expect_map_reject((const uint8_t[]){0xa2, 0x61, 'b', 0x01, 0x61, 'a',
                                      0x02}, 7, "keys out of order");
  expect_map_reject((const uint8_t[]){0xa2, 0x61, 'a', 0x01, 0x61, 'a',
                                      0x02}, 7, "duplicate key");
  expect_map_reject((const uint8_t[]){0xa2, 0x62, 'a', 'a', 0x01, 0x61,
                                      'b', 0x02}, 8, "longer key first");
  expect_map_reject((const uint8_t[]){0xa1, 0x01, 0x02}, 3, "integer key");
  expect_map_reject((const uint8_t[]){0xa1, 0x61, 'a', 0x41, 0x00}, 5,
                    "byte string");
  expect_map_reject((const uint8_t[]){0xa1, 0x61, 'a', 0xc1, 0x00}, 5,
                    "tag");
  expect_map_reject((const uint8_t[]){0xa1, 0x61, 'a', 0xf9, 0x00, 0x00}, 6,
                    "float");
  expect_map_reject((const uint8_t[]){0xa1, 0x61, 'a', 0x9f, 0xff}, 5,
                    "indefinite array");
  expect_map_reject((const uint8_t[]){0xa1, 0x61, 'a', 0x01, 0x00}, 5,
                    "trailing byte");
  expect_map_reject((const uint8_t[]){0x81, 0x01}, 2, "an array");
  expect_map_reject((const uint8_t[]){0xbb, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff}, 9, "huge count");
  expect_map_reject((const uint8_t[]){0xa1, 0x61, 'a', 0x7a, 0xff, 0xff,
                                      0xff, 0xff}, 8, "text past the end");
  expect_map_reject(NULL, 0, "nothing");
}

/* cview_text and cview_int refuse what the canonical subset excludes. */
static void test_scalar_rejects(void) {
  struct cview v;
  const char *s;
  size_t n;
  int64_t i;

  v = (struct cview){(const uint8_t[]){0x61, 0x00}, 2};
  ASSERT_EQ(cview_text(&v, &s, &n), UV_EPROTO); /* U+0000 */
  v = (struct cview){(const uint8_t[]){0x61, 0xff}, 2};
  ASSERT_EQ(cview_text(&v, &s, &n), UV_EPROTO); /* not UTF-8 */
  v = (struct cview){(const uint8_t[]){0x62, 'a'}, 2};
  ASSERT_EQ(cview_text(&v, &s, &n), UV_EPROTO); /* truncated */
  v = (struct cview){(const uint8_t[]){0x1b, 0x00, 0x20, 0x00, 0x00, 0x00,
                                       0x00, 0x00, 0x01}, 9};
  ASSERT_EQ(cview_int(&v, &i), UV_EPROTO);      /* 2^53 + 1 */
  v = (struct cview){(const uint8_t[]){0x3b, 0x00, 0x20, 0x00, 0x00, 0x00,
                                       0x00, 0x00, 0x00}, 9};
  ASSERT_EQ(cview_int(&v, &i), UV_EPROTO);      /* -(2^53) - 1 */
  v = (struct cview){(const uint8_t[]){0x01, 0x01}, 2};
  ASSERT_EQ(cview_int(&v, &i), UV_EPROTO);      /* trailing */
}

/* Random maps: every key of the decoded tree is found with the bytes the
 * encoder wrote; mutated and cut copies never read outside the buffer. */
static void test_random(void) {
  struct gen g = {gen_seed("test_cview random")};

  for (int round = 0; round < 2000; round++) {
    struct errbuf e = {{0}};
    cbor_item_t *t = gen_tree(&g, 0);
    const char *keys[64];
    struct cview m, f[64];
    size_t na, nk = 0;
    uint8_t *a;

    ASSERT(t != NULL);
    ASSERT_EQ(ccbor_encode(t, &a, &na, &e), 0);
    m = (struct cview){a, na};
    if (cbor_isa_map(t) && cbor_map_size(t) <= 64) {
      struct cbor_pair *pairs = cbor_map_handle(t);
      char *names[64];
      for (size_t k = 0; k < cbor_map_size(t); k++) {
        size_t kl = cbor_string_length(pairs[k].key);
        names[nk] = malloc(kl + 1);
        ASSERT(names[nk] != NULL);
        memcpy(names[nk], cbor_string_handle(pairs[k].key), kl);
        names[nk][kl] = '\0';
        keys[nk] = names[nk];
        nk++;
      }
      ASSERT_EQ(cview_map(&m, keys, nk, f), 0);
      for (size_t k = 0; k < nk; k++) {
        ASSERT(f[k].p != NULL && f[k].p >= a && f[k].p + f[k].n <= a + na);
        free(names[k]);
      }
    } else {
      ASSERT_EQ(cview_map(&m, keys, 0, f), UV_EPROTO);
    }
    for (int j = 0; j < 8; j++) {
      size_t at = (size_t)gen_below(&g, na);
      size_t cut = gen_below(&g, 4) == 0 ? (size_t)gen_below(&g, na) : na;
      uint8_t old = a[at];
      uint8_t *copy = malloc(cut > 0 ? cut : 1);
      struct cview c;

      a[at] ^= (uint8_t)(1u << gen_below(&g, 8));
      ASSERT(copy != NULL);
      memcpy(copy, a, cut); /* exact-size copy: ASan sees any overread */
      c = (struct cview){copy, cut};
      if (cview_map(&c, (const char *const[]){"a"}, 1, f) == 0 &&
          f[0].p != NULL)
        ASSERT(f[0].p >= copy && f[0].p + f[0].n <= copy + cut);
      free(copy);
      a[at] = old;
    }
    free(a);
    cbor_decref(&t);
  }
}

TEST_MAIN(TEST_CASE(test_fields), TEST_CASE(test_map_rejects),
          TEST_CASE(test_scalar_rejects), TEST_CASE(test_random))
