/*
 * test_jcs.c: the RFC 8785 projection of canonical CBOR and JSON text back
 * to canonical CBOR.
 *
 * Vectors: RFC 8949 Appendix A values written as JSON, RFC 8785's key
 * sorting and string escaping examples (its float examples are outside the
 * subset), keys whose CBOR and JCS orders differ, a mixed document checked
 * with python3-cbor2 and a UTF-16-sorting Python JCS, every rejection, and
 * seeded random round trips CBOR -> JCS -> CBOR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccbor_gen.h"
#include "store/codec/ccbor.h"
#include "store/codec/jcs.h"
#include "test.h"

#define MAX_VEC 512

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

/* json (any formatting) -> cbor_hex exactly; cbor_hex -> jcs exactly; and
 * jcs -> cbor_hex again. */
static void expect_vec(const char *json, const char *cbor_hex,
                       const char *jcs) {
  struct errbuf e = {{0}};
  uint8_t want[MAX_VEC], *bytes;
  size_t nwant = unhex(cbor_hex, want), n;
  char *text, *hex;
  int rc;

  rc = jcs_text_to_ccbor(json, strlen(json), &bytes, &n, &e);
  if (rc != 0)
    fprintf(stderr, "%s: %s\n", json, err_msg(&e, rc));
  ASSERT_EQ(rc, 0);
  hex = tohex(bytes, n);
  ASSERT_STREQ(hex, cbor_hex);
  free(hex);
  free(bytes);

  ASSERT_EQ(jcs_from_cbor_bytes(want, nwant, &text, &n, &e), 0);
  ASSERT_EQ(n, strlen(jcs));
  ASSERT_STREQ(text, jcs);
  free(text);

  ASSERT_EQ(jcs_text_to_ccbor(jcs, strlen(jcs), &bytes, &n, &e), 0);
  ASSERT_EQ(n, nwant);
  ASSERT_MEMEQ(bytes, want, n);
  free(bytes);
}

static void expect_json_reject(const char *json, size_t len,
                               const char *why) {
  struct errbuf e = {{0}};
  uint8_t *out = (uint8_t *)1;
  size_t n = 1;

  ASSERT_EQ(jcs_text_to_ccbor(json, len, &out, &n, &e), UV_EINVAL);
  ASSERT(out == NULL && n == 0);
  if (strstr(e.msg, why) == NULL) {
    fprintf(stderr, "reject %s: \"%s\" lacks \"%s\"\n", json, e.msg, why);
    ASSERT(0);
  }
}

static void test_appendix_a(void) {
  expect_vec("0", "00", "0");
  expect_vec("1", "01", "1");
  expect_vec("10", "0a", "10");
  expect_vec("23", "17", "23");
  expect_vec("24", "1818", "24");
  expect_vec("25", "1819", "25");
  expect_vec("100", "1864", "100");
  expect_vec("1000", "1903e8", "1000");
  expect_vec("1000000", "1a000f4240", "1000000");
  expect_vec("1000000000000", "1b000000e8d4a51000", "1000000000000");
  expect_vec("-1", "20", "-1");
  expect_vec("-10", "29", "-10");
  expect_vec("-100", "3863", "-100");
  expect_vec("-1000", "3903e7", "-1000");
  expect_vec("\"\"", "60", "\"\"");
  expect_vec("\"a\"", "6161", "\"a\"");
  expect_vec("\"IETF\"", "6449455446", "\"IETF\"");
  expect_vec("\"\\\"\\\\\"", "62225c", "\"\\\"\\\\\"");
  expect_vec("\"\\u00fc\"", "62c3bc", "\"\xc3\xbc\"");
  expect_vec("\"\\u6c34\"", "63e6b0b4", "\"\xe6\xb0\xb4\"");
  expect_vec("\"\\ud800\\udd51\"", "64f0908591", "\"\xf0\x90\x85\x91\"");
  expect_vec("[]", "80", "[]");
  expect_vec("[1, 2, 3]", "83010203", "[1,2,3]");
  expect_vec("[1, [2, 3], [4, 5]]", "8301820203820405", "[1,[2,3],[4,5]]");
  expect_vec("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, "
             "18, 19, 20, 21, 22, 23, 24, 25]",
             "98190102030405060708090a0b0c0d0e0f101112131415161718181819",
             "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,"
             "24,25]");
  expect_vec("{}", "a0", "{}");
  expect_vec("{\"a\": 1, \"b\": [2, 3]}", "a26161016162820203",
             "{\"a\":1,\"b\":[2,3]}");
  expect_vec("[\"a\", {\"b\": \"c\"}]", "826161a161626163",
             "[\"a\",{\"b\":\"c\"}]");
  expect_vec("{\"e\": \"E\", \"d\": \"D\", \"c\": \"C\", \"b\": \"B\", "
             "\"a\": \"A\"}",
             "a56161614161626142616361436164614461656145",
             "{\"a\":\"A\",\"b\":\"B\",\"c\":\"C\",\"d\":\"D\",\"e\":\"E\"}");
  expect_vec("false", "f4", "false");
  expect_vec("true", "f5", "true");
  expect_vec("null", "f6", "null");
  /* the range ends, and -0 (an integer to JSON) */
  expect_vec("9007199254740992", "1b0020000000000000", "9007199254740992");
  expect_vec("-9007199254740992", "3b001fffffffffffff",
             "-9007199254740992");
  expect_vec("-0", "00", "0");
}

/* CBOR sorts shorter encodings first, JCS by UTF-16 code units. */
static void test_key_orders(void) {
  /* cbor2: {"b":1,"aa":2,"a":3,"":None} */
  expect_vec("{\"b\":1,\"aa\":2,\"a\":3,\"\":null}",
             "a460f661610361620162616102",
             "{\"\":null,\"a\":3,\"aa\":2,\"b\":1}");
  /* cbor2: {"\ufb01":1,"\U0001F600":2,"\u20ac":3}: CBOR puts the 3-byte
   * U+FB01 before the 4-byte U+1F600; UTF-16 puts D83D before FB01. */
  expect_vec("{\"\\ufb01\":1,\"\\ud83d\\ude00\":2,\"\\u20ac\":3}",
             "a363e282ac0363efac810164f09f988002",
             "{\"\xe2\x82\xac\":3,\"\xf0\x9f\x98\x80\":2,\"\xef\xac\x81\":1}");
  /* a key that is a prefix of another sorts first in both */
  expect_vec("{\"ab\":1,\"a\":2}", "a261610262616201", "{\"a\":2,\"ab\":1}");
}

/* RFC 8785 section 3.2.3 (sorting of object properties). */
static void test_rfc8785_sorting(void) {
  static const char *in =
      "{\n"
      "  \"\\u20ac\": \"Euro Sign\",\n"
      "  \"\\r\": \"Carriage Return\",\n"
      "  \"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\",\n"
      "  \"1\": \"One\",\n"
      "  \"\\ud83d\\ude00\": \"Emoji: Grinning Face\",\n"
      "  \"\\u0080\": \"Control\",\n"
      "  \"\\u00f6\": \"Latin Small Letter O With Diaeresis\"\n"
      "}\n";
  static const char *want =
      "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
      "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
      "\"\xe2\x82\xac\":\"Euro Sign\","
      "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
      "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}";
  struct errbuf e = {{0}};
  uint8_t *bytes, *again;
  size_t n, n2, tn;
  char *text;

  ASSERT_EQ(jcs_text_to_ccbor(in, strlen(in), &bytes, &n, &e), 0);
  ASSERT_EQ(jcs_from_cbor_bytes(bytes, n, &text, &tn, &e), 0);
  ASSERT_STREQ(text, want);
  ASSERT_EQ(jcs_text_to_ccbor(text, tn, &again, &n2, &e), 0);
  ASSERT_EQ(n, n2);
  ASSERT_MEMEQ(bytes, again, n);
  free(again);
  free(text);
  free(bytes);
}

/* RFC 8785 section 3.2.2.2 (strings) and the section 3.2.2 example
 * without its "numbers" member. */
static void test_rfc8785_strings(void) {
  struct errbuf e = {{0}};
  static const char *in =
      "{\"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\","
      " \"literals\": [null, true, false]}";
  static const char *want =
      "{\"literals\":[null,true,false],"
      "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
  uint8_t *bytes;
  size_t n, tn;
  char *text;

  ASSERT_EQ(jcs_text_to_ccbor(in, strlen(in), &bytes, &n, &e), 0);
  ASSERT_EQ(jcs_from_cbor_bytes(bytes, n, &text, &tn, &e), 0);
  ASSERT_STREQ(text, want);
  free(text);
  free(bytes);
}

/* Every control character, DEL, '/', and non-ASCII straight from CBOR. */
static void test_escaping(void) {
  char raw[0x20 + 8], want[512];
  struct errbuf e = {{0}};
  cbor_item_t *s;
  size_t n = 0, w = 0, tn;
  char *text;
  int c;

  for (c = 1; c < 0x20; c++)
    raw[n++] = (char)c;
  memcpy(raw + n, "\x7f\"\\/\xc3\xbc", 6);
  n += 6;
  want[w++] = '"';
  for (c = 1; c < 0x20; c++) {
    const char *esc = c == '\b' ? "\\b" : c == '\t' ? "\\t"
                    : c == '\n' ? "\\n" : c == '\f' ? "\\f"
                    : c == '\r' ? "\\r" : NULL;
    if (esc != NULL)
      w += (size_t)snprintf(want + w, sizeof want - w, "%s", esc);
    else
      w += (size_t)snprintf(want + w, sizeof want - w, "\\u%04x", c);
  }
  w += (size_t)snprintf(want + w, sizeof want - w, "\x7f\\\"\\\\/\xc3\xbc\"");
  ASSERT(strstr(want, "\\u001b") != NULL); /* lowercase hex */

  s = ccbor_str(raw, n);
  ASSERT_EQ(jcs_from_cbor(s, &text, &tn, &e), 0);
  ASSERT_EQ(tn, w);
  ASSERT_STREQ(text, want);
  free(text);
  cbor_decref(&s);
}

/* Checked with Python: cbor2.dumps(x, canonical=True) and a JCS writer
 * sorting keys by .encode('utf-16-be'), json.dumps(ensure_ascii=False). */
static void test_python_vector(void) {
  static const char *in =
      "{\"\\ud83d\\ude00\": [1, -2, \"\\u0001\\u001f\\u007f\\\"\\\\/\\b\\t\\n"
      "\\f\\r\"],\n \"\\uff61\": {\"b\": true, \"aa\": null, \"\\u00e9\": "
      "false},\n \"z\": 9007199254740992, \"\": -9007199254740992}";
  static const char *cbor_hex =
      "a4603b001fffffffffffff617a1b002000000000000063efbda1a36162f5626161f6"
      "62c3a9f464f09f98808301216b011f7f225c2f08090a0c0d";
  static const char *jcs_hex =
      "7b22223a2d393030373139393235343734303939322c227a223a3930303731393932"
      "35343734303939322c22f09f9880223a5b312c2d322c225c75303030315c75303031"
      "667f5c225c5c2f5c625c745c6e5c665c72225d2c22efbda1223a7b226161223a6e75"
      "6c6c2c2262223a747275652c22c3a9223a66616c73657d7d";
  uint8_t want[MAX_VEC];
  size_t nj = unhex(jcs_hex, want);
  char jcs[MAX_VEC + 1];

  memcpy(jcs, want, nj);
  jcs[nj] = '\0';
  expect_vec(in, cbor_hex, jcs);
}

/* JSON text outside the subset is refused with the reason. */
static void test_text_rejects(void) {
  expect_json_reject("1.5", 3, "fraction or exponent");
  expect_json_reject("[1.0]", 5, "fraction or exponent");
  expect_json_reject("{\"a\":1e2}", 9, "fraction or exponent");
  expect_json_reject("-0.0", 4, "fraction or exponent");
  expect_json_reject("9007199254740993", 16, "outside +-2^53");
  expect_json_reject("-9007199254740993", 17, "outside +-2^53");
  expect_json_reject("99999999999999999999", 20, "too big");
  expect_json_reject("{\"a\":1,\"a\":2}", 13, "duplicate");
  expect_json_reject("\"a\\u0000b\"", 10, "invalid JSON");
  expect_json_reject("{\"a\\u0000\":1}", 13, "invalid JSON");
  expect_json_reject("\"\xff\"", 3, "invalid JSON");
  expect_json_reject("\"\\ud800\"", 8, "invalid JSON");
  expect_json_reject("1 2", 3, "invalid JSON");
  expect_json_reject("[1,", 3, "invalid JSON");
  expect_json_reject("", 0, "invalid JSON");
  expect_json_reject("\"a\0b\"", 5, "invalid JSON"); /* raw NUL */
}

/* CCBOR_MAX_DEPTH levels of JSON pass, one more fails. */
static void test_depth(void) {
  char deep[2 * (CCBOR_MAX_DEPTH + 1) + 1];
  struct errbuf e = {{0}};
  uint8_t *b;
  size_t n;
  int i;

  for (i = 0; i < CCBOR_MAX_DEPTH; i++) {
    deep[i] = '[';
    deep[2 * CCBOR_MAX_DEPTH - 1 - i] = ']';
  }
  ASSERT_EQ(jcs_text_to_ccbor(deep, 2 * CCBOR_MAX_DEPTH, &b, &n, &e), 0);
  ASSERT_EQ(n, CCBOR_MAX_DEPTH);
  free(b);
  for (i = 0; i < CCBOR_MAX_DEPTH + 1; i++) {
    deep[i] = '[';
    deep[2 * CCBOR_MAX_DEPTH + 1 - i] = ']';
  }
  expect_json_reject(deep, 2 * (CCBOR_MAX_DEPTH + 1), "deeper than 64");
}

/* jansson values built in code are checked as parsed text is. */
static void test_json_to_cbor(void) {
  struct errbuf e = {{0}};
  cbor_item_t *item;
  size_t n;
  char *text;
  json_t *j;

  j = json_real(0.5);
  ASSERT_EQ(jcs_json_to_cbor(j, &item, &e), UV_EINVAL);
  ASSERT(item == NULL && strstr(e.msg, "fraction") != NULL);
  json_decref(j);
  j = json_stringn("a\0b", 3);
  ASSERT_EQ(jcs_json_to_cbor(j, &item, &e), UV_EINVAL);
  ASSERT(strstr(e.msg, "\\u0000") != NULL);
  json_decref(j);
  j = json_pack("{s:i,s:[b,n,s]}", "k", 42, "l", 1, "x");
  ASSERT_EQ(jcs_json_to_cbor(j, &item, &e), 0);
  ASSERT_EQ(jcs_from_cbor(item, &text, &n, &e), 0);
  ASSERT_STREQ(text, "{\"k\":42,\"l\":[true,null,\"x\"]}");
  free(text);
  cbor_decref(&item);
  json_decref(j);
}

/* CBOR side: out-of-subset trees and non-canonical bytes. */
static void test_cbor_rejects(void) {
  struct errbuf e = {{0}};
  cbor_item_t *item, *m;
  size_t n;
  char *text;

  item = cbor_build_float8(0.25);
  ASSERT_EQ(jcs_from_cbor(item, &text, &n, &e), UV_EINVAL);
  ASSERT(text == NULL && strstr(e.msg, "floats are not allowed") != NULL);
  cbor_decref(&item);
  m = cbor_new_definite_map(2);
  ASSERT(cbor_map_add(m, (struct cbor_pair){
                             .key = cbor_move(cbor_build_string("k")),
                             .value = cbor_move(ccbor_int(1))}));
  ASSERT(cbor_map_add(m, (struct cbor_pair){
                             .key = cbor_move(cbor_build_string("k")),
                             .value = cbor_move(ccbor_int(2))}));
  ASSERT_EQ(jcs_from_cbor(m, &text, &n, &e), UV_EINVAL);
  ASSERT(strstr(e.msg, "duplicate") != NULL);
  cbor_decref(&m);
  ASSERT_EQ(jcs_from_cbor_bytes((const uint8_t *)"\x18\x17", 2, &text, &n,
                                &e), UV_EINVAL);
  ASSERT(text == NULL && strstr(e.msg, "non-shortest") != NULL);
}

/* tree -> ccbor -> decode -> ccbor (same) -> JCS -> ccbor (same). */
static void test_random(void) {
  struct gen g = {gen_seed("test_random")};
  int round;

  for (round = 0; round < 2000; round++) {
    struct errbuf e = {{0}};
    cbor_item_t *t = gen_tree(&g, 0), *d;
    uint8_t *a, *b, *c;
    size_t na, nb, nc, nt, nt2;
    char *text, *text2;

    ASSERT(t != NULL);
    ASSERT_EQ(ccbor_encode(t, &a, &na, &e), 0);
    ASSERT_EQ(ccbor_decode(a, na, &d, &e), 0);
    ASSERT_EQ(ccbor_encode(d, &b, &nb, &e), 0);
    ASSERT_EQ(na, nb);
    ASSERT_MEMEQ(a, b, na);

    ASSERT_EQ(jcs_from_cbor(t, &text, &nt, &e), 0);
    ASSERT_EQ(strlen(text), nt);
    ASSERT_EQ(jcs_text_to_ccbor(text, nt, &c, &nc, &e), 0);
    if (nc != na || memcmp(a, c, na) != 0) {
      fprintf(stderr, "JCS round trip differs for %s\n", text);
      ASSERT(0);
    }
    ASSERT_EQ(jcs_from_cbor_bytes(c, nc, &text2, &nt2, &e), 0);
    ASSERT_EQ(nt, nt2);
    ASSERT_STREQ(text, text2);

    free(text2);
    free(text);
    free(c);
    free(b);
    free(a);
    cbor_decref(&d);
    cbor_decref(&t);
  }
}

TEST_MAIN(TEST_CASE(test_appendix_a), TEST_CASE(test_key_orders),
          TEST_CASE(test_rfc8785_sorting), TEST_CASE(test_rfc8785_strings),
          TEST_CASE(test_escaping), TEST_CASE(test_python_vector),
          TEST_CASE(test_text_rejects), TEST_CASE(test_depth),
          TEST_CASE(test_json_to_cbor), TEST_CASE(test_cbor_rejects),
          TEST_CASE(test_random))
