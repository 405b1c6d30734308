/*
 * test_ccbor.c: canonical CBOR encoder and strict decoder.
 *
 * Vectors: RFC 8949 Appendix A (the JSON-model subset), fixed vectors
 * checked with python3-cbor2 (`cbor2.dumps(x, canonical=True)`), one
 * hand-built byte string per decoder rejection class, encoder rejections,
 * and seeded random trees plus byte mutations of their encodings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccbor_gen.h"
#include "store/codec/ccbor.h"
#include "test.h"

#define MAX_VEC 256

static size_t unhex(const char *hex, uint8_t *out) {
  size_t n = strlen(hex) / 2, i;

  ASSERT(strlen(hex) % 2 == 0 && n <= MAX_VEC);
  for (i = 0; i < n; i++) {
    unsigned v;
    ASSERT(sscanf(hex + 2 * i, "%2x", &v) == 1);
    out[i] = (uint8_t)v;
  }
  return n;
}

static char *tohex(const uint8_t *b, size_t n) {
  char *s = malloc(2 * n + 1);
  size_t i;

  ASSERT(s != NULL);
  for (i = 0; i < n; i++)
    snprintf(s + 2 * i, 3, "%02x", b[i]);
  s[2 * n] = '\0';
  return s;
}

/* Encodes item (consumed) and compares with hex. */
static void expect_enc(cbor_item_t *item, const char *hex) {
  struct errbuf e = {{0}};
  uint8_t *out;
  size_t n;
  char *got;
  int rc;

  ASSERT(item != NULL);
  rc = ccbor_encode(item, &out, &n, &e);
  if (rc != 0)
    fprintf(stderr, "encode failed: %s\n", err_msg(&e, rc));
  ASSERT_EQ(rc, 0);
  got = tohex(out, n);
  ASSERT_STREQ(got, hex);
  free(got);
  free(out);
  cbor_decref(&item);
}

/* Decodes hex (must succeed) and re-encodes it byte-identically. */
static void expect_roundtrip(const char *hex) {
  struct errbuf e = {{0}};
  uint8_t in[MAX_VEC];
  size_t n = unhex(hex, in);
  cbor_item_t *item;
  int rc = ccbor_decode(in, n, &item, &e);

  if (rc != 0)
    fprintf(stderr, "decode of %s failed: %s\n", hex, err_msg(&e, rc));
  ASSERT_EQ(rc, 0);
  ASSERT_EQ(cbor_refcount(item), 1);
  expect_enc(item, hex);
}

/* Decoding hex must fail with EINVAL and a message containing why. */
static void expect_reject(const char *hex, const char *why) {
  struct errbuf e = {{0}};
  uint8_t in[MAX_VEC];
  size_t n = unhex(hex, in);
  cbor_item_t *item = (cbor_item_t *)1;

  ASSERT_EQ(ccbor_decode(in, n, &item, &e), UV_EINVAL);
  ASSERT(item == NULL);
  if (strstr(e.msg, why) == NULL) {
    fprintf(stderr, "reject %s: \"%s\" lacks \"%s\"\n", hex, e.msg, why);
    ASSERT(0);
  }
}

/* Encoding item (consumed) must fail with EINVAL and a message with why. */
static void expect_enc_reject(cbor_item_t *item, const char *why) {
  struct errbuf e = {{0}};
  uint8_t *out = (uint8_t *)1;
  size_t n = 1;

  ASSERT(item != NULL);
  ASSERT_EQ(ccbor_encode(item, &out, &n, &e), UV_EINVAL);
  ASSERT(out == NULL && n == 0);
  if (strstr(e.msg, why) == NULL) {
    fprintf(stderr, "encode reject: \"%s\" lacks \"%s\"\n", e.msg, why);
    ASSERT(0);
  }
  cbor_decref(&item);
}

static void test_appendix_a(void) {
  static const char *const vec[] = {
      /* integers 0 1 10 23 24 25 100 1000 1000000 1000000000000 */
      "00", "01", "0a", "17", "1818", "1819", "1864", "1903e8", "1a000f4240",
      "1b000000e8d4a51000",
      /* -1 -10 -100 -1000 */
      "20", "29", "3863", "3903e7",
      /* "" "a" "IETF" "\"\\" "\u00fc" "\u6c34" "\U00010151" */
      "60", "6161", "6449455446", "62225c", "62c3bc", "63e6b0b4",
      "64f0908591",
      /* [] [1,2,3] [1,[2,3],[4,5]] [1..25] */
      "80", "83010203", "8301820203820405",
      "98190102030405060708090a0b0c0d0e0f101112131415161718181819",
      /* {} {"a":1,"b":[2,3]} ["a",{"b":"c"}] {"a":"A",...,"e":"E"} */
      "a0", "a26161016162820203", "826161a161626163",
      "a56161614161626142616361436164614461656145",
      /* false true null */
      "f4", "f5", "f6",
  };
  size_t i;

  for (i = 0; i < ARRAY_SIZE(vec); i++)
    expect_roundtrip(vec[i]);
}

/* Appendix A values built with the ccbor_* builders encode the same. */
static void test_builders(void) {
  expect_enc(ccbor_int(0), "00");
  expect_enc(ccbor_int(23), "17");
  expect_enc(ccbor_int(24), "1818");
  expect_enc(ccbor_int(1000000000000LL), "1b000000e8d4a51000");
  expect_enc(ccbor_int(-1), "20");
  expect_enc(ccbor_int(-1000), "3903e7");
  expect_enc(ccbor_str("", 0), "60");
  expect_enc(ccbor_str("\"\\", 2), "62225c");
  expect_enc(ccbor_str("\xf0\x90\x85\x91", 4), "64f0908591");
  {
    cbor_item_t *a = cbor_new_definite_array(25);
    for (int v = 1; v <= 25; v++) {
      cbor_item_t *x = ccbor_int(v);
      ASSERT(cbor_array_push(a, x));
      cbor_decref(&x);
    }
    expect_enc(a, "98190102030405060708090a0b0c0d0e0f101112131415161718181819");
  }
  {
    /* {"a":"A",...,"e":"E"} put in reverse order */
    cbor_item_t *m = ccbor_map_new(5);
    ASSERT_EQ(ccbor_map_put_str(m, "e", "E"), 0);
    ASSERT_EQ(ccbor_map_put_str(m, "d", "D"), 0);
    ASSERT_EQ(ccbor_map_put_str(m, "c", "C"), 0);
    ASSERT_EQ(ccbor_map_put_str(m, "b", "B"), 0);
    ASSERT_EQ(ccbor_map_put_str(m, "a", "A"), 0);
    expect_enc(m, "a56161614161626142616361436164614461656145");
  }
  {
    /* in-memory indefinite containers still encode with definite heads */
    cbor_item_t *a = cbor_new_indefinite_array();
    ASSERT(cbor_array_push(a, cbor_move(ccbor_int(1))));
    ASSERT(cbor_array_push(a, cbor_move(ccbor_map_new(0))));
    expect_enc(a, "8201a0");
  }
  expect_enc(cbor_build_bool(false), "f4");
  expect_enc(cbor_build_bool(true), "f5");
  expect_enc(cbor_new_null(), "f6");
}

/* Vectors checked with /usr/bin/python3 -c 'import cbor2;
 * print(cbor2.dumps(x, canonical=True).hex())'. */
static void test_cbor2_vectors(void) {
  cbor_item_t *m, *a, *f;
  static const int64_t ints[] = {CCBOR_MAX_INT, -CCBOR_MAX_INT, 4294967296LL,
                                 4294967295LL, 65535, 65536, 255, 256, -24,
                                 -25, -256, -257};
  size_t i;

  /* {"b":1,"aa":2,"a":3,"":None} */
  m = ccbor_map_new(0);
  ASSERT_EQ(ccbor_map_put_int(m, "b", 1), 0);
  ASSERT_EQ(ccbor_map_put_int(m, "aa", 2), 0);
  ASSERT_EQ(ccbor_map_put_int(m, "a", 3), 0);
  ASSERT_EQ(ccbor_map_put_null(m, ""), 0);
  expect_enc(m, "a460f661610361620162616102");

  /* {"\ufb01":1,"\U0001F600":2,"\u20ac":3} */
  m = ccbor_map_new(3);
  ASSERT_EQ(ccbor_map_put_int(m, "\xef\xac\x81", 1), 0);
  ASSERT_EQ(ccbor_map_put_int(m, "\xf0\x9f\x98\x80", 2), 0);
  ASSERT_EQ(ccbor_map_put_int(m, "\xe2\x82\xac", 3), 0);
  expect_enc(m, "a363e282ac0363efac810164f09f988002");

  /* [2**53, -2**53, 2**32, 2**32-1, 65535, 65536, 255, 256, -24, -25,
   *  -256, -257] */
  a = cbor_new_definite_array(ARRAY_SIZE(ints));
  for (i = 0; i < ARRAY_SIZE(ints); i++) {
    cbor_item_t *x = ccbor_int(ints[i]);
    ASSERT(x != NULL && cbor_array_push(a, x));
    cbor_decref(&x);
  }
  expect_enc(a, "8c1b00200000000000003b001fffffffffffff1b00000001000000001aff"
                "ffffff19ffff1a0001000018ff19010037381838ff390100");

  /* {"name":"pkg","files":[{"path":"a/b.txt","size":12,"ok":True}],
   *  "meta":{}} */
  m = ccbor_map_new(3);
  ASSERT_EQ(ccbor_map_put_str(m, "name", "pkg"), 0);
  a = cbor_new_definite_array(1);
  f = ccbor_map_new(3);
  ASSERT_EQ(ccbor_map_put_str(f, "path", "a/b.txt"), 0);
  ASSERT_EQ(ccbor_map_put_int(f, "size", 12), 0);
  ASSERT_EQ(ccbor_map_put(f, "ok", cbor_build_bool(true)), 0);
  ASSERT(cbor_array_push(a, f));
  cbor_decref(&f);
  ASSERT_EQ(ccbor_map_put(m, "files", a), 0);
  ASSERT_EQ(ccbor_map_put(m, "meta", ccbor_map_new(0)), 0);
  expect_enc(m, "a3646d657461a0646e616d6563706b676566696c657381a3626f6bf56470"
                "61746867612f622e7478746473697a650c");

  /* "x" * 24 and "\u00e9\x01\"\\" */
  expect_enc(ccbor_str("xxxxxxxxxxxxxxxxxxxxxxxx", 24),
             "7818787878787878787878787878787878787878787878787878");
  expect_enc(ccbor_str("\xc3\xa9\x01\"\\", 5), "65c3a901225c");

  /* and the decoder takes all of them back */
  expect_roundtrip("a460f661610361620162616102");
  expect_roundtrip("a363e282ac0363efac810164f09f988002");
  expect_roundtrip("7818787878787878787878787878787878787878787878787878");
}

static void test_decode_rejects(void) {
  static const struct {
    const char *hex, *why;
  } bad[] = {
      /* non-shortest heads */
      {"1817", "non-shortest"},
      {"190017", "non-shortest"},
      {"1900ff", "non-shortest"},
      {"1a0000ffff", "non-shortest"},
      {"1b00000000ffffffff", "non-shortest"},
      {"3817", "non-shortest"},
      {"7800", "non-shortest"},
      {"980101", "non-shortest"},
      {"b80100", "non-shortest"},
      {"a17800f6", "non-shortest"},
      /* indefinite lengths */
      {"5f4101ff", "byte string"},
      {"7f6161ff", "indefinite"},
      {"9f01ff", "indefinite"},
      {"bf616101ff", "indefinite"},
      {"1f", "indefinite"},
      /* reserved additional information */
      {"1c", "reserved"},
      {"3d", "reserved"},
      {"7e", "reserved"},
      /* map key order and duplicates */
      {"a2616201616101", "out of canonical order"},   /* {"b":1,"a":1} */
      {"a262616101616101", "out of canonical order"}, /* {"aa":1,"a":1} */
      {"a2616101616102", "duplicate map key"},        /* {"a":1,"a":2} */
      {"a26161a0616101", "duplicate map key"},
      /* non-text keys */
      {"a10101", "not a text string"},
      {"a1f601", "not a text string"},
      {"a1410101", "not a text string"},
      /* tags, byte strings, floats, simple values */
      {"c11a514b67b0", "tag"},
      {"c074323031332d30332d32315432303a30343a30305a", "tag"},
      {"4401020304", "byte string"},
      {"40", "byte string"},
      {"f93c00", "floats are not allowed"},
      {"fa47c35000", "floats are not allowed"},
      {"fb3ff199999999999a", "floats are not allowed"},
      {"f7", "undefined"},
      {"f0", "simple value"},
      {"f818", "simple value"},
      {"f8ff", "simple value"},
      {"ff", "break"},
      {"8201ff", "break"},
      /* integers beyond +-2^53 */
      {"1b0020000000000001", "outside"},
      {"1bffffffffffffffff", "outside"},
      {"3b0020000000000000", "outside"},
      {"3bffffffffffffffff", "outside"},
      /* invalid UTF-8 and U+0000 */
      {"61ff", "UTF-8"},
      {"6180", "UTF-8"},
      {"62c0af", "UTF-8"},       /* overlong '/' */
      {"63e08080", "UTF-8"},     /* overlong NUL */
      {"63eda080", "UTF-8"},     /* surrogate D800 */
      {"64f4908080", "UTF-8"},   /* U+110000 */
      {"62c328", "UTF-8"},       /* bad continuation */
      {"62e282", "UTF-8"},       /* sequence cut by the string end */
      {"a161ff01", "UTF-8"},     /* in a key */
      {"6100", "U+0000"},
      {"626100", "U+0000"},
      /* trailing bytes */
      {"0000", "trailing"},
      {"80f6", "trailing"},
      /* truncation */
      {"", "truncated"},
      {"18", "truncated"},
      {"1903", "truncated"},
      {"1b000000e8d4a510", "truncated"},
      {"82", "truncated input: array"},
      {"8201", "truncated"},
      {"a16161", "truncated"},
      {"a2616101", "truncated"},
      /* lengths beyond the input: never allocated */
      {"6261", "only 1 remain"},
      {"7affffffff61", "claims 4294967295 bytes"},
      {"7b001fffffffffffff", "claims"},
      {"9b001fffffffffffff", "claims"},
      {"9a7fffffff", "claims 2147483647 entries"},
      {"bb001fffffffffffff", "claims"},
      {"a30000", "claims 3 entries"},
  };
  size_t i;

  for (i = 0; i < ARRAY_SIZE(bad); i++)
    expect_reject(bad[i].hex, bad[i].why);

  /* the range ends themselves are fine */
  expect_roundtrip("1b0020000000000000");
  expect_roundtrip("3b001fffffffffffff");
  expect_roundtrip("63efbfbf");       /* U+FFFF */
  expect_roundtrip("64f48fbfbf");     /* U+10FFFF */
  expect_roundtrip("617f");           /* DEL */
}

/* CCBOR_MAX_DEPTH nested containers decode; one more does not. */
static void test_decode_depth(void) {
  uint8_t buf[CCBOR_MAX_DEPTH + 1];
  uint8_t m[2 * (CCBOR_MAX_DEPTH + 1) + 1];
  struct errbuf e = {{0}};
  cbor_item_t *item;
  uint8_t *out;
  size_t n, k;
  int i;

  memset(buf, 0x81, sizeof buf);
  buf[CCBOR_MAX_DEPTH - 1] = 0x80;
  ASSERT_EQ(ccbor_decode(buf, CCBOR_MAX_DEPTH, &item, &e), 0);
  ASSERT_EQ(ccbor_encode(item, &out, &n, &e), 0);
  ASSERT_EQ(n, CCBOR_MAX_DEPTH);
  ASSERT_MEMEQ(out, buf, n);
  free(out);
  cbor_decref(&item);

  buf[CCBOR_MAX_DEPTH - 1] = 0x81;
  buf[CCBOR_MAX_DEPTH] = 0x80;
  ASSERT_EQ(ccbor_decode(buf, CCBOR_MAX_DEPTH + 1, &item, &e), UV_EINVAL);
  ASSERT(item == NULL);
  ASSERT(strstr(e.msg, "nesting deeper") != NULL);

  /* maps count as levels as well: {"":{"":...}} */
  k = 0;
  for (i = 0; i < CCBOR_MAX_DEPTH; i++) {
    m[k++] = 0xa1;
    m[k++] = 0x60;
  }
  m[k++] = 0xf6;
  ASSERT_EQ(ccbor_decode(m, k, &item, &e), 0);
  cbor_decref(&item);
  k = 0;
  for (i = 0; i < CCBOR_MAX_DEPTH + 1; i++) {
    m[k++] = 0xa1;
    m[k++] = 0x60;
  }
  m[k++] = 0xf6;
  ASSERT_EQ(ccbor_decode(m, k, &item, &e), UV_EINVAL);
  ASSERT(item == NULL);
}

/* The encoder refuses a tree one level deeper than the decoder takes. */
static void test_encode_depth(void) {
  cbor_item_t *item = cbor_new_definite_array(0), *outer;
  struct errbuf e = {{0}};
  uint8_t *out;
  size_t n;

  ASSERT(item != NULL);
  for (int i = 1; i < CCBOR_MAX_DEPTH; i++) {
    outer = cbor_new_definite_array(1);
    ASSERT(outer != NULL);
    ASSERT(cbor_array_push(outer, item));
    cbor_decref(&item);
    item = outer;
  }
  ASSERT_EQ(ccbor_encode(item, &out, &n, &e), 0);
  ASSERT_EQ(n, CCBOR_MAX_DEPTH);
  free(out);

  outer = cbor_new_definite_array(1);
  ASSERT(outer != NULL);
  ASSERT(cbor_array_push(outer, item));
  cbor_decref(&item);
  expect_enc_reject(outer, "nesting deeper than 64");
}

static void test_encode_rejects(void) {
  cbor_item_t *m, *v;

  expect_enc_reject(cbor_build_float8(1.5), "floats are not allowed");
  expect_enc_reject(cbor_build_float2(1.0f), "floats are not allowed");
  expect_enc_reject(cbor_build_float4(0.0f), "floats are not allowed");
  expect_enc_reject(cbor_new_undef(), "undefined");
  expect_enc_reject(cbor_build_ctrl(16), "simple value 16");
  expect_enc_reject(cbor_build_bytestring((const uint8_t *)"ab", 2),
                    "byte strings");
  v = ccbor_int(1);
  expect_enc_reject(cbor_build_tag(1, v), "tags are not allowed");
  cbor_decref(&v);
  expect_enc_reject(cbor_build_uint64((uint64_t)CCBOR_MAX_INT + 1),
                    "outside +-2^53");
  expect_enc_reject(cbor_build_negint64((uint64_t)CCBOR_MAX_INT),
                    "outside +-2^53");
  expect_enc_reject(cbor_build_stringn("\xc0\xaf", 2), "not valid UTF-8");
  expect_enc_reject(cbor_build_stringn("\xed\xa0\x80", 3), "not valid UTF-8");
  expect_enc_reject(cbor_build_stringn("a\0b", 3), "U+0000");
  expect_enc_reject(cbor_new_indefinite_string(), "chunked");

  /* duplicate keys, bypassing ccbor_map_put's own check */
  m = cbor_new_definite_map(3);
  ASSERT(cbor_map_add(m, (struct cbor_pair){
                             .key = cbor_move(cbor_build_string("x")),
                             .value = cbor_move(ccbor_int(1))}));
  ASSERT(cbor_map_add(m, (struct cbor_pair){
                             .key = cbor_move(cbor_build_string("yy")),
                             .value = cbor_move(ccbor_int(2))}));
  ASSERT(cbor_map_add(m, (struct cbor_pair){
                             .key = cbor_move(cbor_build_string("x")),
                             .value = cbor_move(ccbor_int(3))}));
  expect_enc_reject(m, "duplicate map key \"x\"");

  /* non-text key, bad key text */
  m = cbor_new_definite_map(1);
  ASSERT(cbor_map_add(m, (struct cbor_pair){.key = cbor_move(ccbor_int(1)),
                                            .value = cbor_move(ccbor_int(1))}));
  expect_enc_reject(m, "map keys must be text strings");
  m = cbor_new_definite_map(1);
  ASSERT(cbor_map_add(m, (struct cbor_pair){
                             .key = cbor_move(cbor_build_stringn("\xff", 1)),
                             .value = cbor_move(ccbor_int(1))}));
  expect_enc_reject(m, "map key is not valid UTF-8");

  /* errors deep inside are found too */
  m = ccbor_map_new(1);
  ASSERT_EQ(ccbor_map_put(m, "x", cbor_build_float8(2.5)), 0);
  expect_enc_reject(m, "floats");
}

/* The builders refuse out-of-subset input and duplicate keys. */
static void test_builder_rejects(void) {
  cbor_item_t *m, *k;

  ASSERT(ccbor_int(CCBOR_MAX_INT + 1) == NULL);
  ASSERT(ccbor_int(-CCBOR_MAX_INT - 1) == NULL);
  m = ccbor_map_new(1);
  ASSERT_EQ(ccbor_map_put_int(m, "a", CCBOR_MAX_INT + 1), UV_EINVAL);
  ASSERT_EQ(ccbor_map_put_int(m, "a", 1), 0);
  ASSERT_EQ(ccbor_map_put_int(m, "a", 2), UV_EINVAL); /* duplicate */
  ASSERT_EQ(ccbor_map_put_str(m, "\xff", "x"), UV_EINVAL);
  k = ccbor_int(7);
  ASSERT_EQ(ccbor_map_put(m, "b", k), 0); /* m owns k now */
  ASSERT_EQ(ccbor_map_put(m, "c", NULL), UV_ENOMEM);
  ASSERT_EQ(cbor_map_size(m), 2);
  cbor_decref(&m);
}

static void test_lookup(void) {
  static const char *hex = "a4616101626262f56363636361236478787878397fff";
  struct errbuf e = {{0}};
  uint8_t in[MAX_VEC];
  size_t n = unhex(hex, in);
  cbor_item_t *m;
  int64_t v = 0;

  /* {"a":1,"bb":true,"ccc":"#","xxxx":-32768} */
  ASSERT_EQ(ccbor_decode(in, n, &m, &e), 0);
  ASSERT_EQ(ccbor_get_int(ccbor_map_get(m, "a"), &v), 0);
  ASSERT_EQ(v, 1);
  ASSERT_EQ(ccbor_get_int(ccbor_map_get(m, "xxxx"), &v), 0);
  ASSERT_EQ(v, -32768);
  ASSERT(cbor_is_bool(ccbor_map_get(m, "bb")));
  ASSERT(cbor_get_bool(ccbor_map_get(m, "bb")));
  ASSERT(ccbor_map_get(m, "b") == NULL);
  ASSERT(ccbor_map_get(m, "ccc") != NULL);
  ASSERT_EQ(ccbor_get_int(ccbor_map_get(m, "ccc"), &v), UV_EINVAL);
  ASSERT_EQ(ccbor_get_int(NULL, &v), UV_EINVAL);
  ASSERT(ccbor_map_get(ccbor_map_get(m, "a"), "a") == NULL);
  cbor_decref(&m);

  expect_roundtrip(hex);
}

/* Random trees: encode, decode, encode again; then flip bytes of the
 * encoding: the decoder must refuse, or accept exactly canonical bytes. */
static void test_random(void) {
  struct gen g = {gen_seed("test_random")};
  int round, j;

  for (round = 0; round < 2000; round++) {
    struct errbuf e = {{0}};
    cbor_item_t *t = gen_tree(&g, 0), *d;
    uint8_t *a, *b;
    size_t na, nb;

    ASSERT(t != NULL);
    ASSERT_EQ(ccbor_encode(t, &a, &na, &e), 0);
    ASSERT_EQ(ccbor_decode(a, na, &d, &e), 0);
    ASSERT_EQ(ccbor_encode(d, &b, &nb, &e), 0);
    ASSERT_EQ(na, nb);
    ASSERT_MEMEQ(a, b, na);
    free(b);
    cbor_decref(&d);
    cbor_decref(&t);

    for (j = 0; j < 8; j++) {
      size_t at = (size_t)gen_below(&g, na);
      uint8_t old = a[at];
      size_t cut = gen_below(&g, 4) == 0 ? (size_t)gen_below(&g, na) : na;
      int rc;

      a[at] ^= (uint8_t)(1u << gen_below(&g, 8));
      rc = ccbor_decode(a, cut, &d, &e);
      if (rc == 0) {
        ASSERT_EQ(ccbor_encode(d, &b, &nb, &e), 0);
        ASSERT_EQ(nb, cut);
        ASSERT_MEMEQ(a, b, nb);
        free(b);
        cbor_decref(&d);
      } else {
        ASSERT_EQ(rc, UV_EINVAL);
        ASSERT(e.msg[0] != '\0');
      }
      a[at] = old;
    }
    free(a);
  }
}

TEST_MAIN(TEST_CASE(test_appendix_a), TEST_CASE(test_builders),
          TEST_CASE(test_cbor2_vectors), TEST_CASE(test_decode_rejects),
          TEST_CASE(test_decode_depth), TEST_CASE(test_encode_depth),
          TEST_CASE(test_encode_rejects), TEST_CASE(test_builder_rejects),
          TEST_CASE(test_lookup), TEST_CASE(test_random))
