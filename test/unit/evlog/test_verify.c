/*
 * test_verify.c: verify_log (verify.h) on a log written through the
 * writer (the shared dataset: 9 events of every type), then tampered
 * with by opening the file with sqlite3, as anyone holding it could
 * (the triggers refusing UPDATE and DELETE are dropped first).  An
 * untouched log verifies, its head the last chain digest; each class of
 * tampering is caught at the right sequence with a reason: a payload
 * byte flipped, a field edited (actor, created_at, type, subject, the
 * payload digest recomputed), a row deleted at the start or in the
 * middle, rows deleted at the end (caught through state.last_sequence),
 * a payload stored as TEXT, text hiding a NUL, and a payload that is not
 * canonical CBOR even with every digest recomputed to match.
 */
#include <sqlite3.h>

#include "store/codec/ccbor.h"
#include "store/evlog/chain.h"
#include "store/evlog/log.h"
#include "store/evlog/verify.h"

#include "registry/registry_fixture.h"

#define LOG_EVENTS DATASET_EVENTS

static void build_log(struct fixture *f) {
  struct dataset ds;

  fixture_init(f, "verify");
  fixture_writer_open(f, &views_domain);
  dataset_build(f, &ds);
  fixture_writer_close(f);
}

/* Runs SQL on the file as an attacker would: the log's triggers dropped,
 * CHECK constraints ignored. */
static void tamper(const struct fixture *f, const char *sql) {
  sqlite3 *db;
  char *err = NULL;

  ASSERT_EQ(sqlite3_open(f->db, &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TRIGGER IF EXISTS events_no_update; "
                             "DROP TRIGGER IF EXISTS events_no_delete; "
                             "PRAGMA ignore_check_constraints = ON",
                         NULL, NULL, NULL),
            SQLITE_OK);
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
    fprintf(stderr, "%s: %s\n", sql, err);
  ASSERT(err == NULL);
  sqlite3_close(db);
}

/* The chain digest stored in row seq. */
static void stored_chain(const struct fixture *f, int64_t seq,
                         uint8_t out[DIGEST_LEN]) {
  sqlite3 *db;
  sqlite3_stmt *q;

  ASSERT_EQ(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT chain_digest FROM events "
                                   "WHERE sequence = ?1",
                               -1, &q, NULL),
            SQLITE_OK);
  sqlite3_bind_int64(q, 1, seq);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  ASSERT_EQ(sqlite3_column_bytes(q, 0), DIGEST_LEN);
  memcpy(out, sqlite3_column_blob(q, 0), DIGEST_LEN);
  sqlite3_finalize(q);
  sqlite3_close(db);
}

static void verify(const struct fixture *f, struct verify_report *r) {
  struct errbuf e = {{0}};
  int rc = verify_log(f->db, r, &e);

  if (rc != 0)
    fprintf(stderr, "verify_log: %s\n", err_msg(&e, rc));
  ASSERT_EQ(rc, 0);
}

/* The log fails at bad with a reason holding why; the events before it
 * verified, and the head is the chain digest of the last of them. */
static void expect_bad(const struct fixture *f, int64_t bad,
                       const char *why) {
  struct verify_report r;
  uint8_t want[DIGEST_LEN] = {0};

  verify(f, &r);
  if (r.bad_sequence != bad || strstr(r.why, why) == NULL)
    fprintf(stderr, "verify: bad %lld: %s\n", (long long)r.bad_sequence,
            r.why);
  ASSERT_EQ(r.bad_sequence, bad);
  ASSERT(strstr(r.why, why) != NULL);
  ASSERT_EQ(r.verified, bad - 1);
  if (bad > 1)
    stored_chain(f, bad - 1, want);
  ASSERT_MEMEQ(r.head, want, DIGEST_LEN);
}

/* ---- a faithful log ------------------------------------------------------ */

static void test_ok(void) {
  struct fixture f;
  struct verify_report r;
  uint8_t last[DIGEST_LEN];

  build_log(&f);
  verify(&f, &r);
  ASSERT_EQ(r.bad_sequence, 0);
  ASSERT_EQ(r.verified, LOG_EVENTS);
  ASSERT_STREQ(r.why, "");
  stored_chain(&f, LOG_EVENTS, last);
  ASSERT_MEMEQ(r.head, last, DIGEST_LEN);
  fixture_done(&f);
}

static void test_empty_log(void) {
  struct fixture f;
  struct verify_report r;
  static const uint8_t zero[DIGEST_LEN];

  fixture_init(&f, "verify");
  fixture_writer_open(&f, &views_domain);
  fixture_writer_close(&f);
  verify(&f, &r);
  ASSERT_EQ(r.bad_sequence, 0);
  ASSERT_EQ(r.verified, 0);
  ASSERT_MEMEQ(r.head, zero, DIGEST_LEN);
  fixture_done(&f);
}

/* No file: an error with a message, and nothing created. */
static void test_missing_database(void) {
  struct fixture f;
  struct verify_report r;
  struct errbuf e = {{0}};

  fixture_init(&f, "verify");
  memset(&r, 0xaa, sizeof r);
  ASSERT(verify_log(f.db, &r, &e) < 0);
  ASSERT(strstr(e.msg, "cannot open database") != NULL);
  ASSERT(strstr(e.msg, f.db) != NULL);
  ASSERT_EQ(r.verified, 0);
  ASSERT_EQ(r.bad_sequence, 0);
  ASSERT(!fixture_exists(f.db));
  fixture_done(&f);
}

/* ---- edited rows --------------------------------------------------------- */

/* Flips the lowest bit of the middle byte of row seq's payload. */
static void flip_payload_byte(const struct fixture *f, int64_t seq) {
  sqlite3 *db;
  sqlite3_stmt *q;
  uint8_t *p;
  int n;

  tamper(f, "SELECT 1");
  ASSERT_EQ(sqlite3_open(f->db, &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT payload FROM events "
                                   "WHERE sequence = ?1",
                               -1, &q, NULL),
            SQLITE_OK);
  sqlite3_bind_int64(q, 1, seq);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  n = sqlite3_column_bytes(q, 0);
  ASSERT(n > 0);
  p = malloc((size_t)n);
  ASSERT(p != NULL);
  memcpy(p, sqlite3_column_blob(q, 0), (size_t)n);
  sqlite3_finalize(q);
  p[n / 2] ^= 0x01;
  ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE events SET payload = ?2 "
                                   "WHERE sequence = ?1",
                               -1, &q, NULL),
            SQLITE_OK);
  sqlite3_bind_int64(q, 1, seq);
  sqlite3_bind_blob(q, 2, p, n, SQLITE_STATIC);
  ASSERT_EQ(sqlite3_step(q), SQLITE_DONE);
  sqlite3_finalize(q);
  sqlite3_close(db);
  free(p);
}

/* The first, a middle and the last row. */
static void test_payload_byte_flipped(void) {
  static const int64_t seqs[] = {1, 5, LOG_EVENTS};

  for (size_t i = 0; i < ARRAY_SIZE(seqs); i++) {
    struct fixture f;

    build_log(&f);
    flip_payload_byte(&f, seqs[i]);
    expect_bad(&f, seqs[i], "payload digest does not match");
    fixture_done(&f);
  }
}

/* Any field of a row, edited: its chain digest no longer matches. */
static void test_field_edited(void) {
  static const char *const edits[] = {
      "UPDATE events SET actor = 'mallory' WHERE sequence = 3",
      "UPDATE events SET created_at = created_at + 1 WHERE sequence = 3",
      ("UPDATE events SET event_type = 'v1.package.finalized' "
       "WHERE sequence = 3"),
      "UPDATE events SET subject_kind = 'file' WHERE sequence = 3",
      "UPDATE events SET subject_id = zeroblob(16) WHERE sequence = 3",
      "UPDATE events SET chain_digest = zeroblob(32) WHERE sequence = 3",
  };

  for (size_t i = 0; i < ARRAY_SIZE(edits); i++) {
    struct fixture f;

    build_log(&f);
    tamper(&f, edits[i]);
    expect_bad(&f, 3, "chain digest does not match");
    fixture_done(&f);
  }
}

/* ---- missing rows -------------------------------------------------------- */

static void test_row_deleted(void) {
  static const struct {
    int64_t seq;
    const char *why;
  } cases[] = {
      {1, "missing: the log jumps from 0 to 2"},
      {5, "missing: the log jumps from 4 to 6"},
  };

  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct fixture f;
    char sql[128];

    build_log(&f);
    snprintf(sql, sizeof sql, "DELETE FROM events WHERE sequence = %lld",
             (long long)cases[i].seq);
    tamper(&f, sql);
    expect_bad(&f, cases[i].seq, cases[i].why);
    fixture_done(&f);
  }
}

/* The rows that remain verify; the state row says more were applied. */
static void test_rows_deleted_at_end(void) {
  struct fixture f;
  struct verify_report r;
  uint8_t head[DIGEST_LEN];

  build_log(&f);
  tamper(&f, "DELETE FROM events WHERE sequence >= 8");
  verify(&f, &r);
  ASSERT_EQ(r.bad_sequence, 8);
  ASSERT(strstr(r.why, "views were built up to 9 but the log ends at 7") !=
         NULL);
  ASSERT_EQ(r.verified, 7);
  stored_chain(&f, 7, head);
  ASSERT_MEMEQ(r.head, head, DIGEST_LEN);

  /* ...and the state row rewound to match hides it: verify alone cannot
   * tell, the head (compared with a recorded one) can. */
  tamper(&f, "UPDATE state SET last_sequence = 7");
  verify(&f, &r);
  ASSERT_EQ(r.bad_sequence, 0);
  ASSERT_EQ(r.verified, 7);
  ASSERT_MEMEQ(r.head, head, DIGEST_LEN);
  fixture_done(&f);
}

/* ---- values of the wrong type -------------------------------------------- */

static void test_wrong_storage(void) {
  static const char *const edits[] = {
      /* the same bytes, another type: */
      "UPDATE events SET payload = CAST(payload AS TEXT) WHERE sequence = 4",
      "UPDATE events SET created_at = 'x' || created_at WHERE sequence = 4",
      "UPDATE events SET actor = CAST(actor AS BLOB) WHERE sequence = 4",
      /* text hiding more after a NUL (hashed only up to it) */
      "UPDATE events SET actor = actor || char(0) || 'x' WHERE sequence = 4",
      ("UPDATE events SET event_type = event_type || char(0) "
       "WHERE sequence = 4"),
      /* a digest of the wrong length */
      "UPDATE events SET payload_digest = zeroblob(31) WHERE sequence = 4",
  };

  for (size_t i = 0; i < ARRAY_SIZE(edits); i++) {
    struct fixture f;

    build_log(&f);
    tamper(&f, edits[i]);
    expect_bad(&f, 4, "the row is malformed");
    fixture_done(&f);
  }
}

/* ---- rewritten with matching digests ------------------------------------- */

/* Sets row seq's payload, then recomputes its payload digest and the
 * chain from it to the end, as an attacker covering an edit would. */
static void rewrite(const struct fixture *f, int64_t seq,
                    const uint8_t *payload, size_t len) {
  struct evlog_db *ldb;
  struct event_rec **v;
  struct errbuf e = {{0}};
  uint8_t prev[DIGEST_LEN];
  sqlite3 *db;
  sqlite3_stmt *q;
  size_t n;

  tamper(f, "SELECT 1");
  stored_chain(f, seq - 1, prev);
  ASSERT_EQ(evlog_open(f->db, EVLOG_RO, &ldb, &e), 0);
  ASSERT_EQ(evlog_read_since(ldb, seq - 1, EVLOG_READ_MAX, &v, &n, &e), 0);
  evlog_close(ldb);
  ASSERT(n > 0);
  v[0]->payload = payload;
  v[0]->payload_len = len;
  ASSERT_EQ(sqlite3_open(f->db, &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE events SET payload = ?2, "
                                   "payload_digest = ?3, chain_digest = ?4 "
                                   "WHERE sequence = ?1",
                               -1, &q, NULL),
            SQLITE_OK);
  for (size_t i = 0; i < n; i++) {
    struct event_rec *ev = v[i];
    evlog_payload_digest(ev->payload, ev->payload_len, ev->payload_digest);
    ASSERT_EQ(evlog_chain_digest(prev, ev, ev->chain_digest), 0);
    memcpy(prev, ev->chain_digest, DIGEST_LEN);
    sqlite3_bind_int64(q, 1, ev->sequence);
    sqlite3_bind_blob(q, 2, ev->payload, (int)ev->payload_len,
                      SQLITE_STATIC);
    sqlite3_bind_blob(q, 3, ev->payload_digest, DIGEST_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(q, 4, ev->chain_digest, DIGEST_LEN, SQLITE_STATIC);
    ASSERT_EQ(sqlite3_step(q), SQLITE_DONE);
    sqlite3_reset(q);
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* A payload that is valid CBOR but not canonical (an integer in a longer
 * form than it needs), every digest recomputed: caught all the same. */
static void test_non_canonical_payload(void) {
  /* {"a": 1} with 1 in two bytes instead of one */
  static const uint8_t longer[] = {0xa1, 0x61, 'a', 0x18, 0x01};
  struct fixture f;
  cbor_item_t *item = NULL;

  ASSERT(ccbor_decode(longer, sizeof longer, &item, NULL) != 0);
  ASSERT(item == NULL);
  build_log(&f);
  rewrite(&f, 6, longer, sizeof longer);
  expect_bad(&f, 6, "payload is not canonical CBOR");
  fixture_done(&f);
}

/* A canonical edit with every digest recomputed verifies: what it
 * cannot hide is the head, which no longer matches one recorded before
 * (--verify-log prints it for that). */
static void test_rewritten_chain_changes_head(void) {
  static const uint8_t other[] = {0xa1, 0x61, 'a', 0x01}; /* {"a": 1} */
  struct fixture f;
  struct verify_report before, after;

  build_log(&f);
  verify(&f, &before);
  rewrite(&f, 6, other, sizeof other);
  verify(&f, &after);
  ASSERT_EQ(after.bad_sequence, 0);
  ASSERT_EQ(after.verified, LOG_EVENTS);
  ASSERT(memcmp(before.head, after.head, DIGEST_LEN) != 0);
  fixture_done(&f);
}

/* ---- the daemon's start-up checks ---------------------------------------- */

static void verify_from(const struct fixture *f, int64_t from,
                        struct verify_report *r) {
  struct errbuf e = {{0}};
  int rc = verify_log_from(f->db, from, r, &e);

  if (rc != 0)
    fprintf(stderr, "verify_log_from: %s\n", err_msg(&e, rc));
  ASSERT_EQ(rc, 0);
}

/* From sequence S on, seeded with the stored chain digest of S - 1: an
 * edit at or after S is found, one before S is not (it is not checked);
 * a deleted seed row is reported at its sequence. */
static void test_from_sequence(void) {
  struct fixture f;
  struct verify_report r;
  uint8_t last[DIGEST_LEN];

  build_log(&f);
  stored_chain(&f, LOG_EVENTS, last);
  for (int64_t from = 0; from <= LOG_EVENTS + 1; from++) {
    verify_from(&f, from, &r);
    ASSERT_EQ(r.bad_sequence, 0);
    ASSERT_EQ(r.verified, LOG_EVENTS - (from < 1 ? 1 : from) + 1);
    if (from <= LOG_EVENTS)
      ASSERT_MEMEQ(r.head, last, DIGEST_LEN);
  }
  tamper(&f, "UPDATE events SET actor = 'mallory' WHERE sequence = 5");
  verify_from(&f, 5, &r);
  ASSERT_EQ(r.bad_sequence, 5);
  ASSERT(strstr(r.why, "chain digest") != NULL);
  ASSERT_EQ(r.verified, 0);
  verify_from(&f, 3, &r);
  ASSERT_EQ(r.bad_sequence, 5);
  ASSERT_EQ(r.verified, 2);
  verify_from(&f, 6, &r);
  ASSERT_EQ(r.bad_sequence, 0);
  ASSERT_EQ(r.verified, LOG_EVENTS - 5);
  /* an edit of the seed's chain digest breaks the first checked row */
  tamper(&f, "UPDATE events SET chain_digest = zeroblob(32) "
             "WHERE sequence = 6");
  verify_from(&f, 7, &r);
  ASSERT_EQ(r.bad_sequence, 7);
  tamper(&f, "DELETE FROM events WHERE sequence = 6");
  verify_from(&f, 7, &r);
  ASSERT_EQ(r.bad_sequence, 6);
  ASSERT(strstr(r.why, "missing") != NULL);
  fixture_done(&f);
}

/* The events table's pages overwritten (the WAL checkpointed into the
 * file first): reading the seed row fails, and that is a read error
 * (EVLOG_ECORRUPT), not a "deleted row" finding. */
static void test_from_sequence_damaged_file(void) {
  struct verify_report r;
  struct errbuf e = {{0}};
  struct fixture f;
  sqlite3 *db;
  sqlite3_stmt *q;
  int64_t root, page;
  char junk[512];
  FILE *fp;
  int rc;

  build_log(&f);
  ASSERT_EQ(sqlite3_open(f.db, &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
                         NULL),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_master "
                                   "WHERE type = 'table' AND name = 'events'",
                               -1, &q, NULL),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  root = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &q, NULL),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  page = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  sqlite3_close(db);
  ASSERT(root > 1);
  memset(junk, 0xa5, sizeof junk);
  fp = fopen(f.db, "r+b");
  ASSERT(fp != NULL);
  ASSERT_EQ(fseek(fp, (long)((root - 1) * page), SEEK_SET), 0);
  ASSERT_EQ(fwrite(junk, 1, sizeof junk, fp), sizeof junk);
  ASSERT_EQ(fclose(fp), 0);

  memset(&r, 0, sizeof r);
  rc = verify_log_from(f.db, 5, &r, &e);
  ASSERT_EQ(rc, EVLOG_ECORRUPT);
  ASSERT_EQ(r.bad_sequence, 0);
  ASSERT(strstr(e.msg, "missing") == NULL);
  fixture_done(&f);
}

static void test_quick_check(void) {
  struct errbuf e = {{0}};
  struct fixture f;

  build_log(&f);
  ASSERT_EQ(verify_quick_check(f.db, &e), 0);
  fixture_done(&f);
}

TEST_MAIN(TEST_CASE(test_ok), TEST_CASE(test_empty_log),
          TEST_CASE(test_from_sequence), TEST_CASE(test_quick_check),
          TEST_CASE(test_from_sequence_damaged_file),
          TEST_CASE(test_missing_database),
          TEST_CASE(test_payload_byte_flipped), TEST_CASE(test_field_edited),
          TEST_CASE(test_row_deleted), TEST_CASE(test_rows_deleted_at_end),
          TEST_CASE(test_wrong_storage),
          TEST_CASE(test_non_canonical_payload),
          TEST_CASE(test_rewritten_chain_changes_head))
