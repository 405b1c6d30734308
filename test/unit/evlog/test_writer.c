/*
 * test_writer.c: the writer thread: gapless sequences under many
 * concurrent submitters, group commit, per-request rollback inside a batch,
 * every registry error, commit callbacks, reopening, and a database newer
 * than the binary.
 */
#include <inttypes.h>
#include <sqlite3.h>

#include "store/codec/ccbor.h"
#include "store/evlog/chain.h"
#include "store/evlog/log.h"
#include "store/evlog/evring.h"
#include "registry/registry_fixture.h"

#define SUBMITTERS 64
#define PER_SUBMITTER 20

/* ---- concurrent submitters ---------------------------------------------- */

struct flood {
  struct writer *w;
  int done, outstanding;
  int64_t *seqs;           /* by completion order */
  int nseq;
  int64_t commit_next;     /* next sequence expected by the commit cb */
  int commit_calls;
  struct evring *ring;     /* fed from the commit cb, as the daemon does */
};

struct submitter {
  struct flood *fl;
  int left;
};

static void flood_submit(struct submitter *s);

static void flood_cb(const struct reg_result *res, void *arg) {
  struct submitter *s = arg;
  struct flood *fl = s->fl;

  if (res->error != REG_OK)
    fprintf(stderr, "create failed: %s\n", res->msg.msg);
  ASSERT_EQ(res->error, REG_OK);
  ASSERT(res->package != NULL);
  ASSERT_EQ(res->package->status, PKG_OPEN);
  /* Acknowledged only after commit: the commit cb has seen it already. */
  ASSERT(res->sequence < fl->commit_next);
  fl->seqs[fl->nseq++] = res->sequence;
  fl->done++;
  if (--s->left > 0)
    flood_submit(s);
}

static void flood_submit(struct submitter *s) {
  struct pkg_create_req req = {
      .name = "build", .producer = "ci", .subject = "repo@abc",
      .retention_class = "transient", .metadata_json = "{\"n\": 1}",
      .actor = "test"};
  ASSERT_EQ(reg_package_create(s->fl->w, &req, flood_cb, s), 0);
}

static void flood_commit_cb(const struct event_rec *evs, size_t n,
                            void *arg) {
  struct flood *fl = arg;

  ASSERT(n > 0);
  fl->commit_calls++;
  for (size_t i = 0; i < n; i++) {
    ASSERT_EQ(evs[i].sequence, fl->commit_next);
    ASSERT_STREQ(evs[i].event_type, "v1.package.created");
    fl->commit_next++;
  }
  ASSERT_EQ(evring_push(fl->ring, evs, n), 0);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void test_concurrent_submitters(void) {
  struct fixture f;
  struct flood fl;
  struct submitter subs[SUBMITTERS];
  struct writer_stats st;
  uint64_t t0, t1;
  int total = SUBMITTERS * PER_SUBMITTER;

  fixture_init(&f, "writer");
  memset(&fl, 0, sizeof fl);
  fixture_writer_open(&f, &views_domain);
  fl.w = f.w;
  fl.seqs = calloc((size_t)total, sizeof *fl.seqs);
  fl.commit_next = 1;
  ASSERT_EQ(evring_new(256, 1 << 20, &fl.ring), 0);
  writer_set_commit_cb(fl.w, flood_commit_cb, &fl);

  t0 = uv_hrtime();
  for (int i = 0; i < SUBMITTERS; i++) {
    subs[i].fl = &fl;
    subs[i].left = PER_SUBMITTER;
    flood_submit(&subs[i]);
  }
  fixture_run_until(&f.loop, &fl.done, total);
  t1 = uv_hrtime();

  /* Gapless and monotonic: exactly 1..total, each once. */
  qsort(fl.seqs, (size_t)total, sizeof *fl.seqs, cmp_i64);
  for (int i = 0; i < total; i++)
    ASSERT_EQ(fl.seqs[i], i + 1);
  ASSERT_EQ(fl.commit_next, total + 1);
  ASSERT_EQ(evring_last(fl.ring), total);
  {
    const struct event_rec *tail[4];
    size_t n = 0;
    ASSERT_EQ(evring_since(fl.ring, total - 3, 4, tail, &n), 0);
    ASSERT_EQ(n, 3);
    ASSERT_EQ(tail[2]->sequence, total);
    ASSERT_EQ(evring_since(fl.ring, 1, 4, tail, &n), AS_AGAIN);
  }
  evring_free(fl.ring);

  writer_get_stats(fl.w, &st);
  ASSERT_EQ(st.requests, (uint64_t)total);
  ASSERT_EQ(st.last_sequence, total);
  ASSERT(st.max_batch > 1);
  ASSERT(st.multi_batches > 0);
  /* Resubmissions made while results are delivered form one batch. */
  ASSERT(st.batches <= (uint64_t)total / 2);
  printf("group commit: %d requests from %d submitters in %.3f s "
         "(%.0f events/s), %" PRIu64 " batches, max batch %" PRIu64
         ", %" PRIu64 " batches > 1\n",
         total, SUBMITTERS, (double)(t1 - t0) / 1e9,
         total / ((double)(t1 - t0) / 1e9), st.batches, st.max_batch,
         st.multi_batches);

  fixture_writer_close(&f);
  free(fl.seqs);
  fixture_done(&f);
}

/* ---- one batch with failures -------------------------------------------- */

struct outcome {
  int done;
  enum reg_error err[16];
  int64_t seq[16];
  char msg[16][ERRBUF_MAX];
  struct package pkg[16];
  struct uuid file_id[16];
};

struct slot {
  struct outcome *o;
  int i;
};

static void outcome_cb(const struct reg_result *res, void *arg) {
  struct slot *s = arg;

  s->o->err[s->i] = res->error;
  s->o->seq[s->i] = res->sequence;
  memcpy(s->o->msg[s->i], res->msg.msg, ERRBUF_MAX);
  if (res->package != NULL) {
    s->o->pkg[s->i] = *res->package;
    s->o->pkg[s->i].name = NULL; /* strings die after the callback */
  }
  if (res->file != NULL)
    s->o->file_id[s->i] = res->file->id;
  s->o->done++;
}

static void ingest(struct writer *w, const struct uuid *pkg, const char *path,
                   uint8_t fill, struct slot *s) {
  struct file_ingest_req r = {.package_id = *pkg, .path = path,
                              .media_type = "text/plain", .size = 3,
                              .actor = "test"};
  memset(r.digests.blake3, fill, DIGEST_LEN);
  memset(r.digests.sha256, fill ^ 0xff, DIGEST_LEN);
  ASSERT_EQ(reg_file_ingest(w, &r, outcome_cb, s), 0);
}

static void create(struct writer *w, const char *cls, const char *meta,
                   struct slot *s) {
  struct pkg_create_req r = {.name = "n", .producer = "p", .subject = "s",
                             .retention_class = cls, .metadata_json = meta,
                             .actor = NULL};
  ASSERT_EQ(reg_package_create(w, &r, outcome_cb, s), 0);
}

static void test_batch_with_failures(void) {
  struct fixture f;
  struct writer *w;
  struct outcome o;
  struct slot s[16];
  struct writer_stats st;
  struct uuid pkg, nope;

  fixture_init(&f, "batch");
  fixture_writer_open(&f, &views_domain);
  w = f.w;
  memset(&o, 0, sizeof o);
  for (int i = 0; i < 16; i++)
    s[i] = (struct slot){&o, i};

  create(w, "raw-evidence", "{\"b\":[1,2],\"a\":\"x\"}", &s[0]);
  fixture_run_until(&f.loop, &o.done, 1);
  ASSERT_EQ(o.err[0], REG_OK);
  ASSERT_EQ(o.seq[0], 1);
  pkg = o.pkg[0].id;
  ASSERT_EQ(o.pkg[0].expires_at - o.pkg[0].created_at,
            90 * INT64_C(86400000000));
  memset(&nope, 0x77, sizeof nope);

  /* Everything below lands in one batch. */
  writer_hold(w, true);
  ingest(w, &pkg, "a.txt", 1, &s[1]);                  /* ok, seq 2 */
  ingest(w, &pkg, "a.txt", 2, &s[2]);                  /* duplicate */
  ingest(w, &nope, "x", 3, &s[3]);                     /* no package */
  ingest(w, &pkg, "dir/b.txt", 1, &s[4]);              /* ok, seq 3 */
  create(w, "forever", NULL, &s[5]);                   /* unknown class */
  create(w, "transient", "[1]", &s[6]);                /* not an object */
  create(w, "transient", "{\"f\": 1.5}", &s[7]);      /* not an integer */
  ASSERT_EQ(reg_package_finalize(w, &pkg, "test", outcome_cb, &s[8]), 0);
  ingest(w, &pkg, "c.txt", 4, &s[9]);                  /* finalized */
  ASSERT_EQ(reg_package_finalize(w, &pkg, "test", outcome_cb, &s[10]), 0);
  ASSERT_EQ(reg_package_finalize(w, &nope, NULL, outcome_cb, &s[11]), 0);
  create(w, "permanent-record", NULL, &s[12]);         /* ok, seq 5 */
  ingest(w, &pkg, "../etc/passwd", 5, &s[13]);         /* bad path */
  {
    struct pkg_create_req bad = {.name = "\xff\xfe", .producer = "p",
                                 .subject = "s",
                                 .retention_class = "transient"};
    ASSERT_EQ(reg_package_create(w, &bad, outcome_cb, &s[14]), 0);
  }
  writer_hold(w, false);
  fixture_run_until(&f.loop, &o.done, 15);

  ASSERT_EQ(o.err[1], REG_OK);
  ASSERT_EQ(o.seq[1], 2);
  ASSERT_EQ(o.err[2], REG_DUPLICATE_PATH);
  ASSERT(strstr(o.msg[2], "already exists") != NULL);
  ASSERT_EQ(o.err[3], REG_NO_PACKAGE);
  ASSERT(strstr(o.msg[3], "does not exist") != NULL);
  ASSERT_EQ(o.err[4], REG_OK);
  ASSERT_EQ(o.seq[4], 3);
  ASSERT_EQ(o.err[5], REG_UNKNOWN_RETENTION);
  ASSERT(strstr(o.msg[5], "forever") != NULL);
  ASSERT_EQ(o.err[6], REG_INVALID);
  ASSERT(strstr(o.msg[6], "object") != NULL);
  ASSERT_EQ(o.err[7], REG_INVALID);
  ASSERT_EQ(o.err[8], REG_OK);
  ASSERT_EQ(o.seq[8], 4);
  ASSERT_EQ(o.pkg[8].status, PKG_FINALIZED);
  ASSERT(o.pkg[8].has_manifest);
  ASSERT(o.pkg[8].finalized_at != TS_NONE);
  ASSERT_EQ(o.err[9], REG_PACKAGE_FINALIZED);
  ASSERT_EQ(o.err[10], REG_ALREADY_FINALIZED);
  ASSERT_EQ(o.err[11], REG_NO_PACKAGE);
  ASSERT_EQ(o.err[12], REG_OK);
  ASSERT_EQ(o.seq[12], 5);
  ASSERT_EQ(o.pkg[12].expires_at, TS_NONE);
  ASSERT_EQ(o.err[13], REG_INVALID);
  ASSERT(strstr(o.msg[13], "..") != NULL);
  ASSERT_EQ(o.err[14], REG_INVALID);               /* not UTF-8 */
  ASSERT(strstr(o.msg[14], "\"name\" is not valid UTF-8") != NULL);

  writer_get_stats(w, &st);
  ASSERT_EQ(st.batches, 2);
  ASSERT_EQ(st.max_batch, 14);
  ASSERT_EQ(st.last_sequence, 5);
  fixture_writer_close(&f);

  /* The database agrees: 5 events, 2 files, the blob shared twice. */
  {
    sqlite3 *db;
    sqlite3_stmt *q;
    ASSERT_EQ(sqlite3_open(f.db, &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "SELECT (SELECT count(*) FROM events), "
                                 "(SELECT max(sequence) FROM events), "
                                 "(SELECT count(*) FROM files), "
                                 "(SELECT refcount FROM blobs), "
                                 "(SELECT last_sequence FROM state), "
                                 "(SELECT metadata FROM packages ORDER BY id "
                                 "LIMIT 1)",
                                 -1, &q, NULL),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
    ASSERT_EQ(sqlite3_column_int(q, 0), 5);
    ASSERT_EQ(sqlite3_column_int(q, 1), 5);
    ASSERT_EQ(sqlite3_column_int(q, 2), 2);
    ASSERT_EQ(sqlite3_column_int(q, 3), 2);
    ASSERT_EQ(sqlite3_column_int(q, 4), 5);
    ASSERT_STREQ((const char *)sqlite3_column_text(q, 5),
                 "{\"a\":\"x\",\"b\":[1,2]}");
    sqlite3_finalize(q);
    sqlite3_close(db);
  }
  fixture_done(&f);
}

/* ---- SQLite rolls back the whole batch (IOERR, FULL, NOMEM) ------------- */

/* When SQLite rolls back the transaction in the middle of a batch, no
 * request of that batch may be stored or acknowledged, the next SAVEPOINT
 * must not open (and commit) a transaction of its own, and the next
 * request takes the next sequence: no gap, chain intact. */
static void test_batch_rolled_back_by_sqlite(void) {
  struct fixture f;
  struct writer *w;
  struct outcome o;
  struct slot s[8];
  struct writer_stats st;

  fixture_init(&f, "rollback");
  fixture_writer_open(&f, &views_domain);
  w = f.w;
  memset(&o, 0, sizeof o);
  for (int i = 0; i < 8; i++)
    s[i] = (struct slot){&o, i};

  create(w, "transient", NULL, &s[0]);
  fixture_run_until(&f.loop, &o.done, 1);
  ASSERT_EQ(o.err[0], REG_OK);
  ASSERT_EQ(o.seq[0], 1);

  writer_hold(w, true);
  for (int i = 1; i <= 4; i++)
    create(w, "transient", NULL, &s[i]);
  writer_test_rollback(w, 2); /* after the second request of the batch */
  writer_hold(w, false);
  fixture_run_until(&f.loop, &o.done, 5);
  for (int i = 1; i <= 4; i++) {
    ASSERT_EQ(o.err[i], REG_INTERNAL);
    ASSERT(strstr(o.msg[i], "rolled back") != NULL);
  }

  create(w, "transient", NULL, &s[5]);
  fixture_run_until(&f.loop, &o.done, 6);
  ASSERT_EQ(o.err[5], REG_OK);
  ASSERT_EQ(o.seq[5], 2);
  writer_get_stats(w, &st);
  ASSERT_EQ(st.last_sequence, 2);
  fixture_writer_close(&f);

  {
    sqlite3 *db;
    sqlite3_stmt *q;
    ASSERT_EQ(sqlite3_open(f.db, &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "SELECT (SELECT count(*) FROM events), "
                                 "(SELECT max(sequence) FROM events), "
                                 "(SELECT count(*) FROM packages), "
                                 "(SELECT last_sequence FROM state)",
                                 -1, &q, NULL),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
    ASSERT_EQ(sqlite3_column_int(q, 0), 2);
    ASSERT_EQ(sqlite3_column_int(q, 1), 2);
    ASSERT_EQ(sqlite3_column_int(q, 2), 2);
    ASSERT_EQ(sqlite3_column_int(q, 3), 2);
    sqlite3_finalize(q);
    sqlite3_close(db);
  }
  /* Reopening checks the chain's tail against the state row. */
  fixture_writer_open(&f, &views_domain);
  w = f.w;
  fixture_writer_close(&f);
  fixture_done(&f);
}

/* ---- reopening continues the chain; newer schema refused ----------------- */

static void test_reopen_and_newer_schema(void) {
  struct fixture f;
  struct writer *w;
  struct outcome o;
  struct slot s[4];
  struct errbuf e = {{0}};
  sqlite3 *db;
  int rc;

  fixture_init(&f, "reopen");
  memset(&o, 0, sizeof o);
  for (int i = 0; i < 4; i++)
    s[i] = (struct slot){&o, i};
  fixture_writer_open(&f, &views_domain);
  w = f.w;
  create(w, "transient", NULL, &s[0]);
  fixture_run_until(&f.loop, &o.done, 1);
  fixture_writer_close(&f);

  fixture_writer_open(&f, &views_domain);
  w = f.w;
  create(w, "transient", NULL, &s[1]);
  fixture_run_until(&f.loop, &o.done, 2);
  ASSERT_EQ(o.err[1], REG_OK);
  ASSERT_EQ(o.seq[1], 2);
  fixture_writer_close(&f);

  /* The chain links across the reopen. */
  {
    struct evlog_db *ldb;
    struct evlog_stmt *q;
    struct event_rec *ev[2], view;
    uint8_t d[DIGEST_LEN];
    ASSERT_EQ(evlog_open(f.db, EVLOG_RO, &ldb, &e), 0);
    ASSERT_EQ(evlog_stmt(ldb, evlog_scan_sql, &q, &e), 0);
    for (int i = 0; i < 2; i++) {
      ASSERT_EQ(evlog_step(q), EVLOG_ROW);
      ASSERT_EQ(evlog_row_view(q, &view), 0);
      ASSERT((ev[i] = event_rec_dup(&view)) != NULL);
    }
    evlog_close(ldb);
    ASSERT_EQ(sqlite3_open(f.db, &db), SQLITE_OK);
    ASSERT_EQ(evlog_chain_digest(NULL, ev[0], d), 0);
    ASSERT_MEMEQ(d, ev[0]->chain_digest, DIGEST_LEN);
    ASSERT_EQ(evlog_chain_digest(ev[0]->chain_digest, ev[1], d), 0);
    ASSERT_MEMEQ(d, ev[1]->chain_digest, DIGEST_LEN);
    free(ev[0]);
    free(ev[1]);
    /* Views behind the log are refused until replayed. */
    ASSERT_EQ(sqlite3_exec(db, "UPDATE state SET last_sequence = 1", NULL,
                           NULL, NULL),
              SQLITE_OK);
  }
  rc = writer_open(&f.loop, f.db, &views_domain, &w, &e);
  ASSERT_EQ(rc, UV_EPROTO);
  ASSERT(strstr(e.msg, "views were built up to event 1") != NULL);
  ASSERT(strstr(e.msg, "--replay") != NULL);
  {
    ASSERT_EQ(sqlite3_exec(db, "UPDATE state SET last_sequence = 2; "
                           "PRAGMA user_version = 999", NULL, NULL, NULL),
              SQLITE_OK);
    sqlite3_close(db);
  }
  rc = writer_open(&f.loop, f.db, &views_domain, &w, &e);
  ASSERT_EQ(rc, UV_EPROTO);
  ASSERT(strstr(e.msg, "schema version 999") != NULL);
  ASSERT(strstr(e.msg, "newer artifactstored") != NULL);
  fixture_done(&f);
}

TEST_MAIN(TEST_CASE(test_concurrent_submitters),
          TEST_CASE(test_batch_with_failures),
          TEST_CASE(test_batch_rolled_back_by_sqlite),
          TEST_CASE(test_reopen_and_newer_schema))
