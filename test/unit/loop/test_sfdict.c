/*
 * test_sfdict.c: the Structured Field Dictionary parser (loop/sfdict.h).
 *
 * Vectors written from the grammar and parsing algorithms of RFC 9651
 * (and RFC 8941 before it), each shown as the members the callback saw;
 * then a bounded, deterministic mutation loop over those vectors that
 * checks invariants of every answer (see test_mutations).
 */
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>

#include "loop/sfdict.h"
#include "test.h"

#define DESC_MAX 4096

struct desc {
  char s[DESC_MAX];
  size_t n;
  size_t members;
  const char *field;
  size_t field_len;
};

static void put(struct desc *d, const char *p, size_t n) {
  ASSERT(d->n + n < DESC_MAX);
  memcpy(d->s + d->n, p, n);
  d->n += n;
  d->s[d->n] = '\0';
}

static void putf(struct desc *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void putf(struct desc *d, const char *fmt, ...) {
  char b[64];
  va_list ap;
  int k;

  va_start(ap, fmt);
  k = vsnprintf(b, sizeof b, fmt, ap);
  va_end(ap);
  ASSERT(k > 0 && (size_t)k < sizeof b);
  put(d, b, (size_t)k);
}

static bool inside(const struct desc *d, const char *p, size_t n) {
  return p >= d->field && p + n <= d->field + d->field_len;
}

/* Every member as "key=T:value[params]", joined with " | ". */
static int desc_cb(const struct sf_member *m, void *arg) {
  struct desc *d = arg;
  const struct sf_item *it = &m->value;

  ASSERT(inside(d, m->key, m->key_len) && m->key_len > 0);
  ASSERT(m->params_len == 0 || inside(d, m->params, m->params_len));
  if (d->members++ > 0)
    put(d, " | ", 3);
  put(d, m->key, m->key_len);
  put(d, "=", 1);
  switch (it->type) {
  case SF_INTEGER: putf(d, "i:%lld", (long long)it->num); break;
  case SF_DECIMAL: putf(d, "d:%lld", (long long)it->num); break;
  case SF_BOOLEAN: putf(d, "?:%lld", (long long)it->num); break;
  case SF_DATE: putf(d, "@:%lld", (long long)it->num); break;
  case SF_STRING: put(d, "s:", 2); break;
  case SF_TOKEN: put(d, "t:", 2); break;
  case SF_DISPLAY: put(d, "%:", 2); break;
  case SF_INNER_LIST: put(d, "l:", 2); break;
  case SF_BYTES: {
    uint8_t buf[1024];
    ASSERT(it->len < sizeof buf);
    buf[it->len] = 0xa5;
    sfdict_bytes_decode(it, buf);
    ASSERT(buf[it->len] == 0xa5); /* wrote exactly len bytes */
    put(d, "b:", 2);
    for (size_t i = 0; i < it->len; i++)
      putf(d, "%02x", (unsigned)buf[i]);
    break;
  }
  default: ASSERT(0);
  }
  if (it->type == SF_STRING || it->type == SF_TOKEN ||
      it->type == SF_DISPLAY || it->type == SF_INNER_LIST) {
    ASSERT(inside(d, it->text, it->text_len));
    put(d, it->text, it->text_len);
  }
  if (it->type == SF_STRING || it->type == SF_DISPLAY)
    putf(d, "/%lld", (long long)it->len);
  if (m->params_len > 0) {
    put(d, "[", 1);
    put(d, m->params, m->params_len);
    put(d, "]", 1);
  }
  return 0;
}

static int parse(const char *s, size_t n, struct desc *d, struct errbuf *e) {
  memset(d, 0, sizeof *d);
  d->field = s;
  d->field_len = n;
  return sfdict_parse(s, n, desc_cb, d, e);
}

static void ok(const char *field, const char *want) {
  struct errbuf e = {{0}};
  struct desc d;
  int rc = parse(field, strlen(field), &d, &e);

  if (rc != 0)
    fprintf(stderr, "rejected [%s]: %s\n", field, e.msg);
  ASSERT_EQ(rc, 0);
  if (strcmp(d.s, want) != 0)
    fprintf(stderr, "field [%s]\n", field);
  ASSERT_STREQ(d.s, want);
}

static void bad(const char *field, const char *needle) {
  struct errbuf e = {{0}};
  struct desc d;
  int rc = parse(field, strlen(field), &d, &e);

  if (rc == 0)
    fprintf(stderr, "accepted [%s] as [%s]\n", field, d.s);
  ASSERT_EQ(rc, UV_EINVAL);
  ASSERT_EQ(d.members, 0); /* no callback for a bad field */
  if (strstr(e.msg, needle) == NULL)
    fprintf(stderr, "[%s]: \"%s\" lacks \"%s\"\n", field, e.msg, needle);
  ASSERT(strstr(e.msg, needle) != NULL);
}

static void test_members(void) {
  ok("", "");
  ok("   ", "");
  ok("a=1", "a=i:1");
  ok("a=1,b=2", "a=i:1 | b=i:2");
  ok("a=1 ,\t b=2", "a=i:1 | b=i:2");
  ok("  a=1, b=2  ", "a=i:1 | b=i:2");
  ok("a=1\t", "a=i:1"); /* OWS after a member is discarded */
  ok("a", "a=?:1");
  ok("a, b=?0", "a=?:1 | b=?:0");
  ok("a;x=1", "a=?:1[;x=1]");
  ok("*a=1, a.b-c_d*=2, z9=3", "*a=i:1 | a.b-c_d*=i:2 | z9=i:3");
  /* a key again: the callback runs again, so keeping by key: last wins */
  ok("a=1, b=2, a=3", "a=i:1 | b=i:2 | a=i:3");
}

static void test_keys(void) {
  bad("A=1", "keys are lowercase");
  bad("SHA-256=:AAAA:", "keys are lowercase");
  bad("aB=1", "keys are lowercase");
  bad("1a=1", "must start with a lowercase letter or '*'");
  bad("-a=1", "must start");
  bad("_a=1", "must start");
  bad("=1", "must start");
  bad("a b", "separated by ','");
  bad("a = 1", "separated by ','");
  bad("a=1;B=2", "keys are lowercase");
  bad("a=1;", "a key is missing");
  bad("\ta=1", "must start"); /* only SP before the field */
}

static void test_separators(void) {
  bad("a=1,", "ends with ','");
  bad("a=1, ", "ends with ','");
  bad(",a=1", "must start");
  bad("a=1,,b=2", "must start");
  bad("a=1 b=2", "separated by ','");
  bad("a=1;b=2 ;c", "separated by ','");
  bad("a=", "a value is missing");
  bad("a=1 x", "separated by ','");
  bad("a=1\x7f", "printable ASCII");
  bad("a=1\r\n", "printable ASCII");
}

static void test_integers(void) {
  ok("a=0, b=-0, c=007", "a=i:0 | b=i:0 | c=i:7");
  ok("a=999999999999999, b=-999999999999999",
     "a=i:999999999999999 | b=i:-999999999999999");
  bad("a=1000000000000000", "at most 15 digits");
  bad("a=-1000000000000000", "at most 15 digits");
  bad("a=-", "needs a digit");
  bad("a=--1", "needs a digit");
  bad("a=- 1", "needs a digit");
  bad("a=+1", "not the start of a value");
  bad("a=1e3", "separated by ','");
}

static void test_decimals(void) {
  ok("a=1.5, b=-0.001, c=0.0", "a=d:1500 | b=d:-1 | c=d:0");
  ok("a=999999999999.999", "a=d:999999999999999");
  ok("a=1.25", "a=d:1250");
  bad("a=1234567890123.1", "at most 12 digits before '.'");
  bad("a=1.1234", "at most 3 digits after '.'");
  bad("a=1.", "a digit after '.'");
  bad("a=1.a", "a digit after '.'");
  bad("a=.5", "not the start of a value");
  bad("a=1.2.3", "separated by ','");
}

static void test_strings(void) {
  ok("a=\"\"", "a=s:/0");
  ok("a=\"hi there\"", "a=s:hi there/8");
  ok("a=\"say \\\"hi\\\" \\\\o/\"", "a=s:say \\\"hi\\\" \\\\o//12");
  ok("a=\"a,b;c=d\", b=1", "a=s:a,b;c=d/7 | b=i:1");
  bad("a=\"x", "no closing '\"'");
  bad("a=\"x\\", "ends inside an escape");
  bad("a=\"\\n\"", "only \\\" and \\\\");
  bad("a=\"\t\"", "printable ASCII");
  bad("a=\"\xc3\xa9\"", "printable ASCII");
}

static void test_tokens(void) {
  ok("a=tok, b=*x, c=T/y:z!#$%&'*+-.^_`|~9",
     "a=t:tok | b=t:*x | c=t:T/y:z!#$%&'*+-.^_`|~9");
}

static void test_tokens_stop(void) {
  bad("a=x(", "separated by ','");
  bad("a=x\"y\"", "separated by ','");
  bad("a=x@y", "separated by ','");
}

static void test_bytes(void) {
  ok("a=::", "a=b:");
  ok("a=:aGVsbG8=:", "a=b:68656c6c6f");
  ok("a=:aGVsbG8:", "a=b:68656c6c6f"); /* missing padding: accepted */
  ok("a=:aGVsbA==:, b=:aGVsbA:", "a=b:68656c6c | b=b:68656c6c");
  ok("a=:+/+/:", "a=b:fbffbf");
  ok("a=:aGVsbG9=:", "a=b:68656c6c6f"); /* non-zero pad bits: accepted */
  bad("a=:a:", "one character longer");
  bad("a=:aGVsbG8", "no closing ':'");
  bad("a=:ab=c:", "only at the end");
  bad("a=:aGVsbG8==:", "padding must be complete");
  bad("a=:aGVsbA=:", "padding must be complete");
  bad("a=:aGVs===:", "padding must be complete");
  bad("a=:====:", "padding must be complete");
  bad("a=:aGV-bG8_:", "base64 characters only");
  bad("a=:aGVs bG8=:", "base64 characters only");
}

static void test_booleans(void) {
  ok("a=?1, b=?0", "a=?:1 | b=?:0");
  bad("a=?2", "?0 or ?1");
  bad("a=?", "?0 or ?1");
  bad("a=?01", "separated by ','");
  ok("a=true", "a=t:true"); /* a token, not a boolean */
}

static void test_dates_display(void) {
  ok("a=@1659578233, b=@-1", "a=@:1659578233 | b=@:-1");
  bad("a=@1.5", "a date is an integer");
  bad("a=@x", "needs a digit");
  ok("a=%\"f%c3%bc%c3%bc\"", "a=%:f%c3%bc%c3%bc/5");
  ok("a=%\"\"", "a=%:/0");
  bad("a=%\"%C3%BC\"", "lowercase hex");
  bad("a=%\"%c3\"", "not valid UTF-8");
  bad("a=%\"%ed%a0%80\"", "not valid UTF-8"); /* a surrogate */
  bad("a=%\"%c3%", "lowercase hex");
  bad("a=%\"abc", "no closing '\"'");
  bad("a=%x\"\"", "starts with %\"");
}

static void test_parameters(void) {
  ok("a=1;b;c=?0;d=\"x\";e=:AA==:;f=2.5;g=t",
     "a=i:1[;b;c=?0;d=\"x\";e=:AA==:;f=2.5;g=t]");
  ok("a=1; b=2;  c", "a=i:1[; b=2;  c]");
  ok("a=1;b=1;b=2", "a=i:1[;b=1;b=2]");
  bad("a=1;b=", "a value is missing");
  bad("a=1;b=(1)", "not the start of a value");
  bad("a=1;b=\"x", "no closing");
  bad("a=1 ;b", "separated by ','");
}

static void test_inner_lists(void) {
  ok("a=()", "a=l:()");
  ok("a=(1 2 \"x\");p", "a=l:(1 2 \"x\")[;p]");
  ok("a=( 1  2 )", "a=l:( 1  2 )");
  ok("a=(1;x=2 tok;y :AA==:)", "a=l:(1;x=2 tok;y :AA==:)");
  ok("a=(1), b=()", "a=l:(1) | b=l:()");
  bad("a=(1 2", "no closing ')'");
  bad("a=(", "no closing ')'");
  bad("a=(1,2)", "separated by spaces");
  bad("a=(1\t2)", "separated by spaces");
  bad("a=((1))", "not the start of a value");
  bad("a=(1)x", "separated by ','");
  bad("a=(1 \"x)", "no closing '\"'");
}

/* --- the mutation loop --- */

static const char *const seeds[] = {
    "sha-256=:d435Qo+nKZ+gLcUHn7GQtQ72hiBVAgqoLsZnZPiTGPk=:",
    "sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4=:, sha-256=:AA==:",
    "a=1, b=-2.5;x=?1, c=\"s \\\" t\", d=tok/x:y, e=(1 2;p \"q\");r",
    "a=@1659578233, b=%\"f%c3%bc\", c=?0, *d;e=:aGVsbG8:",
    "k1=( ), k2=(a b c);z, k3",
    "x=999999999999999, y=999999999999.999, z=-0.001",
};

static uint64_t rng_state;

static uint32_t rnd(uint32_t n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state % n);
}

static const char interesting[] = "=,;:() \t\"\\?@%*-._/+aAz09=\x7f\x01\xc3";

static size_t mutate(char *b, size_t n, size_t cap) {
  int rounds = 1 + (int)rnd(4);

  for (int r = 0; r < rounds; r++) {
    size_t at = n > 0 ? rnd((uint32_t)n) : 0;
    switch (rnd(5)) {
    case 0: /* replace a byte */
      if (n > 0)
        b[at] = interesting[rnd(sizeof interesting - 1)];
      break;
    case 1: /* insert a byte */
      if (n + 1 < cap) {
        memmove(b + at + 1, b + at, n - at);
        b[at] = interesting[rnd(sizeof interesting - 1)];
        n++;
      }
      break;
    case 2: /* delete a byte */
      if (n > 0) {
        memmove(b + at, b + at + 1, n - at - 1);
        n--;
      }
      break;
    case 3: /* cut the tail */
      n = at;
      break;
    default: { /* repeat a slice */
      size_t len = n > at ? rnd((uint32_t)(n - at) + 1) : 0;
      if (n + len < cap) {
        memmove(b + at + len, b + at, n - at);
        n += len;
      }
      break;
    }
    }
  }
  return n;
}

static bool key_ok(const char *k, size_t n) {
  if (n == 0 || !((k[0] >= 'a' && k[0] <= 'z') || k[0] == '*'))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') ||
          strchr("_-.*", k[i]) != NULL))
      return false;
  return true;
}

struct check {
  const char *field;
  size_t field_len;
  size_t members, bytes_checked;
};

/* Independent checks of what the callback is handed. */
static int check_cb(const struct sf_member *m, void *arg) {
  struct check *c = arg;
  const struct sf_item *it = &m->value;

  c->members++;
  ASSERT(m->key >= c->field && m->key + m->key_len <= c->field + c->field_len);
  ASSERT(key_ok(m->key, m->key_len));
  if (it->type == SF_BYTES) {
    uint8_t ours[512], theirs[512];
    size_t got = 0;
    ASSERT(it->len <= it->text_len);
    ASSERT(it->len < sizeof ours);
    sfdict_bytes_decode(it, ours);
    /* libsodium agrees wherever it accepts (it refuses non-zero pad bits) */
    if (sodium_base642bin(theirs, sizeof theirs, it->text, it->text_len, NULL,
                          &got, NULL,
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0) {
      ASSERT_EQ(got, it->len);
      ASSERT_MEMEQ(ours, theirs, got);
      c->bytes_checked++;
    }
  }
  if (it->type == SF_DECIMAL || it->type == SF_INTEGER ||
      it->type == SF_DATE)
    ASSERT(it->num >= -999999999999999LL && it->num <= 999999999999999LL);
  if (it->type == SF_BOOLEAN)
    ASSERT(it->num == 0 || it->num == 1);
  return 0;
}

static int check_parse(const char *s, size_t n, struct check *c) {
  struct errbuf e = {{0}};
  int rc;

  memset(c, 0, sizeof *c);
  c->field = s;
  c->field_len = n;
  rc = sfdict_parse(s, n, check_cb, c, &e);
  ASSERT(rc == 0 || rc == UV_EINVAL);
  if (rc != 0) {
    ASSERT(c->members == 0);
    ASSERT(strncmp(e.msg, "at byte ", 8) == 0);
  }
  return rc;
}

/* For every mutant: the answer is 0 or UV_EINVAL with a message; no
 * callback for a bad field; keys and spans are sound; byte sequences
 * decode as libsodium does; the same input gives the same answer; and a
 * good field stays good with SP around it, doubles its members when
 * joined with itself by ", " (two header lines), and goes bad with a
 * trailing ','.  Run under ASan/UBSan too (the sanitizer build). */
static void test_mutations(void) {
  enum { ROUNDS = 6000, CAP = 512 };
  char buf[CAP], twice[2 * CAP + 4], padded[CAP + 4];
  size_t good = 0, with_bytes = 0;

  rng_state = 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < ROUNDS; i++) {
    const char *seed = seeds[rnd(ARRAY_SIZE(seeds))];
    size_t n = strlen(seed);
    struct check c1, c2;
    int rc;

    memcpy(buf, seed, n);
    n = mutate(buf, n, CAP - 1);
    rc = check_parse(buf, n, &c1);
    ASSERT_EQ(check_parse(buf, n, &c2), rc);
    ASSERT_EQ(c2.members, c1.members);
    if (rc != 0)
      continue;
    good++;
    with_bytes += c1.bytes_checked > 0;
    padded[0] = ' ';
    memcpy(padded + 1, buf, n);
    padded[n + 1] = ' ';
    ASSERT_EQ(check_parse(padded, n + 2, &c2), 0);
    ASSERT_EQ(c2.members, c1.members);
    if (c1.members == 0)
      continue;
    memcpy(twice, buf, n);
    memcpy(twice + n, ", ", 2);
    memcpy(twice + n + 2, buf, n);
    ASSERT_EQ(check_parse(twice, 2 * n + 2, &c2), 0);
    ASSERT_EQ(c2.members, 2 * c1.members);
    buf[n] = ',';
    ASSERT_EQ(check_parse(buf, n + 1, &c2), UV_EINVAL);
  }
  /* the loop reached both sides */
  fprintf(stderr, "mutations: %d inputs, %zu well formed, %zu with bytes\n",
          ROUNDS, good, with_bytes);
  ASSERT(good > ROUNDS / 20 && good < ROUNDS);
  ASSERT(with_bytes > 0);
}

/* A callback's non-zero answer stops the parse and is returned. */
static int stop_cb(const struct sf_member *m, void *arg) {
  (void)m;
  return ++*(int *)arg == 2 ? UV_ECANCELED : 0;
}

static void test_callback_stops(void) {
  int calls = 0;
  ASSERT_EQ(sfdict_parse("a, b, c", 7, stop_cb, &calls, NULL), UV_ECANCELED);
  ASSERT_EQ(calls, 2);
  ASSERT_EQ(sfdict_parse("a, b, c", 7, NULL, NULL, NULL), 0);
  ASSERT_EQ(sfdict_parse("a, b,", 5, NULL, NULL, NULL), UV_EINVAL);
}

TEST_MAIN(TEST_CASE(test_members), TEST_CASE(test_keys),
          TEST_CASE(test_separators), TEST_CASE(test_integers),
          TEST_CASE(test_decimals), TEST_CASE(test_strings),
          TEST_CASE(test_tokens), TEST_CASE(test_tokens_stop),
          TEST_CASE(test_bytes), TEST_CASE(test_booleans),
          TEST_CASE(test_dates_display), TEST_CASE(test_parameters),
          TEST_CASE(test_inner_lists), TEST_CASE(test_mutations),
          TEST_CASE(test_callback_stops))
