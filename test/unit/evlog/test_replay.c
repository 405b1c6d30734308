/*
 * test_replay.c: rebuilding the views from the log (replay.h) on a log
 * written through the writer with every event type (the registry is the
 * domain): a rebuild reproduces the view digest, in place and on a
 * scratch copy, which is deleted afterwards; a view row edited or
 * deleted by hand is caught by the scratch rebuild (the digests differ)
 * and repaired by the live one; a gap in the log, or an event the views
 * refuse, is reported and changes nothing; the view digest is stable
 * and changes with any value of any view row, its type included.
 * Tampering opens the database file with sqlite3, as anyone could.
 */
#include <sqlite3.h>

#include "store/evlog/chain.h"
#include "store/evlog/log.h"
#include "store/evlog/replay.h"

#include "registry/registry_fixture.h"

/* The dataset, one more file sharing a blob, one more package with
 * metadata and a permanent class. */
#define LOG_EVENTS (DATASET_EVENTS + 2)
#define VIEW_ROWS (5 + 6 + 3 + 4 + 6 + 1) /* classes, packages, blobs,
                                           * files, retention, state */
#define SCRATCH "replay-scratch.db"

/* A closed database holding the log: the fixture's loop stays open. */
static void build_log(struct fixture *f) {
  struct dataset ds;
  struct file_ingest_req fr = {.path = "shared.bin", .size = 10};
  struct pkg_create_req req = {.name = "meta", .producer = "p",
                               .subject = "s",
                               .retention_class = "permanent-record",
                               .metadata_json =
                                   "{\"k\": [1, \"two\", null, true]}",
                               .actor = "ops"};

  fixture_init(f, "replay");
  fixture_writer_open(f, &views_domain);
  dataset_build(f, &ds);
  fr.package_id = ds.pkg[1];
  memset(fr.digests.blake3, 0x10, DIGEST_LEN); /* z/last.bin's bytes */
  memset(fr.digests.sha256, 0x20, DIGEST_LEN);
  ASSERT_EQ(reg_ingest_ok(f, &fr).sequence, DATASET_EVENTS + 1);
  ASSERT_EQ(reg_create_ok(f, &req).sequence, LOG_EVENTS);
  fixture_writer_close(f);
}

static void exec_sql(const struct fixture *f, const char *sql) {
  sqlite3 *db;
  char *err = NULL;

  ASSERT_EQ(sqlite3_open(f->db, &db), SQLITE_OK);
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
    fprintf(stderr, "%s: %s\n", sql, err);
  ASSERT(err == NULL);
  sqlite3_close(db);
}

/* Removing rows from the log as an attacker would: the triggers that
 * refuse it go first. */
static void delete_events(const struct fixture *f, const char *where) {
  char sql[256];

  snprintf(sql, sizeof sql,
           "DROP TRIGGER events_no_delete; DELETE FROM events WHERE %s",
           where);
  exec_sql(f, sql);
}

/* The live view digest, read in one transaction. */
static void view_digest(const struct fixture *f, uint8_t out[DIGEST_LEN],
                        uint64_t *rows) {
  struct evlog_db *db;
  struct errbuf e = {{0}};

  ASSERT_EQ(evlog_open(f->db, EVLOG_RO, &db, &e), 0);
  ASSERT_EQ(evlog_begin(db, false, &e), 0);
  ASSERT_EQ(replay_view_digest(db, &views_domain, out, rows, &e), 0);
  evlog_rollback(db);
  evlog_close(db);
}

static void expect_no_scratch(const struct fixture *f) {
  static const char *const sfx[] = {"", "-journal", "-wal", "-shm"};
  char p[FIXTURE_PATH_MAX], name[64];

  for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
    snprintf(name, sizeof name, "%s%s", SCRATCH, sfx[i]);
    fixture_path(f, name, p);
    ASSERT(!fixture_exists(p));
  }
}

static void run_scratch(const struct fixture *f, struct replay_report *r) {
  char scratch[FIXTURE_PATH_MAX];
  struct errbuf e = {{0}};
  int rc;

  fixture_path(f, SCRATCH, scratch);
  rc = replay_scratch(f->db, scratch, &views_domain, r, &e);
  if (rc != 0)
    fprintf(stderr, "replay_scratch: %s\n", err_msg(&e, rc));
  ASSERT_EQ(rc, 0);
  ASSERT_EQ(r->applied, LOG_EVENTS);
  expect_no_scratch(f);
}

static void run_live(const struct fixture *f, struct replay_report *r) {
  struct errbuf e = {{0}};
  int rc = replay_live(f->db, &views_domain, r, &e);

  if (rc != 0)
    fprintf(stderr, "replay_live: %s\n", err_msg(&e, rc));
  ASSERT_EQ(rc, 0);
  ASSERT_EQ(r->applied, LOG_EVENTS);
}

/* ---- a faithful log ------------------------------------------------------ */

static void test_live_same_digest(void) {
  struct fixture f;
  struct replay_report r;
  uint8_t d[DIGEST_LEN];
  uint64_t rows;

  build_log(&f);
  view_digest(&f, d, &rows);
  ASSERT_EQ(rows, VIEW_ROWS);
  run_live(&f, &r);
  ASSERT_MEMEQ(r.before, d, DIGEST_LEN);
  ASSERT_MEMEQ(r.after, d, DIGEST_LEN);
  ASSERT(r.seconds >= 0);
  view_digest(&f, d, &rows);
  ASSERT_MEMEQ(r.after, d, DIGEST_LEN);
  ASSERT_EQ(rows, VIEW_ROWS);
  /* the daemon takes the rebuilt database as it is */
  fixture_writer_open(&f, &views_domain);
  fixture_done(&f);
}

/* The scratch rebuild reads the live database only and deletes its
 * copy (fixture_done's rmdir proves nothing else is left). */
static void test_scratch_same_digest(void) {
  struct fixture f;
  struct replay_report r;
  uint8_t d[DIGEST_LEN], again[DIGEST_LEN];

  build_log(&f);
  view_digest(&f, d, NULL);
  run_scratch(&f, &r);
  ASSERT_MEMEQ(r.before, d, DIGEST_LEN);
  ASSERT_MEMEQ(r.after, d, DIGEST_LEN);
  view_digest(&f, again, NULL);
  ASSERT_MEMEQ(again, d, DIGEST_LEN);
  fixture_done(&f);
}

/* replay_rebuild inside the caller's transaction: it empties the views
 * (the seeded classes stay), applies every event and stamps the end. */
static void test_rebuild_in_transaction(void) {
  struct fixture f;
  struct evlog_db *db;
  struct errbuf e = {{0}};
  uint8_t d[DIGEST_LEN], after[DIGEST_LEN];
  uint64_t applied, rows;
  int64_t stamped = -1;

  build_log(&f);
  view_digest(&f, d, NULL);
  ASSERT_EQ(evlog_open(f.db, EVLOG_REBUILD, &db, &e), 0);
  ASSERT_EQ(evlog_begin(db, true, &e), 0);
  ASSERT_EQ(replay_rebuild(db, &views_domain, &applied, &e), 0);
  ASSERT_EQ(applied, LOG_EVENTS);
  ASSERT_EQ(evlog_applied(db, &stamped, "test", &e), 0);
  ASSERT_EQ(stamped, LOG_EVENTS);
  ASSERT_EQ(evlog_check(db, &e), 0);
  ASSERT_EQ(replay_view_digest(db, &views_domain, after, &rows, &e), 0);
  ASSERT_MEMEQ(after, d, DIGEST_LEN);
  ASSERT_EQ(rows, VIEW_ROWS);
  evlog_rollback(db);
  evlog_close(db);
  fixture_done(&f);
}

/* An empty log rebuilds to the views of a fresh database. */
static void test_rebuild_empty_log(void) {
  struct fixture f;
  struct replay_report r;
  struct errbuf e = {{0}};
  uint64_t rows;
  uint8_t d[DIGEST_LEN];

  fixture_init(&f, "replay");
  fixture_writer_open(&f, &views_domain);
  fixture_writer_close(&f);
  view_digest(&f, d, &rows);
  ASSERT_EQ(rows, 5 + 1); /* the seeded classes and the state row */
  ASSERT_EQ(replay_live(f.db, &views_domain, &r, &e), 0);
  ASSERT_EQ(r.applied, 0);
  ASSERT_MEMEQ(r.before, d, DIGEST_LEN);
  ASSERT_MEMEQ(r.after, d, DIGEST_LEN);
  fixture_done(&f);
}

/* ---- views that drifted from the log ------------------------------------- */

static void expect_drift_detected_and_repaired(struct fixture *f,
                                               const char *edit) {
  struct replay_report r;
  uint8_t good[DIGEST_LEN], bad[DIGEST_LEN], d[DIGEST_LEN];

  view_digest(f, good, NULL);
  exec_sql(f, edit);
  view_digest(f, bad, NULL);
  ASSERT(memcmp(good, bad, DIGEST_LEN) != 0);

  /* The check sees the drift and leaves the database alone. */
  run_scratch(f, &r);
  ASSERT_MEMEQ(r.before, bad, DIGEST_LEN);
  ASSERT_MEMEQ(r.after, good, DIGEST_LEN);
  view_digest(f, d, NULL);
  ASSERT_MEMEQ(d, bad, DIGEST_LEN);

  /* The live rebuild repairs it; a second check agrees. */
  run_live(f, &r);
  ASSERT_MEMEQ(r.before, bad, DIGEST_LEN);
  ASSERT_MEMEQ(r.after, good, DIGEST_LEN);
  run_scratch(f, &r);
  ASSERT_MEMEQ(r.before, good, DIGEST_LEN);
  ASSERT_MEMEQ(r.after, good, DIGEST_LEN);
}

static void test_edited_row_detected_and_repaired(void) {
  struct fixture f;

  build_log(&f);
  expect_drift_detected_and_repaired(
      &f, "UPDATE packages SET name = 'tampered' WHERE id IN "
          "(SELECT id FROM packages ORDER BY id LIMIT 1 OFFSET 2)");
  fixture_done(&f);
}

static void test_deleted_row_detected_and_repaired(void) {
  struct fixture f;

  build_log(&f);
  expect_drift_detected_and_repaired(
      &f, "DELETE FROM files WHERE id IN "
          "(SELECT id FROM files ORDER BY id LIMIT 1)");
  fixture_done(&f);
}

/* A row the log never implied is dropped by the rebuild. */
static void test_extra_row_detected_and_repaired(void) {
  struct fixture f;

  build_log(&f);
  expect_drift_detected_and_repaired(
      &f, "INSERT INTO blobs (blake3, sha256, size, refcount) "
          "VALUES (zeroblob(32), zeroblob(32), 0, 1)");
  fixture_done(&f);
}

/* ---- a log that cannot be replayed --------------------------------------- */

/* A gap is reported, naming the missing sequence; neither rebuild keeps
 * anything, and the scratch copy is deleted all the same. */
static void test_gap_reported(void) {
  struct fixture f;
  struct replay_report r;
  struct errbuf e = {{0}};
  char scratch[FIXTURE_PATH_MAX];
  uint8_t d[DIGEST_LEN], after[DIGEST_LEN];

  build_log(&f);
  delete_events(&f, "sequence = 4");
  view_digest(&f, d, NULL);

  ASSERT_EQ(replay_live(f.db, &views_domain, &r, &e), UV_EPROTO);
  ASSERT(strstr(e.msg, "gap: sequence 4 is missing (next is 5)") != NULL);
  ASSERT(strstr(e.msg, "--verify-log") != NULL);
  view_digest(&f, after, NULL);
  ASSERT_MEMEQ(after, d, DIGEST_LEN);

  memset(&e, 0, sizeof e);
  fixture_path(&f, SCRATCH, scratch);
  ASSERT_EQ(replay_scratch(f.db, scratch, &views_domain, &r, &e),
            UV_EPROTO);
  ASSERT(strstr(e.msg, "sequence 4 is missing") != NULL);
  expect_no_scratch(&f);
  view_digest(&f, after, NULL);
  ASSERT_MEMEQ(after, d, DIGEST_LEN);
  fixture_done(&f);
}

/* The first row missing is a gap too. */
static void test_gap_at_start_reported(void) {
  struct fixture f;
  struct replay_report r;
  struct errbuf e = {{0}};

  build_log(&f);
  delete_events(&f, "sequence = 1");
  ASSERT_EQ(replay_live(f.db, &views_domain, &r, &e), UV_EPROTO);
  ASSERT(strstr(e.msg, "sequence 1 is missing (next is 2)") != NULL);
  fixture_done(&f);
}

/* An event, properly chained, that the views refuse: the rebuild stops
 * there with the views' message and keeps nothing. */
static void test_unfit_event_reported(void) {
  static const uint8_t payload[] = {0xa0};
  struct fixture f;
  struct replay_report r;
  struct evlog_db *db;
  struct errbuf e = {{0}};
  struct event_rec ev;
  uint8_t prev[DIGEST_LEN], d[DIGEST_LEN], after[DIGEST_LEN];
  int64_t seq;

  build_log(&f);
  ASSERT_EQ(evlog_open(f.db, EVLOG_RW, &db, &e), 0);
  ASSERT_EQ(evlog_begin(db, true, &e), 0);
  ASSERT_EQ(evlog_tail(db, &seq, prev, &e), 0);
  ASSERT_EQ(seq, LOG_EVENTS);
  memset(&ev, 0, sizeof ev);
  ev.sequence = seq + 1;
  ev.event_type = "v9.thing.happened";
  ev.subject_kind = "thing";
  ev.actor = "someone";
  ev.payload = payload;
  ev.payload_len = sizeof payload;
  evlog_payload_digest(payload, sizeof payload, ev.payload_digest);
  ASSERT_EQ(evlog_chain_digest(prev, &ev, ev.chain_digest), 0);
  ASSERT_EQ(evlog_append(db, &ev, &e), 0);
  ASSERT_EQ(evlog_commit(db, &e), 0);
  evlog_close(db);
  view_digest(&f, d, NULL);

  ASSERT_EQ(replay_live(f.db, &views_domain, &r, &e), UV_EPROTO);
  ASSERT(strstr(e.msg, "event 12 has type \"v9.thing.happened\"") != NULL);
  view_digest(&f, after, NULL);
  ASSERT_MEMEQ(after, d, DIGEST_LEN);
  fixture_done(&f);
}

/* ---- the view digest ----------------------------------------------------- */

/* Stable across runs; any change of a value, of its type, or of the rows
 * changes it; undoing the change restores it. */
static void test_view_digest_stable_and_sensitive(void) {
  static const char *const edits[][2] = {
      {"UPDATE blobs SET refcount = refcount + 1",
       "UPDATE blobs SET refcount = refcount - 1"},
      /* the same bytes as text instead of a blob */
      {"UPDATE packages SET manifest_digest = "
       "CAST(manifest_digest AS TEXT) WHERE manifest_digest IS NOT NULL",
       "UPDATE packages SET manifest_digest = "
       "CAST(manifest_digest AS BLOB) WHERE manifest_digest IS NOT NULL"},
      {"UPDATE retention_classes SET duration_seconds = 691200 "
       "WHERE name = 'transient'",
       "UPDATE retention_classes SET duration_seconds = 604800 "
       "WHERE name = 'transient'"},
      {"UPDATE state SET last_sequence = 1",
       "UPDATE state SET last_sequence = 11"},
      {"UPDATE files SET media_type = media_type || 'x'",
       "UPDATE files SET media_type = substr(media_type, 1, "
       "length(media_type) - 1)"},
  };
  struct fixture f;
  uint8_t d1[DIGEST_LEN], d2[DIGEST_LEN], d3[DIGEST_LEN];
  uint64_t rows1, rows2;

  build_log(&f);
  view_digest(&f, d1, &rows1);
  view_digest(&f, d2, &rows2);
  ASSERT_MEMEQ(d1, d2, DIGEST_LEN);
  ASSERT_EQ(rows1, rows2);
  for (size_t i = 0; i < ARRAY_SIZE(edits); i++) {
    exec_sql(&f, edits[i][0]);
    view_digest(&f, d3, &rows2);
    if (memcmp(d1, d3, DIGEST_LEN) == 0)
      fprintf(stderr, "digest did not change: %s\n", edits[i][0]);
    ASSERT(memcmp(d1, d3, DIGEST_LEN) != 0);
    ASSERT_EQ(rows2, rows1);
    exec_sql(&f, edits[i][1]);
    view_digest(&f, d3, &rows2);
    ASSERT_MEMEQ(d1, d3, DIGEST_LEN);
  }
  /* the log is not a view: a change to it leaves the digest alone */
  exec_sql(&f, "DROP TRIGGER events_no_update; "
               "UPDATE events SET actor = 'mallory' WHERE sequence = 3");
  view_digest(&f, d3, NULL);
  ASSERT_MEMEQ(d1, d3, DIGEST_LEN);
  fixture_done(&f);
}

TEST_MAIN(TEST_CASE(test_live_same_digest),
          TEST_CASE(test_scratch_same_digest),
          TEST_CASE(test_rebuild_in_transaction),
          TEST_CASE(test_rebuild_empty_log),
          TEST_CASE(test_edited_row_detected_and_repaired),
          TEST_CASE(test_deleted_row_detected_and_repaired),
          TEST_CASE(test_extra_row_detected_and_repaired),
          TEST_CASE(test_gap_reported), TEST_CASE(test_gap_at_start_reported),
          TEST_CASE(test_unfit_event_reported),
          TEST_CASE(test_view_digest_stable_and_sensitive))
