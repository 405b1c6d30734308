/*
 * test_lifecycle.c: the sweeper's and the collector's operations
 * (lifecycle.h) run through the writer: the sweep expires due, unheld,
 * finalized packages and aborts overdue, unheld, open ones, within its
 * limit; a blob two packages share stays live until both are gone, then
 * is a candidate that the collector takes only after its grace, once;
 * a dry run writes nothing; orphans are re-checked in the transaction;
 * an ingest of collected bytes reports them not live and revives the
 * blob; and replay rebuilds exactly the views the jobs left.  Classes
 * and holds (no operation for them here) are events emitted by a small
 * test job.
 */
#include <stdarg.h>
#include <time.h>

#include "store/codec/jcs.h"
#include "store/codec/ts.h"
#include "store/evlog/replay.h"
#include "store/registry/lifecycle.h"

#include "registry/registry_fixture.h"

#define JSON_MAX 512
#define HOUR_US INT64_C(3600000000)

/* ---- raw events through a writer job ------------------------------------- */

struct raw_job {
  struct writer_job wj;
  const char *type, *kind;
  struct uuid subject;
  char json[JSON_MAX];
  int done, status;
};

static int raw_run(struct writer_job *wj, struct wtx *tx) {
  struct raw_job *j = container_of(wj, struct raw_job, wj);
  struct event_rec ev;
  struct errbuf e = {{0}};
  uint8_t *payload = NULL;
  size_t len = 0;
  int rc;

  rc = jcs_text_to_ccbor(j->json, strlen(j->json), &payload, &len, &e);
  ASSERT_EQ(rc, 0);
  memset(&ev, 0, sizeof ev);
  ev.event_type = j->type;
  ev.subject_kind = j->kind;
  ev.subject_id = j->subject;
  ev.actor = "test";
  ev.created_at = ts_now_us();
  ev.payload = payload;
  ev.payload_len = len;
  rc = wtx_emit(tx, &ev, &e);
  if (rc != 0)
    fprintf(stderr, "wtx_emit: %s\n", err_msg(&e, rc));
  free(payload);
  return rc;
}

static void raw_done(struct writer_job *wj, int status) {
  struct raw_job *j = container_of(wj, struct raw_job, wj);

  j->status = status;
  j->done++;
}

static void raw_emit(struct fixture *f, const char *type, const char *kind,
                     const char *json) {
  struct raw_job j;

  memset(&j, 0, sizeof j);
  j.type = type;
  j.kind = kind;
  memset(j.subject.b, 0x5a, UUID_LEN);
  snprintf(j.json, sizeof j.json, "%s", json);
  ASSERT_EQ(writer_submit(f->w, &j.wj, raw_run, raw_done), 0);
  fixture_run_until(&f->loop, &j.done, 1);
  ASSERT_EQ(j.status, 0);
}

static void define_class(struct fixture *f, const char *name,
                         int64_t seconds) {
  char json[JSON_MAX];

  snprintf(json, sizeof json, "{\"name\": \"%s\", \"duration_seconds\": %lld}",
           name, (long long)seconds);
  raw_emit(f, EV_RETENTION_CLASS_DEFINED, EV_KIND_CLASS, json);
}

static void hold(struct fixture *f, const char *type, const struct uuid *pkg,
                 uint8_t n) {
  char json[JSON_MAX], ids[UUID_STRLEN + 1], pids[UUID_STRLEN + 1];
  struct uuid id;

  memset(id.b, n, UUID_LEN);
  uuid_format(&id, ids);
  uuid_format(pkg, pids);
  if (strcmp(type, EV_HOLD_PLACED) == 0)
    snprintf(json, sizeof json,
             "{\"id\": \"%s\", \"package_id\": \"%s\", \"reason\": \"case\", "
             "\"placed_at\": 1}",
             ids, pids);
  else
    snprintf(json, sizeof json,
             "{\"id\": \"%s\", \"package_id\": \"%s\", \"released_at\": 2}",
             ids, pids);
  raw_emit(f, type, EV_KIND_HOLD, json);
}

/* ---- packages ------------------------------------------------------------ */

static struct uuid make_pkg(struct fixture *f, const char *cls) {
  struct pkg_create_req req = {.name = "n", .producer = "p", .subject = "s",
                               .retention_class = cls};

  return reg_create_ok(f, &req).id;
}

static void ingest_cb(const struct reg_result *res, void *arg) {
  if (res->error != REG_OK)
    fprintf(stderr, "ingest: %s\n", res->msg.msg);
  ASSERT_EQ(res->error, REG_OK);
  (*(int *)arg)++;
}

static int64_t blob_col(struct fixture *f, const char *col, uint8_t fill);

/* Adds a file with blake3 bytes fill; the blob's refcount after it. */
static int64_t add_file(struct fixture *f, const struct uuid *pkg,
                        const char *path, uint8_t fill) {
  struct file_ingest_req req = {.package_id = *pkg, .path = path, .size = 7};
  int done = 0;

  memset(req.digests.blake3, fill, DIGEST_LEN);
  memset(req.digests.sha256, fill ^ 0xff, DIGEST_LEN);
  ASSERT_EQ(reg_file_ingest(f->w, &req, ingest_cb, &done), 0);
  fixture_run_until(&f->loop, &done, 1);
  return blob_col(f, "refcount", fill);
}

/* ---- reading the database ------------------------------------------------ */

/* The integer the query answers (NULL reads as -1). */
static int64_t db_int(struct fixture *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int64_t db_int(struct fixture *f, const char *fmt, ...) {
  char sql[1024];
  struct evlog_db *db;
  struct evlog_stmt *st;
  struct errbuf e = {{0}};
  va_list ap;
  int64_t v;

  va_start(ap, fmt);
  vsnprintf(sql, sizeof sql, fmt, ap);
  va_end(ap);
  ASSERT_EQ(evlog_open(f->db, EVLOG_RO, &db, &e), 0);
  ASSERT_EQ(evlog_prepare(db, sql, &st, &e), 0);
  ASSERT_EQ(evlog_step(st), EVLOG_ROW);
  v = evlog_col_type(st, 0) == EVLOG_NULL ? -1 : evlog_col_int(st, 0);
  evlog_finalize(st);
  evlog_close(db);
  return v;
}

static char *hexid(const uint8_t *b, size_t n, char *out) {
  for (size_t i = 0; i < n; i++)
    sprintf(out + 2 * i, "%02X", b[i]);
  return out;
}

static int pkg_status(struct fixture *f, const struct uuid *id) {
  char h[2 * UUID_LEN + 1];

  return (int)db_int(f, "SELECT status FROM packages WHERE id = x'%s'",
                     hexid(id->b, UUID_LEN, h));
}

/* A column of the blobs row whose bytes are all fill. */
static int64_t blob_col(struct fixture *f, const char *col, uint8_t fill) {
  uint8_t d[DIGEST_LEN];
  char h[2 * DIGEST_LEN + 1];

  memset(d, fill, sizeof d);
  return db_int(f, "SELECT %s FROM blobs WHERE blake3 = x'%s'", col,
                hexid(d, DIGEST_LEN, h));
}

static int64_t events(struct fixture *f) {
  return db_int(f, "SELECT count(*) FROM events");
}

/* ---- the two jobs -------------------------------------------------------- */

struct outcome {
  int done;
  enum reg_error error;
  unsigned expired, aborted;
  bool more;
  int64_t sequence;
  struct reg_collected *c;
  size_t n;
};

static void outcome_cb(const struct reg_result *res, void *arg) {
  struct outcome *o = arg;

  if (res->error != REG_OK)
    fprintf(stderr, "lifecycle job: %s\n", res->msg.msg);
  o->error = res->error;
  o->expired = res->expired;
  o->aborted = res->aborted;
  o->more = res->more;
  o->sequence = res->sequence;
  o->n = res->ncollected;
  o->c = NULL;
  if (o->n > 0) {
    o->c = malloc(o->n * sizeof *o->c);
    ASSERT(o->c != NULL);
    memcpy(o->c, res->collected, o->n * sizeof *o->c);
  }
  o->done++;
}

static struct outcome sweep(struct fixture *f, int64_t open_ttl_us,
                            unsigned limit) {
  struct sweep_req req = {.open_ttl_us = open_ttl_us, .limit = limit};
  struct outcome o = {0};

  ASSERT_EQ(reg_sweep(f->w, &req, outcome_cb, &o), 0);
  fixture_run_until(&f->loop, &o.done, 1);
  ASSERT_EQ(o.error, REG_OK);
  return o;
}

static struct outcome collect(struct fixture *f, int64_t grace_us,
                              unsigned limit, bool dry_run,
                              const struct orphan_candidate *orphans,
                              size_t norphans) {
  struct collect_req req = {.grace_us = grace_us, .limit = limit,
                            .dry_run = dry_run, .orphans = orphans,
                            .norphans = norphans};
  struct outcome o = {0};

  ASSERT_EQ(reg_collect(f->w, &req, outcome_cb, &o), 0);
  fixture_run_until(&f->loop, &o.done, 1);
  ASSERT_EQ(o.error, REG_OK);
  return o;
}

/* The views replay rebuilds are the views the jobs left. */
static void expect_replay_same(struct fixture *f) {
  char scratch[FIXTURE_PATH_MAX];
  struct replay_report r;
  struct errbuf e = {{0}};
  int rc;

  fixture_writer_close(f);
  fixture_path(f, "scratch.db", scratch);
  rc = replay_scratch(f->db, scratch, &views_domain, &r, &e);
  if (rc != 0)
    fprintf(stderr, "replay_scratch: %s\n", err_msg(&e, rc));
  ASSERT_EQ(rc, 0);
  ASSERT_EQ((int64_t)r.applied, events(f));
  ASSERT_MEMEQ(r.before, r.after, DIGEST_LEN);
  ASSERT(!fixture_exists(scratch));
}

/* ---- sweep --------------------------------------------------------------- */

/* Due unheld finalized packages expire; a held one, a not yet due one
 * and an open one (no TTL) stay; the events carry the sweeper. */
static void test_sweep_expires(void) {
  struct fixture f;
  struct uuid p[5];
  struct outcome o;
  int64_t n0;

  fixture_init(&f, "lifecycle");
  fixture_writer_open(&f, &views_domain);
  define_class(&f, "now", 0);
  for (int i = 0; i < 3; i++)
    p[i] = make_pkg(&f, "now");
  p[3] = make_pkg(&f, "release-evidence");
  p[4] = make_pkg(&f, "now");
  for (int i = 0; i < 4; i++)
    reg_finalize_ok(&f, &p[i], "me");
  hold(&f, EV_HOLD_PLACED, &p[1], 1);
  n0 = events(&f);
  o = sweep(&f, -1, 10);
  ASSERT_EQ(o.expired, 2);
  ASSERT_EQ(o.aborted, 0);
  ASSERT(!o.more);
  ASSERT_EQ(o.sequence, n0 + 2);
  ASSERT_EQ(pkg_status(&f, &p[0]), PKG_EXPIRED);
  ASSERT_EQ(pkg_status(&f, &p[1]), PKG_FINALIZED);
  ASSERT_EQ(pkg_status(&f, &p[2]), PKG_EXPIRED);
  ASSERT_EQ(pkg_status(&f, &p[3]), PKG_FINALIZED);
  ASSERT_EQ(pkg_status(&f, &p[4]), PKG_OPEN);
  ASSERT_EQ(db_int(&f, "SELECT count(*) FROM events WHERE actor = "
                       "'system:sweeper' AND event_type = "
                       "'v1.package.expired'"),
            2);
  ASSERT_EQ(db_int(&f, "SELECT count(*) FROM retention_state WHERE "
                       "end_reason = 'expired' AND ended_seq > %lld",
                   (long long)n0),
            2);
  /* nothing more to do: no event */
  o = sweep(&f, -1, 10);
  ASSERT_EQ(o.expired + o.aborted, 0);
  ASSERT_EQ(events(&f), n0 + 2);
  /* the hold released, the package goes */
  hold(&f, EV_HOLD_RELEASED, &p[1], 1);
  o = sweep(&f, -1, 10);
  ASSERT_EQ(o.expired, 1);
  ASSERT_EQ(pkg_status(&f, &p[1]), PKG_EXPIRED);
  expect_replay_same(&f);
  fixture_done(&f);
}

/* limit bounds the events of one job; more says run again. */
static void test_sweep_limit(void) {
  struct fixture f;
  struct uuid p[3];
  struct outcome o;

  fixture_init(&f, "lifecycle");
  fixture_writer_open(&f, &views_domain);
  define_class(&f, "now", 0);
  for (int i = 0; i < 3; i++) {
    p[i] = make_pkg(&f, "now");
    reg_finalize_ok(&f, &p[i], "me");
  }
  o = sweep(&f, -1, 2);
  ASSERT_EQ(o.expired, 2);
  ASSERT(o.more);
  /* oldest expiry first */
  ASSERT_EQ(pkg_status(&f, &p[0]), PKG_EXPIRED);
  ASSERT_EQ(pkg_status(&f, &p[1]), PKG_EXPIRED);
  ASSERT_EQ(pkg_status(&f, &p[2]), PKG_FINALIZED);
  o = sweep(&f, -1, 2);
  ASSERT_EQ(o.expired, 1);
  ASSERT(!o.more);
  fixture_done(&f);
}

/* Overdue open unheld packages are aborted after the expiries, within
 * the same limit; held or young ones stay. */
static void test_sweep_aborts(void) {
  struct fixture f;
  struct uuid due, open1, open2, held;
  struct outcome o;

  fixture_init(&f, "lifecycle");
  fixture_writer_open(&f, &views_domain);
  define_class(&f, "now", 0);
  due = make_pkg(&f, "now");
  reg_finalize_ok(&f, &due, "me");
  open1 = make_pkg(&f, "transient");
  open2 = make_pkg(&f, "transient");
  held = make_pkg(&f, "transient");
  hold(&f, EV_HOLD_PLACED, &held, 7);
  /* young: created less than an hour ago */
  o = sweep(&f, HOUR_US, 10);
  ASSERT_EQ(o.expired, 1);
  ASSERT_EQ(o.aborted, 0);
  ASSERT_EQ(pkg_status(&f, &open1), PKG_OPEN);
  o = sweep(&f, 0, 1);
  ASSERT_EQ(o.expired, 0);
  ASSERT_EQ(o.aborted, 1);
  ASSERT(o.more);
  ASSERT_EQ(pkg_status(&f, &open1), PKG_ABORTED);
  ASSERT_EQ(pkg_status(&f, &open2), PKG_OPEN);
  o = sweep(&f, 0, 10);
  ASSERT_EQ(o.aborted, 1);
  ASSERT(!o.more);
  ASSERT_EQ(pkg_status(&f, &open2), PKG_ABORTED);
  ASSERT_EQ(pkg_status(&f, &held), PKG_OPEN);
  ASSERT_EQ(db_int(&f, "SELECT count(*) FROM retention_state WHERE "
                       "end_reason = 'open-package-ttl'"),
            2);
  ASSERT_EQ(db_int(&f, "SELECT count(*) FROM events WHERE actor = "
                       "'system:sweeper' AND event_type = "
                       "'v1.package.aborted'"),
            2);
  expect_replay_same(&f);
  fixture_done(&f);
}

/* ---- references and collection ------------------------------------------- */

/* Two packages share blob 0xAA; a has 0xBB too.  a expires: 0xAA stays
 * live, 0xBB is a candidate; b expires: 0xAA too.  The collector waits
 * for the grace, a dry run writes nothing, and each is collected once. */
static void test_refcounts_collect(void) {
  struct fixture f;
  struct uuid a, b;
  struct outcome o;
  int64_t seq_a, seq_b, n0;

  fixture_init(&f, "lifecycle");
  fixture_writer_open(&f, &views_domain);
  define_class(&f, "now", 0);
  a = make_pkg(&f, "now");
  b = make_pkg(&f, "now");
  ASSERT_EQ(add_file(&f, &a, "x", 0xaa), 1);
  ASSERT_EQ(add_file(&f, &a, "y", 0xbb), 1);
  ASSERT_EQ(add_file(&f, &b, "x", 0xaa), 2);
  reg_finalize_ok(&f, &a, "me");
  reg_finalize_ok(&f, &b, "me");
  ASSERT_EQ(blob_col(&f, "refcount", 0xaa), 2);
  hold(&f, EV_HOLD_PLACED, &b, 1);
  o = sweep(&f, -1, 10);
  ASSERT_EQ(o.expired, 1);
  seq_a = o.sequence;
  ASSERT_EQ(blob_col(&f, "refcount", 0xaa), 1);
  ASSERT_EQ(blob_col(&f, "unref_seq", 0xaa), -1);
  ASSERT_EQ(blob_col(&f, "refcount", 0xbb), 0);
  ASSERT_EQ(blob_col(&f, "unref_seq", 0xbb), seq_a);
  hold(&f, EV_HOLD_RELEASED, &b, 1);
  o = sweep(&f, -1, 10);
  ASSERT_EQ(o.expired, 1);
  seq_b = o.sequence;
  ASSERT_EQ(blob_col(&f, "refcount", 0xaa), 0);
  ASSERT_EQ(blob_col(&f, "unref_seq", 0xaa), seq_b);

  /* within the grace: nothing */
  n0 = events(&f);
  o = collect(&f, HOUR_US, 10, false, NULL, 0);
  ASSERT_EQ(o.n, 0);
  ASSERT(!o.more);
  ASSERT_EQ(events(&f), n0);
  /* a dry run lists both, writes nothing */
  o = collect(&f, 0, 10, true, NULL, 0);
  ASSERT_EQ(o.n, 2);
  ASSERT_EQ(o.c[0].blake3[0], 0xbb); /* unreferenced first */
  ASSERT_EQ(o.c[0].unreferenced_seq, seq_a);
  ASSERT_EQ(o.c[0].size, 7);
  ASSERT(o.c[0].unreferenced_at > 0);
  ASSERT_EQ(o.c[0].sequence, 0);
  ASSERT_EQ(o.c[1].blake3[0], 0xaa);
  ASSERT_EQ(o.c[1].unreferenced_seq, seq_b);
  free(o.c);
  ASSERT_EQ(events(&f), n0);
  ASSERT_EQ(blob_col(&f, "collected_seq", 0xbb), -1);
  /* one per job with limit 1 */
  o = collect(&f, 0, 1, false, NULL, 0);
  ASSERT_EQ(o.n, 1);
  ASSERT(o.more);
  ASSERT_EQ(o.c[0].blake3[0], 0xbb);
  ASSERT_EQ(o.c[0].sequence, n0 + 1);
  free(o.c);
  ASSERT_EQ(blob_col(&f, "collected_seq", 0xbb), n0 + 1);
  ASSERT_EQ(db_int(&f, "SELECT count(*) FROM events WHERE sequence = %lld "
                       "AND event_type = 'v1.blob.collected' AND actor = "
                       "'system:sweeper' AND subject_kind = 'blob' AND "
                       "hex(subject_id) = '%s'",
                   (long long)(n0 + 1), "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"),
            1);
  o = collect(&f, 0, 1, false, NULL, 0);
  ASSERT_EQ(o.n, 1);
  ASSERT(!o.more);
  ASSERT_EQ(o.c[0].blake3[0], 0xaa);
  free(o.c);
  ASSERT_EQ(blob_col(&f, "collected_seq", 0xaa), n0 + 2);
  /* collected once */
  o = collect(&f, 0, 10, false, NULL, 0);
  ASSERT_EQ(o.n, 0);
  ASSERT_EQ(events(&f), n0 + 2);
  expect_replay_same(&f);
  fixture_done(&f);
}

/* Orphans are re-checked: a live blob and a candidate in its grace stay;
 * an unknown file and one found again after its collection go, with no
 * unreferenced_seq; a digest named twice counts once. */
static void test_orphans(void) {
  /* out of order, 0x04 twice */
  static const uint8_t fills[5] = {0x04, 0x04, 0x03, 0x02, 0x01};
  struct fixture f;
  struct uuid live, gone, young;
  struct orphan_candidate orph[5];
  struct outcome o;
  int64_t n0;

  fixture_init(&f, "lifecycle");
  fixture_writer_open(&f, &views_domain);
  gone = make_pkg(&f, "transient");
  add_file(&f, &gone, "g", 0x03);
  o = sweep(&f, 0, 10);
  ASSERT_EQ(o.aborted, 1);
  o = collect(&f, 0, 10, false, NULL, 0);
  ASSERT_EQ(o.n, 1);
  ASSERT_EQ(o.c[0].blake3[0], 0x03);
  free(o.c);
  live = make_pkg(&f, "transient");
  add_file(&f, &live, "l", 0x01);
  hold(&f, EV_HOLD_PLACED, &live, 9);
  young = make_pkg(&f, "transient");
  add_file(&f, &young, "c", 0x02);
  o = sweep(&f, 0, 10); /* young goes, live is held */
  ASSERT_EQ(o.aborted, 1);
  ASSERT_EQ(blob_col(&f, "refcount", 0x01), 1);
  ASSERT_EQ(blob_col(&f, "refcount", 0x02), 0);

  for (size_t i = 0; i < 5; i++) {
    memset(orph[i].blake3, fills[i], DIGEST_LEN);
    orph[i].size = 100 + i;
  }
  n0 = events(&f);
  o = collect(&f, HOUR_US, 10, true, orph, 5);
  ASSERT_EQ(o.n, 2);
  free(o.c);
  ASSERT_EQ(events(&f), n0);
  o = collect(&f, HOUR_US, 10, false, orph, 5);
  ASSERT_EQ(o.n, 2);
  ASSERT(!o.more);
  ASSERT_EQ(o.c[0].blake3[0], 0x03); /* found again after collection */
  ASSERT_EQ(o.c[0].unreferenced_seq, 0);
  ASSERT_EQ(o.c[0].unreferenced_at, 0);
  ASSERT_EQ(o.c[0].size, 102);
  ASSERT_EQ(o.c[0].sequence, n0 + 1);
  ASSERT_EQ(o.c[1].blake3[0], 0x04); /* never known */
  ASSERT_EQ(o.c[1].sequence, n0 + 2);
  free(o.c);
  ASSERT_EQ(blob_col(&f, "collected_seq", 0x03), n0 + 1);
  ASSERT_EQ(blob_col(&f, "refcount", 0x01), 1);
  ASSERT_EQ(blob_col(&f, "collected_seq", 0x02), -1);
  ASSERT_EQ(blob_col(&f, "count(*)", 0x04), 0); /* no row made */
  /* the limit holds for orphans too */
  o = collect(&f, HOUR_US, 1, false, orph, 5);
  ASSERT_EQ(o.n, 1);
  ASSERT(o.more);
  free(o.c);
  expect_replay_same(&f);
  fixture_done(&f);
}

/* Bytes ingested again after their collection: not live before, and the
 * blob is live again with its marks cleared. */
static void test_ingest_after_collect(void) {
  struct fixture f;
  struct uuid a, b;
  struct outcome o;

  fixture_init(&f, "lifecycle");
  fixture_writer_open(&f, &views_domain);
  a = make_pkg(&f, "transient");
  ASSERT_EQ(add_file(&f, &a, "x", 0x42), 1);
  ASSERT_EQ(add_file(&f, &a, "y", 0x42), 2);
  o = sweep(&f, 0, 10);
  ASSERT_EQ(o.aborted, 1);
  ASSERT_EQ(blob_col(&f, "refcount", 0x42), 0);
  o = collect(&f, 0, 10, false, NULL, 0);
  ASSERT_EQ(o.n, 1);
  free(o.c);
  ASSERT(blob_col(&f, "collected_seq", 0x42) > 0);
  b = make_pkg(&f, "transient");
  ASSERT_EQ(add_file(&f, &b, "x", 0x42), 1);
  ASSERT_EQ(blob_col(&f, "collected_seq", 0x42), -1);
  ASSERT_EQ(blob_col(&f, "unref_seq", 0x42), -1);
  ASSERT_EQ(add_file(&f, &b, "y", 0x42), 2);
  expect_replay_same(&f);
  fixture_done(&f);
}

/* ---- figures ------------------------------------------------------------- */

static void run_all(struct fixture *f, int *done, int n) {
  fixture_run_until(&f->loop, done, n);
}

static void count_cb(const struct reg_result *res, void *arg) {
  ASSERT_EQ(res->error, REG_OK);
  (*(int *)arg)++;
}

static double seconds_since(const struct timespec *t0) {
  struct timespec t1;

  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) +
         (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One sweep job expiring N packages (one file each) and one collect job
 * of the N blobs; N is AS_LIFECYCLE_N (default 2000).  Past about 450
 * packages the job's savepoint journal passes SQ_SUBJOURNAL_SPILL and is
 * written to a temp file: with a spill size above 128 KiB SQLite 3.40
 * fails that with SQLITE_FULL (open.c).  Prints the times; asserts the
 * counts only. */
static void test_big_jobs_spill(void) {
  const char *env = getenv("AS_LIFECYCLE_N");
  int n = env != NULL ? atoi(env) : 2000;
  struct fixture f;
  struct uuid *p;
  struct outcome o;
  struct timespec t0;
  int done = 0;
  double s;

  ASSERT(n > 0);
  p = calloc((size_t)n, sizeof *p);
  ASSERT(p != NULL);
  fixture_init(&f, "lifecycle");
  fixture_writer_open(&f, &views_domain);
  define_class(&f, "now", 0);
  for (int i = 0; i < n; i++)
    p[i] = make_pkg(&f, "now");
  for (int i = 0; i < n; i++) {
    struct file_ingest_req req = {.package_id = p[i], .path = "f",
                                  .size = 1};
    memcpy(req.digests.blake3, &i, sizeof i);
    ASSERT_EQ(reg_file_ingest(f.w, &req, count_cb, &done), 0);
  }
  run_all(&f, &done, n);
  done = 0;
  for (int i = 0; i < n; i++)
    ASSERT_EQ(reg_package_finalize(f.w, &p[i], "me", count_cb, &done), 0);
  run_all(&f, &done, n);

  clock_gettime(CLOCK_MONOTONIC, &t0);
  o = sweep(&f, -1, (unsigned)n);
  s = seconds_since(&t0);
  ASSERT_EQ(o.expired, (unsigned)n);
  ASSERT(!o.more);
  printf("reg_sweep: %d packages expired in one job: %.3f s (%.0f/s)\n", n,
         s, n / s);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  o = collect(&f, 0, (unsigned)n, false, NULL, 0);
  s = seconds_since(&t0);
  ASSERT_EQ(o.n, (size_t)n);
  ASSERT(!o.more);
  free(o.c);
  printf("reg_collect: %d blobs collected in one job: %.3f s (%.0f/s)\n", n,
         s, n / s);
  free(p);
  fixture_done(&f);
}

TEST_MAIN(TEST_CASE(test_sweep_expires), TEST_CASE(test_sweep_limit),
          TEST_CASE(test_sweep_aborts), TEST_CASE(test_refcounts_collect),
          TEST_CASE(test_orphans), TEST_CASE(test_ingest_after_collect),
          TEST_CASE(test_big_jobs_spill))
