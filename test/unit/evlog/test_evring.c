/*
 * test_evring.c: the in-memory tail of the event log.  Checks what
 * evring_since returns at every boundary (empty, seeded, newest, oldest
 * held, evicted), both eviction bounds, the limit, that pushes copy, and
 * event_rec_dup on its own.  Run under ASan this also proves every copy is
 * released exactly once.
 */
#include "store/evlog/evring.h"

#include "util/common.h"
#include "test.h"

#define MAXEV 64

/* Source events whose strings and payloads live in buffers we can scribble
 * over after a push, to prove the ring holds copies. */
struct src {
  struct event_rec ev[MAXEV];
  char type[MAXEV][32];
  char actor[MAXEV][32];
  uint8_t payload[MAXEV][1024];
};

static void src_fill(struct src *s, size_t i, int64_t seq, size_t plen) {
  struct event_rec *ev = &s->ev[i];

  ASSERT(i < MAXEV && plen <= sizeof s->payload[i]);
  memset(ev, 0, sizeof *ev);
  snprintf(s->type[i], sizeof s->type[i], "v1.test.%" PRId64, seq);
  snprintf(s->actor[i], sizeof s->actor[i], "actor-%" PRId64, seq);
  for (size_t k = 0; k < plen; k++)
    s->payload[i][k] = (uint8_t)(seq * 7 + (int64_t)k);
  ev->sequence = seq;
  ev->created_at = 1700000000000000 + seq;
  ev->event_type = s->type[i];
  ev->subject_kind = "package";
  ev->subject_id.b[0] = (uint8_t)seq;
  ev->actor = s->actor[i];
  ev->payload = s->payload[i];
  ev->payload_len = plen;
  memset(ev->payload_digest, (int)(seq & 0xff), DIGEST_LEN);
  memset(ev->chain_digest, (int)((seq + 1) & 0xff), DIGEST_LEN);
}

/* What the ring charges for an event (see evring.c). */
static size_t charge(const struct event_rec *ev) {
  return sizeof *ev + strlen(ev->event_type) + 1 +
         strlen(ev->subject_kind) + 1 + strlen(ev->actor) + 1 +
         ev->payload_len;
}

/* The event the ring holds for seq is the one src_fill made. */
static void check_event(const struct event_rec *ev, int64_t seq, size_t plen) {
  char type[32], actor[32];

  snprintf(type, sizeof type, "v1.test.%" PRId64, seq);
  snprintf(actor, sizeof actor, "actor-%" PRId64, seq);
  ASSERT_EQ(ev->sequence, seq);
  ASSERT_EQ(ev->created_at, 1700000000000000 + seq);
  ASSERT_STREQ(ev->event_type, type);
  ASSERT_STREQ(ev->subject_kind, "package");
  ASSERT_STREQ(ev->actor, actor);
  ASSERT_EQ(ev->subject_id.b[0], (uint8_t)seq);
  ASSERT_EQ(ev->payload_len, plen);
  for (size_t k = 0; k < plen; k++)
    ASSERT_EQ(ev->payload[k], (uint8_t)(seq * 7 + (int64_t)k));
  ASSERT_EQ(ev->payload_digest[0], seq & 0xff);
  ASSERT_EQ(ev->chain_digest[DIGEST_LEN - 1], (seq + 1) & 0xff);
}

/* evring_since(since, limit) returns 0 and exactly the events lo..hi. */
static void expect_range(struct evring *r, int64_t since, size_t limit,
                         int64_t lo, int64_t hi, size_t plen) {
  const struct event_rec *out[MAXEV];
  size_t n = 12345;

  ASSERT(limit <= MAXEV);
  ASSERT_EQ(evring_since(r, since, limit, out, &n), 0);
  ASSERT_EQ(n, hi - lo + 1);
  for (size_t i = 0; i < n; i++)
    check_event(out[i], lo + (int64_t)i, plen);
}

static void expect_again(struct evring *r, int64_t since) {
  const struct event_rec *out[MAXEV];
  size_t n = 12345;

  ASSERT_EQ(evring_since(r, since, MAXEV, out, &n), AS_AGAIN);
  ASSERT_EQ(n, 0);
}

static void push_range(struct evring *r, struct src *s, int64_t lo, int64_t hi,
                       size_t plen) {
  size_t n = (size_t)(hi - lo + 1);

  for (size_t i = 0; i < n; i++)
    src_fill(s, i, lo + (int64_t)i, plen);
  ASSERT_EQ(evring_push(r, s->ev, n), 0);
  ASSERT_EQ(evring_last(r), hi);
}

static void test_new_invalid(void) {
  struct evring *r = (struct evring *)&r;

  ASSERT_EQ(evring_new(0, 1024, &r), UV_EINVAL);
  ASSERT(r == NULL);
  ASSERT_EQ(evring_new(8, 0, &r), UV_EINVAL);
  ASSERT(r == NULL);
  evring_free(NULL);
}

static void test_empty(void) {
  struct evring *r;

  ASSERT_EQ(evring_new(8, 1 << 20, &r), 0);
  ASSERT_EQ(evring_last(r), 0);
  expect_range(r, 0, 8, 1, 0, 0);   /* nothing yet, nothing missed */
  expect_range(r, 5, 8, 1, 0, 0);   /* ahead of the log */
  expect_range(r, -3, 8, 1, 0, 0);  /* negative is "from the start" */

  /* Seeded at start-up: the ring is empty but knows the log has 100. */
  evring_set_last(r, 100);
  ASSERT_EQ(evring_last(r), 100);
  expect_range(r, 100, 8, 1, 0, 0);
  expect_range(r, 150, 8, 1, 0, 0);
  expect_again(r, 99);
  expect_again(r, 0);
  expect_again(r, -1);

  /* The first push after seeding must continue from 101. */
  {
    struct src s;

    src_fill(&s, 0, 100, 4);
    ASSERT_EQ(evring_push(r, s.ev, 1), UV_EINVAL);
    src_fill(&s, 0, 102, 4);
    ASSERT_EQ(evring_push(r, s.ev, 1), UV_EINVAL);
    ASSERT_EQ(evring_last(r), 100);
    push_range(r, &s, 101, 103, 4);
    expect_range(r, 100, 8, 101, 103, 4);
    expect_again(r, 99);
  }
  evring_free(r);
}

static void test_push_since_limit(void) {
  struct evring *r;
  struct src s;
  const struct event_rec *out[MAXEV];
  size_t n;

  ASSERT_EQ(evring_new(16, 1 << 20, &r), 0);
  ASSERT_EQ(evring_push(r, s.ev, 0), 0); /* empty batch: no-op */
  ASSERT_EQ(evring_last(r), 0);
  push_range(r, &s, 1, 5, 10);

  /* The ring holds copies: wreck the sources. */
  for (size_t i = 0; i < 5; i++) {
    ASSERT(s.ev[i].event_type != NULL);
    memset(s.type[i], 'X', sizeof s.type[i] - 1);
    memset(s.actor[i], 'Y', sizeof s.actor[i] - 1);
    memset(s.payload[i], 0xee, sizeof s.payload[i]);
  }
  expect_range(r, 0, 16, 1, 5, 10);
  ASSERT_EQ(evring_since(r, 0, 16, out, &n), 0);
  ASSERT(out[0]->event_type != s.type[0]);
  ASSERT(out[0]->payload != s.payload[0]);

  expect_range(r, 2, 16, 3, 5, 10);
  expect_range(r, 4, 16, 5, 5, 10);
  expect_range(r, 5, 16, 1, 0, 10);  /* since == newest */
  expect_range(r, 9, 16, 1, 0, 10);  /* since > newest */

  /* limit cuts the oldest-first list. */
  expect_range(r, 0, 2, 1, 2, 10);
  expect_range(r, 3, 1, 4, 4, 10);
  expect_range(r, 0, 0, 1, 0, 10);
  expect_range(r, 0, 5, 1, 5, 10);

  /* Gaps, repeats and out-of-order batches are refused whole. */
  src_fill(&s, 0, 6, 10);
  src_fill(&s, 1, 8, 10);
  ASSERT_EQ(evring_push(r, s.ev, 2), UV_EINVAL);
  src_fill(&s, 0, 5, 10);
  ASSERT_EQ(evring_push(r, s.ev, 1), UV_EINVAL);
  ASSERT_EQ(evring_last(r), 5);
  expect_range(r, 0, 16, 1, 5, 10);

  /* Pushing in several batches keeps one gapless run. */
  push_range(r, &s, 6, 6, 10);
  push_range(r, &s, 7, 12, 10);
  expect_range(r, 0, 16, 1, 12, 10);
  expect_range(r, 5, 3, 6, 8, 10);
  evring_free(r);
}

static void test_evict_by_count(void) {
  struct evring *r;
  struct src s;

  ASSERT_EQ(evring_new(4, 1 << 20, &r), 0);
  for (int64_t seq = 1; seq <= 10; seq++) {
    push_range(r, &s, seq, seq, 3);
    int64_t oldest = seq > 4 ? seq - 3 : 1;
    expect_range(r, oldest - 1, MAXEV, oldest, seq, 3);
    if (oldest > 1)
      expect_again(r, oldest - 2);
  }
  /* Holds 7..10: since 6 is the oldest answerable, since 5 missed 6. */
  expect_range(r, 6, MAXEV, 7, 10, 3);
  expect_range(r, 8, MAXEV, 9, 10, 3);
  expect_again(r, 5);
  expect_again(r, 0);

  /* A batch longer than the ring keeps only its newest events. */
  push_range(r, &s, 11, 30, 3);
  expect_range(r, 26, MAXEV, 27, 30, 3);
  expect_again(r, 25);
  expect_again(r, 10);

  /* Exactly max_events in one batch replaces everything. */
  push_range(r, &s, 31, 34, 3);
  expect_range(r, 30, MAXEV, 31, 34, 3);
  expect_again(r, 29);
  evring_free(r);
}

static void test_evict_by_bytes(void) {
  struct evring *r;
  struct src s;
  size_t one;

  /* Events 1..9 all have the same size (one-digit sequence numbers). */
  src_fill(&s, 0, 1, 100);
  one = charge(&s.ev[0]);

  /* Room for exactly three events by bytes, ten by count. */
  ASSERT_EQ(evring_new(10, 3 * one, &r), 0);
  push_range(r, &s, 1, 3, 100);
  expect_range(r, 0, MAXEV, 1, 3, 100);
  push_range(r, &s, 4, 4, 100);
  expect_range(r, 1, MAXEV, 2, 4, 100);
  expect_again(r, 0);
  push_range(r, &s, 5, 9, 100);
  expect_range(r, 6, MAXEV, 7, 9, 100);
  expect_again(r, 5);
  evring_free(r);

  /* One byte short of three: only two fit. */
  ASSERT_EQ(evring_new(10, 3 * one - 1, &r), 0);
  push_range(r, &s, 1, 3, 100);
  expect_range(r, 1, MAXEV, 2, 3, 100);
  expect_again(r, 0);
  evring_free(r);

  /* A big event pushes out as many small ones as it needs. */
  ASSERT_EQ(evring_new(10, 3 * one, &r), 0);
  push_range(r, &s, 1, 3, 100);
  src_fill(&s, 0, 4, 100 + one);   /* exactly two small events' worth */
  ASSERT_EQ(charge(&s.ev[0]), 2 * one);
  ASSERT_EQ(evring_push(r, s.ev, 1), 0);
  {
    const struct event_rec *out[MAXEV];
    size_t n;

    ASSERT_EQ(evring_since(r, 2, MAXEV, out, &n), 0);
    ASSERT_EQ(n, 2);
    check_event(out[0], 3, 100);
    check_event(out[1], 4, 100 + one);
    expect_again(r, 1);
  }
  evring_free(r);

  /* A ring with a one-byte budget holds nothing but still knows last. */
  ASSERT_EQ(evring_new(1, 1, &r), 0);
  src_fill(&s, 0, 5, 10);
  ASSERT_EQ(evring_push(r, s.ev, 1), UV_EINVAL); /* must start at 1 */
  evring_set_last(r, 4);
  ASSERT_EQ(evring_push(r, s.ev, 1), 0);
  ASSERT_EQ(evring_last(r), 5);
  expect_range(r, 5, MAXEV, 1, 0, 0);
  expect_again(r, 4);
  evring_free(r);
}

static void test_evict_big_event(void) {
  struct evring *r;
  struct src s;
  size_t one;

  src_fill(&s, 0, 1, 10);
  one = charge(&s.ev[0]);
  ASSERT_EQ(evring_new(10, 4 * one, &r), 0);
  push_range(r, &s, 1, 4, 10);
  expect_range(r, 0, MAXEV, 1, 4, 10);

  /* Bigger than the whole budget: everything goes, including itself. */
  src_fill(&s, 0, 5, 4 * one);
  ASSERT(charge(&s.ev[0]) > 4 * one);
  ASSERT_EQ(evring_push(r, s.ev, 1), 0);
  ASSERT_EQ(evring_last(r), 5);
  expect_range(r, 5, MAXEV, 1, 0, 0);
  expect_again(r, 4);
  expect_again(r, 0);

  /* Small events fill it again after that. */
  push_range(r, &s, 6, 7, 10);
  expect_range(r, 5, MAXEV, 6, 7, 10);
  expect_again(r, 4);
  evring_free(r);
}

/* set_last on a ring with events forgets them. */
static void test_set_last_resets(void) {
  struct evring *r;
  struct src s;

  ASSERT_EQ(evring_new(8, 1 << 20, &r), 0);
  push_range(r, &s, 1, 5, 1);
  evring_set_last(r, 40);
  ASSERT_EQ(evring_last(r), 40);
  expect_again(r, 5);
  expect_range(r, 40, MAXEV, 1, 0, 0);
  push_range(r, &s, 41, 42, 1);
  expect_range(r, 40, MAXEV, 41, 42, 1);
  evring_free(r);
}

static void test_dup(void) {
  struct src s;
  struct event_rec *c;
  struct event_rec bare;

  src_fill(&s, 0, 77, 200);
  c = event_rec_dup(&s.ev[0]);
  ASSERT(c != NULL);
  memset(s.type[0], 0, sizeof s.type[0]);
  memset(s.payload[0], 0, sizeof s.payload[0]);
  check_event(c, 77, 200);
  ASSERT(c->event_type != s.ev[0].event_type);
  free(c);

  /* NULL strings and no payload stay that way. */
  memset(&bare, 0, sizeof bare);
  bare.sequence = 3;
  c = event_rec_dup(&bare);
  ASSERT(c != NULL);
  ASSERT_EQ(c->sequence, 3);
  ASSERT(c->event_type == NULL && c->subject_kind == NULL &&
         c->actor == NULL && c->payload == NULL);
  ASSERT_EQ(c->payload_len, 0);
  free(c);
}

TEST_MAIN(TEST_CASE(test_new_invalid), TEST_CASE(test_empty),
          TEST_CASE(test_push_since_limit), TEST_CASE(test_evict_by_count),
          TEST_CASE(test_evict_by_bytes), TEST_CASE(test_evict_big_event),
          TEST_CASE(test_set_last_resets), TEST_CASE(test_dup))
