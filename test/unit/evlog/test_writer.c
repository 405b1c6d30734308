/*
 * test_writer.c: the writer thread: gapless sequences under many
 * concurrent submitters, group commit, commit callbacks, reopening, and a
 * database newer than the binary.  The registry's operations and errors
 * are tested in test/unit/registry/test_registry.c.
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

/* ---- reopening continues the chain; newer schema refused ----------------- */

static void test_reopen_and_newer_schema(void) {
  struct fixture f;
  struct pkg_create_req req = {.name = "n", .producer = "p",
                               .subject = "s",
                               .retention_class = "transient"};
  struct writer *w;
  struct errbuf e = {{0}};
  sqlite3 *db;
  int rc;

  fixture_init(&f, "reopen");
  fixture_writer_open(&f, &views_domain);
  ASSERT_EQ(reg_create_ok(&f, &req).sequence, 1);
  fixture_writer_close(&f);

  fixture_writer_open(&f, &views_domain);
  ASSERT_EQ(reg_create_ok(&f, &req).sequence, 2);
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
          TEST_CASE(test_reopen_and_newer_schema))
