/*
 * test_registry.c: the registry's operations (registry.h) run through the
 * writer: create, ingest and finalize record what they should, in the
 * event and in the views; every enum reg_error comes back with a message
 * that names the problem, alone in a batch of successes; a batch the
 * database rolls back reaches every caller as REG_INTERNAL; callers hear
 * of their package only after its event is committed.
 */
#include <sqlite3.h>

#include "store/codec/ccbor.h"
#include "store/evlog/chain.h"
#include "store/evlog/log.h"

#include "registry/registry_fixture.h"

/* The event at seq, read back from the database (free() it). */
static struct event_rec *read_event(const struct fixture *f, int64_t seq) {
  struct evlog_db *db;
  struct event_rec **v;
  struct event_rec *ev;
  struct errbuf e = {{0}};
  size_t n;

  ASSERT_EQ(evlog_open(f->db, EVLOG_RO, &db, &e), 0);
  ASSERT_EQ(evlog_read_since(db, seq - 1, 1, &v, &n, &e), 0);
  evlog_close(db);
  ASSERT_EQ(n, 1);
  ev = v[0];
  free(v);
  ASSERT_EQ(ev->sequence, seq);
  return ev;
}

/* ---- acknowledged after commit ------------------------------------------ */

#define CREATORS 8
#define PER_CREATOR 5

struct crowd {
  struct writer *w;
  int done;
  int64_t commit_next; /* next sequence the commit callback expects */
};

struct creator {
  struct crowd *c;
  int left;
};

static void creator_submit(struct creator *cr);

static void creator_cb(const struct reg_result *res, void *arg) {
  struct creator *cr = arg;
  struct crowd *c = cr->c;

  if (res->error != REG_OK)
    fprintf(stderr, "create failed: %s\n", res->msg.msg);
  ASSERT_EQ(res->error, REG_OK);
  ASSERT(res->package != NULL);
  ASSERT_EQ(res->package->status, PKG_OPEN);
  /* Acknowledged only after commit: the commit cb has seen it already. */
  ASSERT(res->sequence < c->commit_next);
  c->done++;
  if (--cr->left > 0)
    creator_submit(cr);
}

static void creator_submit(struct creator *cr) {
  struct pkg_create_req req = {
      .name = "build", .producer = "ci", .subject = "repo@abc",
      .retention_class = "transient", .metadata_json = "{\"n\": 1}",
      .actor = "test"};

  ASSERT_EQ(reg_package_create(cr->c->w, &req, creator_cb, cr), 0);
}

static void crowd_commit_cb(const struct event_rec *evs, size_t n,
                            void *arg) {
  struct crowd *c = arg;

  ASSERT(n > 0);
  for (size_t i = 0; i < n; i++) {
    ASSERT_EQ(evs[i].sequence, c->commit_next);
    ASSERT_STREQ(evs[i].event_type, "v1.package.created");
    ASSERT_STREQ(evs[i].subject_kind, "package");
    ASSERT_STREQ(evs[i].actor, "test");
    c->commit_next++;
  }
}

static void test_concurrent_creates(void) {
  struct fixture f;
  struct crowd c = {.commit_next = 1};
  struct creator cr[CREATORS];

  fixture_init(&f, "registry");
  fixture_writer_open(&f, &views_domain);
  c.w = f.w;
  writer_set_commit_cb(f.w, crowd_commit_cb, &c);
  for (int i = 0; i < CREATORS; i++) {
    cr[i] = (struct creator){&c, PER_CREATOR};
    creator_submit(&cr[i]);
  }
  fixture_run_until(&f.loop, &c.done, CREATORS * PER_CREATOR);
  ASSERT_EQ(c.commit_next, CREATORS * PER_CREATOR + 1);
  fixture_done(&f);
}

/* ---- what each operation records ---------------------------------------- */

struct seen {
  int done;
  struct reg_ok ok;
  char name[64], metadata[64], retention_class[64];
  int64_t created_at, finalized_at, expires_at;
  char path[64], media_type[64];
  uint64_t size;
  struct digest_pair digests;
  struct uuid package_id;
};

/* Copies what the tests look at before the result is freed. */
static void seen_cb(const struct reg_result *res, void *arg) {
  struct seen *s = arg;

  reg_ok_cb(res, &s->ok);
  if (res->package != NULL) {
    snprintf(s->name, sizeof s->name, "%s|%s|%s", res->package->name,
             res->package->producer, res->package->subject);
    snprintf(s->metadata, sizeof s->metadata, "%s",
             res->package->metadata_json);
    snprintf(s->retention_class, sizeof s->retention_class, "%s",
             res->package->retention_class);
    s->created_at = res->package->created_at;
    s->finalized_at = res->package->finalized_at;
    s->expires_at = res->package->expires_at;
  }
  if (res->file != NULL) {
    snprintf(s->path, sizeof s->path, "%s", res->file->path);
    snprintf(s->media_type, sizeof s->media_type, "%s",
             res->file->media_type);
    s->size = res->file->size;
    s->digests = res->file->digests;
    s->package_id = res->file->package_id;
  }
  s->done++;
}

static void test_create_records_package(void) {
  struct fixture f;
  struct pkg_create_req req = {.name = "n", .producer = "p",
                               .subject = "s",
                               .retention_class = "summary-evidence",
                               .metadata_json = "{\"b\":[1,2],\"a\":\"x\"}",
                               .actor = "alice"};
  struct seen s = {0};
  struct event_rec *ev;
  cbor_item_t *m;
  int64_t v;

  fixture_init(&f, "registry");
  fixture_writer_open(&f, &views_domain);
  ASSERT_EQ(reg_package_create(f.w, &req, seen_cb, &s), 0);
  fixture_run_until(&f.loop, &s.done, 1);
  ASSERT_EQ(s.ok.sequence, 1);
  ASSERT_STREQ(s.name, "n|p|s");
  ASSERT_STREQ(s.retention_class, "summary-evidence");
  ASSERT_STREQ(s.metadata, "{\"a\":\"x\",\"b\":[1,2]}"); /* JCS */
  ASSERT_EQ(s.ok.status, PKG_OPEN);
  ASSERT(!s.ok.has_manifest);
  ASSERT_EQ(s.finalized_at, TS_NONE);
  ASSERT_EQ(s.expires_at, TS_NONE); /* the clock starts at finalize */

  /* The event: who, when, what, and a payload the views took it from. */
  ev = read_event(&f, 1);
  ASSERT_STREQ(ev->event_type, EV_PACKAGE_CREATED);
  ASSERT_STREQ(ev->subject_kind, EV_KIND_PACKAGE);
  ASSERT_MEMEQ(ev->subject_id.b, s.ok.id.b, UUID_LEN);
  ASSERT_STREQ(ev->actor, "alice");
  ASSERT_EQ(ev->created_at, s.created_at);
  ASSERT_EQ(ccbor_decode(ev->payload, ev->payload_len, &m, NULL), 0);
  ASSERT_EQ(ccbor_get_int(ccbor_map_get(m, "created_at"), &v), 0);
  ASSERT_EQ(v, s.created_at);
  ASSERT(ccbor_map_get(ccbor_map_get(m, "metadata"), "b") != NULL);
  cbor_decref(&m);
  free(ev);

  /* No actor: "anonymous"; a permanent class never expires. */
  req = (struct pkg_create_req){.name = "n", .producer = "p",
                                .subject = "s",
                                .retention_class = "permanent-record"};
  memset(&s, 0, sizeof s);
  ASSERT_EQ(reg_package_create(f.w, &req, seen_cb, &s), 0);
  fixture_run_until(&f.loop, &s.done, 1);
  ASSERT_EQ(s.ok.sequence, 2);
  ASSERT_EQ(s.expires_at, TS_NONE);
  ASSERT_STREQ(s.metadata, "{}");
  ev = read_event(&f, 2);
  ASSERT_STREQ(ev->actor, REG_ACTOR_ANONYMOUS);
  free(ev);
  fixture_done(&f);
}

static void test_ingest_and_finalize(void) {
  struct fixture f;
  struct pkg_create_req req = {.name = "n", .producer = "p",
                               .subject = "s",
                               .retention_class = "transient"};
  struct file_ingest_req fr = {.path = "dir/a.bin", .size = 42,
                               .actor = "bob"};
  struct seen s = {0};
  struct uuid pkg;
  struct event_rec *ev;
  uint8_t d[DIGEST_LEN];

  fixture_init(&f, "registry");
  fixture_writer_open(&f, &views_domain);
  pkg = reg_create_ok(&f, &req).id;

  fr.package_id = pkg;
  memset(fr.digests.blake3, 0xb3, DIGEST_LEN);
  memset(fr.digests.sha256, 0x56, DIGEST_LEN);
  ASSERT_EQ(reg_file_ingest(f.w, &fr, seen_cb, &s), 0);
  fixture_run_until(&f.loop, &s.done, 1);
  ASSERT_EQ(s.ok.sequence, 2);
  ASSERT_STREQ(s.path, "dir/a.bin");
  ASSERT_STREQ(s.media_type, REG_MEDIA_DEFAULT);
  ASSERT_EQ(s.size, 42);
  ASSERT_MEMEQ(s.digests.blake3, fr.digests.blake3, DIGEST_LEN);
  ASSERT_MEMEQ(s.digests.sha256, fr.digests.sha256, DIGEST_LEN);
  ASSERT_MEMEQ(s.package_id.b, pkg.b, UUID_LEN);
  ev = read_event(&f, 2);
  ASSERT_STREQ(ev->event_type, EV_FILE_INGESTED);
  ASSERT_STREQ(ev->subject_kind, EV_KIND_FILE);
  ASSERT_MEMEQ(ev->subject_id.b, s.ok.id.b, UUID_LEN);
  ASSERT_STREQ(ev->actor, "bob");
  free(ev);

  /* finalize: the manifest is the event's payload, its digest the
   * package's manifest digest. */
  memset(&s, 0, sizeof s);
  ASSERT_EQ(reg_package_finalize(f.w, &pkg, NULL, seen_cb, &s), 0);
  fixture_run_until(&f.loop, &s.done, 1);
  ASSERT_EQ(s.ok.sequence, 3);
  ASSERT_EQ(s.ok.status, PKG_FINALIZED);
  ASSERT(s.ok.has_manifest);
  ASSERT(s.finalized_at != TS_NONE);
  ASSERT(s.finalized_at >= s.created_at);
  ev = read_event(&f, 3);
  ASSERT_STREQ(ev->event_type, EV_PACKAGE_FINALIZED);
  ASSERT_MEMEQ(ev->subject_id.b, pkg.b, UUID_LEN);
  ASSERT_STREQ(ev->actor, REG_ACTOR_ANONYMOUS);
  digest_blake3(ev->payload, ev->payload_len, d);
  ASSERT_MEMEQ(d, s.ok.manifest_digest, DIGEST_LEN);
  ASSERT_MEMEQ(ev->payload_digest, s.ok.manifest_digest, DIGEST_LEN);
  free(ev);
  fixture_done(&f);
}

/* ---- refused fields ------------------------------------------------------ */

struct refusal {
  int done;
  enum reg_error err;
  char msg[ERRBUF_MAX];
};

static void refusal_cb(const struct reg_result *res, void *arg) {
  struct refusal *r = arg;

  r->err = res->error;
  memcpy(r->msg, res->msg.msg, ERRBUF_MAX);
  ASSERT(res->package == NULL && res->file == NULL);
  r->done++;
}

static void expect_refused(struct fixture *f, struct refusal *r,
                           enum reg_error err, const char *needle) {
  fixture_run_until(&f->loop, &r->done, 1);
  if (strstr(r->msg, needle) == NULL)
    fprintf(stderr, "message \"%s\" lacks \"%s\"\n", r->msg, needle);
  ASSERT_EQ(r->err, err);
  ASSERT(strstr(r->msg, needle) != NULL);
  memset(r, 0, sizeof *r);
}

static void test_invalid_fields(void) {
  struct fixture f;
  struct pkg_create_req ok = {.name = "n", .producer = "p", .subject = "s",
                              .retention_class = "transient"};
  struct pkg_create_req req;
  struct file_ingest_req fr;
  struct refusal r = {0};
  struct writer_stats st;
  char *big = malloc(EVLOG_TEXT_MAX + 2);
  struct uuid pkg;

  ASSERT(big != NULL);
  fixture_init(&f, "registry");
  fixture_writer_open(&f, &views_domain);
  pkg = reg_create_ok(&f, &ok).id;

  req = ok;
  req.name = NULL;
  ASSERT_EQ(reg_package_create(f.w, &req, refusal_cb, &r), 0);
  expect_refused(&f, &r, REG_INVALID, "field \"name\" is required");
  req = ok;
  req.producer = "";
  ASSERT_EQ(reg_package_create(f.w, &req, refusal_cb, &r), 0);
  expect_refused(&f, &r, REG_INVALID, "field \"producer\" is required");
  memset(big, 'x', REG_FIELD_MAX + 1);
  big[REG_FIELD_MAX + 1] = '\0';
  req = ok;
  req.subject = big;
  ASSERT_EQ(reg_package_create(f.w, &req, refusal_cb, &r), 0);
  expect_refused(&f, &r, REG_INVALID,
                 "field \"subject\" is longer than 1024 bytes");
  req = ok;
  req.retention_class = NULL;
  ASSERT_EQ(reg_package_create(f.w, &req, refusal_cb, &r), 0);
  expect_refused(&f, &r, REG_INVALID,
                 "field \"retention_class\" is required");
  req = ok;
  req.metadata_json = "{\"a\": ";
  ASSERT_EQ(reg_package_create(f.w, &req, refusal_cb, &r), 0);
  expect_refused(&f, &r, REG_INVALID, "metadata is not valid JSON");
  req = ok;
  req.metadata_json = "{\"a\": 1, \"a\": 2}";
  ASSERT_EQ(reg_package_create(f.w, &req, refusal_cb, &r), 0);
  expect_refused(&f, &r, REG_INVALID, "metadata is not valid JSON");

  /* An actor longer than the log can chain (EVLOG_TEXT_MAX). */
  memset(big, 'a', EVLOG_TEXT_MAX + 1);
  big[EVLOG_TEXT_MAX + 1] = '\0';
  req = ok;
  req.actor = big;
  ASSERT_EQ(reg_package_create(f.w, &req, refusal_cb, &r), 0);
  expect_refused(&f, &r, REG_INVALID, "longer than 65535 bytes");

  memset(&fr, 0, sizeof fr);
  fr.package_id = pkg;
  ASSERT_EQ(reg_file_ingest(f.w, &fr, refusal_cb, &r), 0);
  expect_refused(&f, &r, REG_INVALID, "field \"path\" is required");
  fr.path = "a/./b";
  ASSERT_EQ(reg_file_ingest(f.w, &fr, refusal_cb, &r), 0);
  expect_refused(&f, &r, REG_INVALID, "path segment \".\" is not allowed");
  fr.path = "a";
  fr.media_type = "text/\xff";
  ASSERT_EQ(reg_file_ingest(f.w, &fr, refusal_cb, &r), 0);
  expect_refused(&f, &r, REG_INVALID,
                 "field \"media_type\" is not valid UTF-8");
  fr.media_type = NULL;
  fr.size = (uint64_t)CCBOR_MAX_INT + 1;
  ASSERT_EQ(reg_file_ingest(f.w, &fr, refusal_cb, &r), 0);
  expect_refused(&f, &r, REG_INVALID, "larger than 2^53 bytes");

  /* None of them wrote anything. */
  writer_get_stats(f.w, &st);
  ASSERT_EQ(st.last_sequence, 1);
  free(big);
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
  ASSERT_EQ(o.pkg[0].expires_at, TS_NONE); /* open: no clock yet */
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

TEST_MAIN(TEST_CASE(test_concurrent_creates),
          TEST_CASE(test_create_records_package),
          TEST_CASE(test_ingest_and_finalize), TEST_CASE(test_invalid_fields),
          TEST_CASE(test_batch_with_failures),
          TEST_CASE(test_batch_rolled_back_by_sqlite))
