/*
 * test_views.c: views_apply (views.h) on a fresh database, through the
 * evlog API only, with events built by hand: each event type changes
 * exactly the view rows it should (every other table keeps its digest),
 * with every value taken from the event (the retention lifecycle's
 * events too: classes, extension, holds, expiry and abort with their
 * blob references, collection); an event that does not fit the
 * views (unknown type, a field missing or of the wrong type, a file for
 * a missing package, an unknown retention class, finalizing twice) is
 * UV_EPROTO with a message naming the event, and changes nothing.
 */
#include "store/codec/caddr.h"
#include "store/codec/jcs.h"
#include "store/evlog/chain.h"
#include "store/evlog/replay.h"
#include "store/registry/views.h"
#include "store_fixture.h"

#define T0 INT64_C(1700000000000000)
#define DAY_US INT64_C(86400000000)
#define PKG "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b"
#define PKG2 "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2c"
#define FILE1 "0190a1b2-c3d4-7e5f-8a6b-000000000001"
#define FILE2 "0190a1b2-c3d4-7e5f-8a6b-000000000002"
#define JSON_MAX 1024
#define HEX8(b) b b b b b b b b
#define HEX32(b) HEX8(b) HEX8(b) HEX8(b) HEX8(b) /* hex() of 32 b bytes */

/* ---- a fresh database in one open transaction ---------------------------- */

struct vt {
  struct fixture f;
  struct evlog_db *db;
};

static void vt_init(struct vt *t) {
  struct errbuf e = {{0}};

  fixture_init(&t->f, "views");
  ASSERT_EQ(evlog_open(t->f.db, EVLOG_RW, &t->db, &e), 0);
  ASSERT_EQ(evlog_begin(t->db, true, &e), 0);
}

static void vt_done(struct vt *t) {
  evlog_rollback(t->db);
  evlog_close(t->db);
  fixture_done(&t->f);
}

/* ---- events made by hand ------------------------------------------------- */

struct ev {
  struct event_rec rec;
  uint8_t *payload;
};

/* An event of type whose payload is the canonical CBOR of json. */
static void ev_make(struct ev *ev, int64_t seq, const char *type,
                    const char *json) {
  struct errbuf e = {{0}};
  size_t len = 0;
  int rc;

  memset(ev, 0, sizeof *ev);
  rc = jcs_text_to_ccbor(json, strlen(json), &ev->payload, &len, &e);
  if (rc != 0)
    fprintf(stderr, "%s: %s\n", json, err_msg(&e, rc));
  ASSERT_EQ(rc, 0);
  ev->rec.sequence = seq;
  ev->rec.created_at = T0 + seq;
  ev->rec.event_type = type;
  ev->rec.subject_kind = "package";
  ev->rec.actor = "test";
  ev->rec.payload = ev->payload;
  ev->rec.payload_len = len;
  evlog_payload_digest(ev->payload, len, ev->rec.payload_digest);
}

static void ev_free(struct ev *ev) {
  free(ev->payload);
  ev->payload = NULL;
}

/* Applies the event; it must fit. */
static void apply_ok(struct vt *t, int64_t seq, const char *type,
                     const char *json) {
  struct errbuf e = {{0}};
  struct ev ev;
  int rc;

  ev_make(&ev, seq, type, json);
  rc = views_apply(t->db, &ev.rec, &e);
  if (rc != 0)
    fprintf(stderr, "views_apply: %s\n", err_msg(&e, rc));
  ASSERT_EQ(rc, 0);
  ev_free(&ev);
}

static void created_json(char *out, const char *id, const char *cls,
                         const char *metadata) {
  snprintf(out, JSON_MAX,
           "{\"id\": \"%s\", \"name\": \"n\", \"producer\": \"p\", "
           "\"subject\": \"s\", \"retention_class\": \"%s\", "
           "\"created_at\": %lld, \"metadata\": %s}",
           id, cls, (long long)T0, metadata);
}

static void ingested_json(char *out, const char *id, const char *pkg,
                          const char *path, uint8_t fill) {
  uint8_t d[DIGEST_LEN];
  char b3[CADDR_BUFSIZE], sha[CADDR_BUFSIZE];

  memset(d, fill, sizeof d);
  caddr_format_raw(CADDR_BLAKE3, d, b3);
  memset(d, fill ^ 0xff, sizeof d);
  caddr_format_raw(CADDR_SHA256, d, sha);
  snprintf(out, JSON_MAX,
           "{\"id\": \"%s\", \"package_id\": \"%s\", \"path\": \"%s\", "
           "\"media_type\": \"text/plain\", \"size\": 3, "
           "\"blake3\": \"%s\", \"sha256\": \"%s\"}",
           id, pkg, path, b3, sha);
}

static void finalized_json(char *out, const char *pkg, int64_t at) {
  snprintf(out, JSON_MAX,
           "{\"version\": 1, \"files\": [], \"package\": {\"id\": \"%s\", "
           "\"finalized_at\": %lld}}",
           pkg, (long long)at);
}

/* ---- what the views hold ------------------------------------------------- */

#define NTABLES 6 /* views_domain's tables */

/* A digest and a row count per view table: replay's view digest over a
 * domain of that one table (plus `state`, which views_apply never
 * touches: stamping is the engine's). */
struct snap {
  uint8_t d[NTABLES][DIGEST_LEN];
  uint64_t rows[NTABLES];
};

static void snap_take(struct vt *t, struct snap *s) {
  struct errbuf e = {{0}};

  ASSERT_EQ(views_domain.ntables, NTABLES);
  for (size_t i = 0; i < NTABLES; i++) {
    struct evlog_domain one = {.tables = &views_domain.tables[i],
                               .ntables = 1};
    ASSERT_EQ(replay_view_digest(t->db, &one, s->d[i], &s->rows[i], &e), 0);
    s->rows[i] -= 1; /* the state row */
  }
}

static size_t table_index(const char *name) {
  for (size_t i = 0; i < NTABLES; i++)
    if (strcmp(views_domain.tables[i].name, name) == 0)
      return i;
  fprintf(stderr, "no view table %s\n", name);
  abort();
}

/* Exactly the tables in changed[] (NULL-terminated) differ between a and
 * b, and each by delta[] rows. */
static void expect_changed(const struct snap *a, const struct snap *b,
                           const char *const *changed, const int *delta) {
  bool want[NTABLES] = {false};
  int64_t rows[NTABLES] = {0};

  for (size_t k = 0; changed[k] != NULL; k++) {
    size_t i = table_index(changed[k]);
    want[i] = true;
    rows[i] = delta[k];
  }
  for (size_t i = 0; i < NTABLES; i++) {
    bool differs = memcmp(a->d[i], b->d[i], DIGEST_LEN) != 0;
    if (differs != want[i])
      fprintf(stderr, "table %s: %s\n", views_domain.tables[i].name,
              differs ? "changed" : "unchanged");
    ASSERT(differs == want[i]);
    ASSERT_EQ((int64_t)b->rows[i] - (int64_t)a->rows[i], rows[i]);
  }
}

static void expect_unchanged(const struct snap *a, const struct snap *b) {
  static const char *const none[] = {NULL};

  expect_changed(a, b, none, NULL);
}

static struct evlog_stmt *query(struct vt *t, const char *sql) {
  struct evlog_stmt *st;
  struct errbuf e = {{0}};

  ASSERT_EQ(evlog_prepare(t->db, sql, &st, &e), 0);
  ASSERT_EQ(evlog_step(st), EVLOG_ROW);
  return st;
}

static int64_t query_int(struct vt *t, const char *sql) {
  struct evlog_stmt *st = query(t, sql);
  int64_t v;

  ASSERT_EQ(evlog_col_type(st, 0), EVLOG_INTEGER);
  v = evlog_col_int(st, 0);
  evlog_finalize(st);
  return v;
}

static void expect_text(struct vt *t, const char *sql, const char *want) {
  struct evlog_stmt *st = query(t, sql);

  ASSERT_EQ(evlog_col_type(st, 0), EVLOG_TEXT);
  ASSERT_STREQ(evlog_col_text(st, 0, NULL), want);
  evlog_finalize(st);
}

static void expect_null(struct vt *t, const char *sql) {
  struct evlog_stmt *st = query(t, sql);

  ASSERT_EQ(evlog_col_type(st, 0), EVLOG_NULL);
  evlog_finalize(st);
}

/* The event is refused with UV_EPROTO, a message holding each of the
 * needles, and no view changes. */
static void expect_refused(struct vt *t, int64_t seq, const char *type,
                           const char *json, const char *needle1,
                           const char *needle2) {
  struct errbuf e = {{0}};
  struct snap before, after;
  struct ev ev;
  int rc;

  snap_take(t, &before);
  ev_make(&ev, seq, type, json);
  rc = views_apply(t->db, &ev.rec, &e);
  ev_free(&ev);
  if (rc != UV_EPROTO || strstr(e.msg, needle1) == NULL ||
      (needle2 != NULL && strstr(e.msg, needle2) == NULL))
    fprintf(stderr, "views_apply: %d \"%s\"\n", rc, e.msg);
  ASSERT_EQ(rc, UV_EPROTO);
  ASSERT(strstr(e.msg, needle1) != NULL);
  ASSERT(needle2 == NULL || strstr(e.msg, needle2) != NULL);
  snap_take(t, &after);
  expect_unchanged(&before, &after);
}

/* ---- each event type ----------------------------------------------------- */

static void test_package_created(void) {
  static const char *const changed[] = {"packages", "retention_state", NULL};
  static const int delta[] = {1, 1};
  struct vt t;
  struct snap a, b;
  char json[JSON_MAX];

  vt_init(&t);
  snap_take(&t, &a);
  ASSERT_EQ(a.rows[table_index("retention_classes")], 5); /* seeded */
  created_json(json, PKG, "raw-evidence", "{\"b\": [1, 2], \"a\": \"x\"}");
  apply_ok(&t, 7, EV_PACKAGE_CREATED, json);
  snap_take(&t, &b);
  expect_changed(&a, &b, changed, delta);

  expect_text(&t, "SELECT name || '|' || producer || '|' || subject || '|' "
              "|| retention_class FROM packages",
              "n|p|s|raw-evidence");
  expect_text(&t, "SELECT metadata FROM packages", "{\"a\":\"x\",\"b\":[1,2]}");
  expect_text(&t, "SELECT hex(id) FROM packages",
              "0190A1B2C3D47E5F8A6B7C8D9E0F1A2B");
  ASSERT_EQ(query_int(&t, "SELECT status FROM packages"), 1);
  ASSERT_EQ(query_int(&t, "SELECT created_at FROM packages"), T0);
  ASSERT_EQ(query_int(&t, "SELECT created_seq FROM packages"), 7);
  expect_null(&t, "SELECT finalized_at FROM packages");
  expect_null(&t, "SELECT manifest_digest FROM packages");
  expect_null(&t, "SELECT finalized_seq FROM packages");
  expect_text(&t, "SELECT class FROM retention_state", "raw-evidence");
  /* the clock starts at finalize */
  expect_null(&t, "SELECT expires_at FROM retention_state");
  ASSERT_EQ(query_int(&t, "SELECT count(*) FROM retention_state r JOIN "
                          "packages p ON p.id = r.package_id"),
            1);
  /* the engine's stamp is not the views' business */
  ASSERT_EQ(query_int(&t, "SELECT last_sequence FROM state"), 0);
  vt_done(&t);
}

static void test_package_created_permanent(void) {
  struct vt t;
  char json[JSON_MAX];

  vt_init(&t);
  created_json(json, PKG, "permanent-record", "{}");
  apply_ok(&t, 1, EV_PACKAGE_CREATED, json);
  expect_text(&t, "SELECT class FROM retention_state", "permanent-record");
  expect_null(&t, "SELECT expires_at FROM retention_state");
  expect_text(&t, "SELECT metadata FROM packages", "{}");
  vt_done(&t);
}

/* A file adds its row and its blob; a second file with the same bytes
 * adds its row and counts the blob twice. */
static void test_file_ingested(void) {
  static const char *const changed[] = {"blobs", "files", NULL};
  static const int first[] = {1, 1};
  static const int second[] = {0, 1};
  struct vt t;
  struct snap a, b, c;
  char json[JSON_MAX];

  vt_init(&t);
  created_json(json, PKG, "transient", "{}");
  apply_ok(&t, 1, EV_PACKAGE_CREATED, json);
  snap_take(&t, &a);
  ingested_json(json, FILE1, PKG, "dir/a.txt", 0x11);
  apply_ok(&t, 2, EV_FILE_INGESTED, json);
  snap_take(&t, &b);
  expect_changed(&a, &b, changed, first);
  expect_text(&t, "SELECT path || '|' || media_type FROM files",
              "dir/a.txt|text/plain");
  expect_text(&t, "SELECT hex(id) || ' ' || hex(package_id) FROM files",
              "0190A1B2C3D47E5F8A6B000000000001 "
              "0190A1B2C3D47E5F8A6B7C8D9E0F1A2B");
  ASSERT_EQ(query_int(&t, "SELECT size FROM files"), 3);
  expect_text(&t, "SELECT hex(blake3) || ' ' || hex(sha256) FROM files",
              HEX32("11") " " HEX32("EE"));
  expect_text(&t, "SELECT hex(blake3) || ' ' || hex(sha256) FROM blobs",
              HEX32("11") " " HEX32("EE"));
  ASSERT_EQ(query_int(&t, "SELECT size FROM blobs"), 3);
  ASSERT_EQ(query_int(&t, "SELECT refcount FROM blobs"), 1);

  ingested_json(json, FILE2, PKG, "dir/b.txt", 0x11);
  apply_ok(&t, 3, EV_FILE_INGESTED, json);
  snap_take(&t, &c);
  expect_changed(&b, &c, changed, second);
  ASSERT_EQ(query_int(&t, "SELECT refcount FROM blobs"), 2);
  vt_done(&t);
}

/* Finalizing changes the package row alone: status, when, and the
 * manifest's digest, which is the event's payload digest. */
static void test_package_finalized(void) {
  static const char *const changed[] = {"packages", "retention_state", NULL};
  static const int delta[] = {0, 0};
  struct vt t;
  struct snap a, b;
  struct ev ev;
  struct errbuf e = {{0}};
  struct evlog_stmt *st;
  char json[JSON_MAX];
  const void *d;
  size_t n;

  vt_init(&t);
  created_json(json, PKG, "transient", "{}");
  apply_ok(&t, 1, EV_PACKAGE_CREATED, json);
  ingested_json(json, FILE1, PKG, "a.txt", 0x22);
  apply_ok(&t, 2, EV_FILE_INGESTED, json);
  snap_take(&t, &a);
  finalized_json(json, PKG, T0 + 5);
  ev_make(&ev, 3, EV_PACKAGE_FINALIZED, json);
  ASSERT_EQ(views_apply(t.db, &ev.rec, &e), 0);
  snap_take(&t, &b);
  expect_changed(&a, &b, changed, delta);
  ASSERT_EQ(query_int(&t, "SELECT status FROM packages"), 2);
  ASSERT_EQ(query_int(&t, "SELECT finalized_at FROM packages"), T0 + 5);
  ASSERT_EQ(query_int(&t, "SELECT finalized_seq FROM packages"), 3);
  /* the retention clock starts now: transient is 7 days */
  ASSERT_EQ(query_int(&t, "SELECT expires_at FROM retention_state"),
            T0 + 5 + 7 * DAY_US);
  st = query(&t, "SELECT manifest_digest FROM packages");
  d = evlog_col_blob(st, 0, &n);
  ASSERT_EQ(n, DIGEST_LEN);
  ASSERT_MEMEQ(d, ev.rec.payload_digest, DIGEST_LEN);
  evlog_finalize(st);
  ev_free(&ev);
  vt_done(&t);
}

/* ---- events that do not fit ---------------------------------------------- */

static void test_unknown_type(void) {
  struct vt t;

  vt_init(&t);
  expect_refused(&t, 4, "v9.thing.happened", "{}", "event 4",
                 "\"v9.thing.happened\"");
  vt_done(&t);
}

static void test_missing_field(void) {
  struct vt t;
  char json[JSON_MAX];

  vt_init(&t);
  expect_refused(&t, 1, EV_PACKAGE_CREATED,
                 "{\"id\": \"" PKG "\", \"producer\": \"p\", "
                 "\"subject\": \"s\", \"retention_class\": \"transient\", "
                 "\"created_at\": 1, \"metadata\": {}}",
                 "event 1 (v1.package.created)", "\"name\" is missing");
  created_json(json, PKG, "transient", "{}");
  apply_ok(&t, 1, EV_PACKAGE_CREATED, json);
  expect_refused(&t, 2, EV_FILE_INGESTED,
                 "{\"id\": \"" FILE1 "\", \"package_id\": \"" PKG "\", "
                 "\"path\": \"a\", \"media_type\": \"x\", "
                 "\"blake3\": \"x\", \"sha256\": \"x\"}",
                 "event 2 (v1.file.ingested)", "\"size\" is missing");
  expect_refused(&t, 2, EV_PACKAGE_FINALIZED,
                 "{\"package\": {\"id\": \"" PKG "\"}}",
                 "event 2 (v1.package.finalized)",
                 "\"finalized_at\" is missing");
  expect_refused(&t, 2, EV_PACKAGE_FINALIZED, "{\"files\": []}",
                 "event 2 (v1.package.finalized)", "\"package\" is missing");
  vt_done(&t);
}

static void test_wrong_type(void) {
  struct vt t;
  char json[JSON_MAX], meta[64];

  vt_init(&t);
  /* created_at as text */
  snprintf(json, sizeof json,
           "{\"id\": \"" PKG "\", \"name\": \"n\", \"producer\": \"p\", "
           "\"subject\": \"s\", \"retention_class\": \"transient\", "
           "\"created_at\": \"%lld\", \"metadata\": {}}",
           (long long)T0);
  expect_refused(&t, 1, EV_PACKAGE_CREATED, json, "event 1",
                 "\"created_at\" is missing or has the wrong type");
  /* an id that is no UUID; metadata that is no object */
  created_json(json, "not-a-uuid", "transient", "{}");
  expect_refused(&t, 1, EV_PACKAGE_CREATED, json, "event 1", "\"id\"");
  snprintf(meta, sizeof meta, "[1]");
  created_json(json, PKG, "transient", meta);
  expect_refused(&t, 1, EV_PACKAGE_CREATED, json, "event 1",
                 "\"metadata\"");
  /* a payload that is not a map at all */
  expect_refused(&t, 1, EV_PACKAGE_CREATED, "[1, 2]", "event 1",
                 "not a canonical CBOR map");

  created_json(json, PKG, "transient", "{}");
  apply_ok(&t, 1, EV_PACKAGE_CREATED, json);
  /* size negative; a sha256 address where blake3 belongs */
  ingested_json(json, FILE1, PKG, "a", 0x33);
  {
    char *p = strstr(json, "\"size\": 3");
    ASSERT(p != NULL);
    memcpy(p, "\"size\":-3", 9);
  }
  expect_refused(&t, 2, EV_FILE_INGESTED, json, "event 2", "\"size\"");
  ingested_json(json, FILE1, PKG, "a", 0x33);
  {
    char *p = strstr(json, "\"blake3:");
    ASSERT(p != NULL);
    memcpy(p, "\"sha256:", 8);
  }
  expect_refused(&t, 2, EV_FILE_INGESTED, json, "event 2", "\"blake3\"");
  /* finalized_at as text */
  expect_refused(&t, 2, EV_PACKAGE_FINALIZED,
                 "{\"package\": {\"id\": \"" PKG "\", "
                 "\"finalized_at\": \"soon\"}}",
                 "event 2", "\"finalized_at\"");
  vt_done(&t);
}

/* The second finalize of a package, or the first of a package that does
 * not exist, changes nothing. */
static void test_finalize_twice(void) {
  struct vt t;
  char json[JSON_MAX];

  vt_init(&t);
  created_json(json, PKG, "transient", "{}");
  apply_ok(&t, 1, EV_PACKAGE_CREATED, json);
  finalized_json(json, PKG, T0 + 1);
  apply_ok(&t, 2, EV_PACKAGE_FINALIZED, json);
  finalized_json(json, PKG, T0 + 2);
  expect_refused(&t, 3, EV_PACKAGE_FINALIZED, json, "event 3",
                 "missing or already finalized");
  ASSERT_EQ(query_int(&t, "SELECT finalized_at FROM packages"), T0 + 1);
  ASSERT_EQ(query_int(&t, "SELECT finalized_seq FROM packages"), 2);
  finalized_json(json, PKG2, T0 + 2);
  expect_refused(&t, 3, EV_PACKAGE_FINALIZED, json, "event 3",
                 "missing or already finalized");
  vt_done(&t);
}

/* An event that breaks a constraint of the views is refused naming it.
 * What it changed before is undone by the caller's savepoint (the writer)
 * or transaction (replay), as here. */
static void expect_refused_undone(struct vt *t, int64_t seq,
                                  const char *type, const char *json,
                                  const char *needle) {
  struct errbuf e = {{0}};
  struct snap before, after;
  struct ev ev;
  int rc;

  snap_take(t, &before);
  ASSERT_EQ(evlog_exec(t->db, "SAVEPOINT refused", &e), 0);
  ev_make(&ev, seq, type, json);
  rc = views_apply(t->db, &ev.rec, &e);
  ev_free(&ev);
  if (rc != UV_EPROTO || strstr(e.msg, needle) == NULL)
    fprintf(stderr, "views_apply: %d \"%s\"\n", rc, e.msg);
  ASSERT_EQ(rc, UV_EPROTO);
  ASSERT(strstr(e.msg, needle) != NULL);
  ASSERT(strstr(e.msg, "--verify-log") != NULL);
  ASSERT_EQ(evlog_exec(t->db, "ROLLBACK TO refused; RELEASE refused", &e),
            0);
  snap_take(t, &after);
  expect_unchanged(&before, &after);
}

/* A file whose package is not there. */
static void test_file_for_missing_package(void) {
  struct vt t;
  char json[JSON_MAX];

  vt_init(&t);
  ingested_json(json, FILE1, PKG, "a", 0x33);
  expect_refused_undone(&t, 5, EV_FILE_INGESTED, json,
                        "event 5 (v1.file.ingested) does not fit");
  created_json(json, PKG2, "transient", "{}");
  apply_ok(&t, 5, EV_PACKAGE_CREATED, json);
  ingested_json(json, FILE1, PKG, "a", 0x33);
  expect_refused_undone(&t, 6, EV_FILE_INGESTED, json,
                        "event 6 (v1.file.ingested) does not fit");
  vt_done(&t);
}

static void test_unknown_retention_class(void) {
  struct vt t;
  char json[JSON_MAX];

  vt_init(&t);
  created_json(json, PKG, "forever", "{}");
  expect_refused_undone(&t, 9, EV_PACKAGE_CREATED, json,
                        "event 9 (v1.package.created) does not fit");
  vt_done(&t);
}

/* ---- the retention lifecycle --------------------------------------------- */

#define HOLD1 "0190a1b2-c3d4-7e5f-8a6b-0000000000a1"

static void blob_addr(char *out, uint8_t fill) {
  uint8_t d[DIGEST_LEN];

  memset(d, fill, sizeof d);
  caddr_format_raw(CADDR_BLAKE3, d, out);
}

/* A class is inserted, then raised: finalized packages of the class
 * expire later (open ones still never), then never. */
static void test_class_defined(void) {
  static const char *const added[] = {"retention_classes", NULL};
  static const char *const raised[] = {"retention_classes",
                                       "retention_state", NULL};
  static const int plus1[] = {1}, zero[] = {0, 0};
  struct vt t;
  struct snap a, b, c;
  char json[JSON_MAX];

  vt_init(&t);
  snap_take(&t, &a);
  apply_ok(&t, 1, EV_RETENTION_CLASS_DEFINED,
           "{\"name\": \"pr\", \"duration_seconds\": 3600}");
  snap_take(&t, &b);
  expect_changed(&a, &b, added, plus1);
  ASSERT_EQ(query_int(&t, "SELECT duration_seconds FROM retention_classes "
                          "WHERE name = 'pr'"),
            3600);
  ASSERT_EQ(query_int(&t, "SELECT defined_seq FROM retention_classes "
                          "WHERE name = 'pr'"),
            1);
  created_json(json, PKG, "pr", "{}");
  apply_ok(&t, 2, EV_PACKAGE_CREATED, json);
  created_json(json, PKG2, "pr", "{}");
  apply_ok(&t, 3, EV_PACKAGE_CREATED, json);
  finalized_json(json, PKG, T0 + 5);
  apply_ok(&t, 4, EV_PACKAGE_FINALIZED, json);
  ASSERT_EQ(query_int(&t, "SELECT expires_at FROM retention_state WHERE "
                          "package_id = x'0190A1B2C3D47E5F8A6B7C8D9E0F1A2B'"),
            T0 + 5 + INT64_C(3600000000));
  snap_take(&t, &b);
  apply_ok(&t, 5, EV_RETENTION_CLASS_DEFINED,
           "{\"name\": \"pr\", \"duration_seconds\": 7200, "
           "\"previous_duration_seconds\": 3600}");
  snap_take(&t, &c);
  expect_changed(&b, &c, raised, zero);
  ASSERT_EQ(query_int(&t, "SELECT expires_at FROM retention_state WHERE "
                          "package_id = x'0190A1B2C3D47E5F8A6B7C8D9E0F1A2B'"),
            T0 + 5 + INT64_C(7200000000));
  expect_null(&t, "SELECT expires_at FROM retention_state WHERE "
                  "package_id = x'0190A1B2C3D47E5F8A6B7C8D9E0F1A2C'");
  ASSERT_EQ(query_int(&t, "SELECT defined_seq FROM retention_classes "
                          "WHERE name = 'pr'"),
            5);
  apply_ok(&t, 6, EV_RETENTION_CLASS_DEFINED,
           "{\"name\": \"pr\", \"duration_seconds\": null, "
           "\"previous_duration_seconds\": 7200}");
  expect_null(&t, "SELECT duration_seconds FROM retention_classes "
                  "WHERE name = 'pr'");
  expect_null(&t, "SELECT expires_at FROM retention_state WHERE "
                  "package_id = x'0190A1B2C3D47E5F8A6B7C8D9E0F1A2B'");
  expect_refused(&t, 7, EV_RETENTION_CLASS_DEFINED,
                 "{\"name\": \"x\", \"duration_seconds\": -1}", "event 7",
                 "\"duration_seconds\"");
  vt_done(&t);
}

/* Removal deletes the row; removing a class that is not there is
 * refused. */
static void test_class_removed(void) {
  static const char *const changed[] = {"retention_classes", NULL};
  static const int minus1[] = {-1};
  struct vt t;
  struct snap a, b;

  vt_init(&t);
  apply_ok(&t, 1, EV_RETENTION_CLASS_DEFINED,
           "{\"name\": \"pr\", \"duration_seconds\": 60}");
  snap_take(&t, &a);
  apply_ok(&t, 2, EV_RETENTION_CLASS_REMOVED, "{\"name\": \"pr\"}");
  snap_take(&t, &b);
  expect_changed(&a, &b, changed, minus1);
  ASSERT_EQ(query_int(&t, "SELECT count(*) FROM retention_classes WHERE "
                          "name = 'pr'"),
            0);
  expect_refused(&t, 3, EV_RETENTION_CLASS_REMOVED, "{\"name\": \"pr\"}",
                 "event 3 (v1.retention_class.removed)", "changed nothing");
  vt_done(&t);
}

/* Extension changes the package's class and its retention state. */
static void test_retention_extended(void) {
  static const char *const changed[] = {"packages", "retention_state", NULL};
  static const int zero[] = {0, 0};
  struct vt t;
  struct snap a, b;
  char json[JSON_MAX];

  vt_init(&t);
  created_json(json, PKG, "raw-evidence", "{}");
  apply_ok(&t, 1, EV_PACKAGE_CREATED, json);
  finalized_json(json, PKG, T0);
  apply_ok(&t, 2, EV_PACKAGE_FINALIZED, json);
  snap_take(&t, &a);
  snprintf(json, sizeof json,
           "{\"package_id\": \"" PKG "\", \"retention_class\": "
           "\"release-evidence\", \"expires_at\": %lld, "
           "\"previous_expires_at\": %lld, \"previous_retention_class\": "
           "\"raw-evidence\"}",
           (long long)(T0 + 1000 * DAY_US), (long long)(T0 + 90 * DAY_US));
  apply_ok(&t, 3, EV_RETENTION_EXTENDED, json);
  snap_take(&t, &b);
  expect_changed(&a, &b, changed, zero);
  expect_text(&t, "SELECT retention_class FROM packages", "release-evidence");
  expect_text(&t, "SELECT class FROM retention_state", "release-evidence");
  ASSERT_EQ(query_int(&t, "SELECT expires_at FROM retention_state"),
            T0 + 1000 * DAY_US);
  expect_refused(&t, 4, EV_RETENTION_EXTENDED,
                 "{\"package_id\": \"" PKG2 "\", \"retention_class\": "
                 "\"transient\", \"expires_at\": null}",
                 "event 4 (v1.retention.extended)", "changed nothing");
  vt_done(&t);
}

/* A hold is inserted active, released once; a second release is
 * refused. */
static void test_holds(void) {
  static const char *const changed[] = {"holds", NULL};
  static const int plus1[] = {1}, zero[] = {0};
  static const char released[] =
      "{\"id\": \"" HOLD1 "\", \"package_id\": \"" PKG "\", "
      "\"released_at\": 1700000000000099}";
  struct vt t;
  struct snap a, b, c;
  char json[JSON_MAX];

  vt_init(&t);
  created_json(json, PKG, "transient", "{}");
  apply_ok(&t, 1, EV_PACKAGE_CREATED, json);
  snap_take(&t, &a);
  apply_ok(&t, 2, EV_HOLD_PLACED,
           "{\"id\": \"" HOLD1 "\", \"package_id\": \"" PKG "\", "
           "\"reason\": \"case 2291\", \"placed_at\": 1700000000000042}");
  snap_take(&t, &b);
  expect_changed(&a, &b, changed, plus1);
  expect_text(&t, "SELECT reason || '|' || actor FROM holds",
              "case 2291|test");
  ASSERT_EQ(query_int(&t, "SELECT placed_at FROM holds"), T0 + 42);
  ASSERT_EQ(query_int(&t, "SELECT placed_seq FROM holds"), 2);
  expect_null(&t, "SELECT released_seq FROM holds");
  apply_ok(&t, 3, EV_HOLD_RELEASED, released);
  snap_take(&t, &c);
  expect_changed(&b, &c, changed, zero);
  ASSERT_EQ(query_int(&t, "SELECT released_at FROM holds"), T0 + 99);
  ASSERT_EQ(query_int(&t, "SELECT released_seq FROM holds"), 3);
  expect_text(&t, "SELECT released_by FROM holds", "test");
  expect_refused(&t, 4, EV_HOLD_RELEASED, released,
                 "event 4 (v1.hold.released)", "changed nothing");
  vt_done(&t);
}

/* Expiry (from finalized) and abort (from open) end the package and drop
 * its files' references: a shared blob stays referenced, one left with
 * none becomes a candidate.  The wrong starting status is refused. */
static void test_package_ended(void) {
  static const char *const changed[] = {"packages", "retention_state",
                                        "blobs", NULL};
  static const int zero[] = {0, 0, 0};
  struct vt t;
  struct snap a, b, c;
  char json[JSON_MAX];

  vt_init(&t);
  created_json(json, PKG, "transient", "{}");
  apply_ok(&t, 1, EV_PACKAGE_CREATED, json);
  created_json(json, PKG2, "transient", "{}");
  apply_ok(&t, 2, EV_PACKAGE_CREATED, json);
  ingested_json(json, FILE1, PKG, "a", 0x11);
  apply_ok(&t, 3, EV_FILE_INGESTED, json);
  ingested_json(json, FILE2, PKG2, "a", 0x11);
  apply_ok(&t, 4, EV_FILE_INGESTED, json);
  ingested_json(json, "0190a1b2-c3d4-7e5f-8a6b-000000000003", PKG2, "b",
                0x22);
  apply_ok(&t, 5, EV_FILE_INGESTED, json);
  finalized_json(json, PKG, T0 + 1);
  apply_ok(&t, 6, EV_PACKAGE_FINALIZED, json);
  snap_take(&t, &a);
  /* the open package cannot expire, the finalized one cannot abort */
  expect_refused(&t, 7, EV_PACKAGE_EXPIRED,
                 "{\"as_of\": 1, \"expires_at\": 1, \"package_id\": \"" PKG2
                 "\"}",
                 "event 7 (v1.package.expired)", "changed nothing");
  expect_refused(&t, 7, EV_PACKAGE_ABORTED,
                 "{\"as_of\": 1, \"package_id\": \"" PKG "\", "
                 "\"reason\": \"deleted\"}",
                 "event 7 (v1.package.aborted)", "changed nothing");
  apply_ok(&t, 7, EV_PACKAGE_EXPIRED,
           "{\"as_of\": 1700000000000500, \"expires_at\": 1700000000000400, "
           "\"package_id\": \"" PKG "\"}");
  snap_take(&t, &b);
  expect_changed(&a, &b, changed, zero);
  ASSERT_EQ(query_int(&t, "SELECT status FROM packages WHERE id = "
                          "x'0190A1B2C3D47E5F8A6B7C8D9E0F1A2B'"),
            3);
  ASSERT_EQ(query_int(&t, "SELECT ended_at FROM retention_state WHERE "
                          "ended_seq = 7"),
            T0 + 500);
  expect_text(&t, "SELECT end_reason FROM retention_state WHERE "
                  "ended_seq = 7",
              "expired");
  /* 0x11 is still used by PKG2's file */
  ASSERT_EQ(query_int(&t, "SELECT refcount FROM blobs WHERE blake3 = "
                          "x'" HEX32("11") "'"),
            1);
  expect_null(&t, "SELECT unref_seq FROM blobs WHERE blake3 = "
                  "x'" HEX32("11") "'");
  expect_refused(&t, 8, EV_PACKAGE_EXPIRED,
                 "{\"as_of\": 1, \"expires_at\": 1, \"package_id\": \"" PKG
                 "\"}",
                 "event 8 (v1.package.expired)", "changed nothing");
  apply_ok(&t, 8, EV_PACKAGE_ABORTED,
           "{\"as_of\": 1700000000000600, \"package_id\": \"" PKG2 "\", "
           "\"reason\": \"open-package-ttl\"}");
  snap_take(&t, &c);
  expect_changed(&b, &c, changed, zero);
  ASSERT_EQ(query_int(&t, "SELECT status FROM packages WHERE id = "
                          "x'0190A1B2C3D47E5F8A6B7C8D9E0F1A2C'"),
            4);
  expect_text(&t, "SELECT end_reason FROM retention_state WHERE "
                  "ended_seq = 8",
              "open-package-ttl");
  ASSERT_EQ(query_int(&t, "SELECT count(*) FROM blobs WHERE refcount = 0 "
                          "AND unref_seq = 8 AND unref_at = "
                          "1700000000000008"),
            2);
  /* rows, files stay */
  ASSERT_EQ(query_int(&t, "SELECT count(*) FROM files"), 3);
  vt_done(&t);
}

/* Collection marks a candidate; an orphan without a row changes nothing;
 * a blob still referenced is refused. */
static void test_blob_collected(void) {
  static const char *const changed[] = {"blobs", NULL};
  static const int zero[] = {0};
  struct vt t;
  struct snap a, b;
  char json[JSON_MAX], b3[CADDR_BUFSIZE];

  vt_init(&t);
  created_json(json, PKG, "transient", "{}");
  apply_ok(&t, 1, EV_PACKAGE_CREATED, json);
  created_json(json, PKG2, "transient", "{}");
  apply_ok(&t, 2, EV_PACKAGE_CREATED, json);
  ingested_json(json, FILE1, PKG, "a", 0x11);
  apply_ok(&t, 3, EV_FILE_INGESTED, json);
  ingested_json(json, FILE2, PKG2, "a", 0x22);
  apply_ok(&t, 4, EV_FILE_INGESTED, json);
  apply_ok(&t, 5, EV_PACKAGE_ABORTED,
           "{\"as_of\": 1, \"package_id\": \"" PKG "\", "
           "\"reason\": \"deleted\"}");
  snap_take(&t, &a);
  blob_addr(b3, 0x11);
  snprintf(json, sizeof json,
           "{\"as_of\": 2, \"blake3\": \"%s\", \"size\": 3, "
           "\"unreferenced_seq\": 5}",
           b3);
  apply_ok(&t, 6, EV_BLOB_COLLECTED, json);
  snap_take(&t, &b);
  expect_changed(&a, &b, changed, zero);
  ASSERT_EQ(query_int(&t, "SELECT collected_seq FROM blobs WHERE blake3 = "
                          "x'" HEX32("11") "'"),
            6);
  /* an orphan nobody knew */
  blob_addr(b3, 0x77);
  snprintf(json, sizeof json,
           "{\"as_of\": 2, \"blake3\": \"%s\", \"size\": 9, "
           "\"unreferenced_seq\": null}",
           b3);
  apply_ok(&t, 7, EV_BLOB_COLLECTED, json);
  snap_take(&t, &a);
  expect_unchanged(&b, &a);
  /* still referenced */
  blob_addr(b3, 0x22);
  snprintf(json, sizeof json,
           "{\"as_of\": 2, \"blake3\": \"%s\", \"size\": 3, "
           "\"unreferenced_seq\": 5}",
           b3);
  expect_refused(&t, 8, EV_BLOB_COLLECTED, json,
                 "event 8 (v1.blob.collected)", "changed nothing");
  /* ingested again: live, marks cleared */
  ingested_json(json, "0190a1b2-c3d4-7e5f-8a6b-000000000003", PKG2, "b",
                0x11);
  apply_ok(&t, 8, EV_FILE_INGESTED, json);
  ASSERT_EQ(query_int(&t, "SELECT refcount FROM blobs WHERE blake3 = "
                          "x'" HEX32("11") "'"),
            1);
  expect_null(&t, "SELECT collected_seq FROM blobs WHERE blake3 = "
                  "x'" HEX32("11") "'");
  expect_null(&t, "SELECT unref_seq FROM blobs WHERE blake3 = "
                  "x'" HEX32("11") "'");
  vt_done(&t);
}

TEST_MAIN(TEST_CASE(test_package_created),
          TEST_CASE(test_package_created_permanent),
          TEST_CASE(test_file_ingested), TEST_CASE(test_package_finalized),
          TEST_CASE(test_unknown_type), TEST_CASE(test_missing_field),
          TEST_CASE(test_wrong_type), TEST_CASE(test_finalize_twice),
          TEST_CASE(test_file_for_missing_package),
          TEST_CASE(test_unknown_retention_class),
          TEST_CASE(test_class_defined), TEST_CASE(test_class_removed),
          TEST_CASE(test_retention_extended), TEST_CASE(test_holds),
          TEST_CASE(test_package_ended), TEST_CASE(test_blob_collected))
