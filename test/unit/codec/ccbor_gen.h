/*
 * ccbor_gen.h: seeded random trees within the canonical subset, shared by
 * test_ccbor.c and test_jcs.c.  Header-only (static) for the tests.
 */
#ifndef AS_TEST_CCBOR_GEN_H
#define AS_TEST_CCBOR_GEN_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "store/codec/ccbor.h"
#include "test.h"

struct gen {
  uint64_t s;
};

static uint64_t gen_next(struct gen *g) { /* splitmix64 */
  uint64_t z = (g->s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint64_t gen_below(struct gen *g, uint64_t n) {
  return gen_next(g) % n;
}

/* Seed from CCBOR_SEED, else the clock; printed so failures reproduce. */
static uint64_t gen_seed(const char *test) {
  const char *env = getenv("CCBOR_SEED");
  uint64_t seed = env != NULL ? strtoull(env, NULL, 0)
                              : (uint64_t)time(NULL) ^ (uint64_t)clock();
  printf("%s: seed %" PRIu64 " (rerun with CCBOR_SEED=%" PRIu64 ")\n", test,
         seed, seed);
  fflush(stdout);
  return seed;
}

/* Integers clustered on the head-size boundaries and the range ends. */
static int64_t gen_int(struct gen *g) {
  static const int64_t edges[] = {0, 1, 23, 24, 255, 256, 65535, 65536,
                                  4294967295LL, 4294967296LL,
                                  CCBOR_MAX_INT - 1, CCBOR_MAX_INT};
  int64_t v;

  if (gen_below(g, 2) == 0) {
    v = edges[gen_below(g, sizeof edges / sizeof edges[0])];
    v += (int64_t)gen_below(g, 3) - 1;
    if (v > CCBOR_MAX_INT)
      v = CCBOR_MAX_INT;
  } else {
    v = (int64_t)(gen_next(g) >> (11 + gen_below(g, 53)));
  }
  return gen_below(g, 2) ? v : -v;
}

/* Text from a palette with escapes, controls, 2/3/4-byte characters. */
static size_t gen_text(struct gen *g, char *buf, size_t cap) {
  static const char *const pieces[] = {
      "a", "b", "z", "A", "0", " ", "\"", "\\", "/", "\x01", "\x1f", "\b",
      "\t", "\n", "\f", "\r", "\x7f", "\xc2\x80", "\xc3\xbc", "\xe2\x82\xac",
      "\xef\xac\x81", "\xef\xbf\xbf", "\xf0\x9f\x98\x80", "\xf0\x90\x85\x91",
      "\xf4\x8f\xbf\xbf", "\xe6\xb0\xb4"};
  size_t n = 0, want = gen_below(g, 4) == 0 ? gen_below(g, 40)
                                             : gen_below(g, 4);

  while (want-- > 0) {
    const char *p = pieces[gen_below(g, sizeof pieces / sizeof pieces[0])];
    size_t k = strlen(p);
    if (n + k >= cap)
      break;
    memcpy(buf + n, p, k);
    n += k;
  }
  buf[n] = '\0';
  return n;
}

static cbor_item_t *gen_tree(struct gen *g, int depth) {
  char text[200];
  cbor_item_t *it;
  size_t n, i;
  unsigned kind = (unsigned)gen_below(g, depth >= 5 ? 4 : 7);

  switch (kind) {
  case 0:
    return ccbor_int(gen_int(g));
  case 1:
    n = gen_text(g, text, sizeof text);
    return ccbor_str(text, n);
  case 2:
    switch (gen_below(g, 3)) {
    case 0:
      return cbor_build_bool(true);
    case 1:
      return cbor_build_bool(false);
    default:
      return cbor_new_null();
    }
  case 3:
  case 4:
    n = gen_below(g, 6);
    it = cbor_new_definite_array(n);
    ASSERT(it != NULL);
    for (i = 0; i < n; i++) {
      cbor_item_t *c = gen_tree(g, depth + 1);
      ASSERT(c != NULL);
      ASSERT(cbor_array_push(it, c));
      cbor_decref(&c);
    }
    return it;
  default:
    n = gen_below(g, 7);
    it = ccbor_map_new(n);
    ASSERT(it != NULL);
    for (i = 0; i < n; i++) {
      gen_text(g, text, sizeof text);
      if (ccbor_map_get(it, text) != NULL)
        continue; /* duplicate key drawn: skip it */
      ASSERT_EQ(ccbor_map_put(it, text, gen_tree(g, depth + 1)), 0);
    }
    return it;
  }
}

#endif
