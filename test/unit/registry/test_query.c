/*
 * test_query.c: every read of query.h, one case per query, each against
 * its own copy of the little dataset (registry_fixture.h) built through
 * the writer and read through a pool of two connections: gets, paging
 * with filters and cursors, files by id and by path, blobs by either
 * digest, manifests (not yet finalized, canonical CBOR, digest, JSON),
 * events and health.
 */
#include "store/codec/caddr.h"
#include "store/codec/ccbor.h"
#include "store/codec/jcs.h"
#include "store/registry/query.h"

#include "registry/registry_fixture.h"

struct got {
  int done;
  struct query_result *res;
};

static void got_cb(struct query_result *res, void *arg) {
  struct got *g = arg;

  g->res = res;
  g->done++;
}

/* The result of the one query in flight (the caller frees it). */
static struct query_result *wait_result(struct fixture *f, struct got *g) {
  fixture_run_until(&f->loop, &g->done, 1);
  ASSERT_EQ(g->done, 1);
  g->done = 0;
  return g->res;
}

static void setup(struct fixture *f, struct dataset *ds, bool finalize) {
  fixture_init(f, "query");
  fixture_writer_open(f, &views_domain);
  fixture_reader_open(f, 2);
  dataset_create(f, ds);
  if (finalize)
    dataset_finalize(f, ds);
}

static const struct uuid *no_such_id(void) {
  static struct uuid none;

  memset(&none, 0x42, sizeof none);
  return &none;
}

static void test_package_get(void) {
  struct fixture f;
  struct dataset ds;
  struct got g = {0};
  struct query_result *res;

  setup(&f, &ds, true);
  ASSERT_EQ(query_package_get(f.r, &ds.pkg[0], got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, 0);
  ASSERT_MEMEQ(res->package->id.b, ds.pkg[0].b, UUID_LEN);
  ASSERT_STREQ(res->package->producer, "ci");
  ASSERT_STREQ(res->package->metadata_json, "{}");
  ASSERT_EQ(res->package->status, PKG_FINALIZED);
  ASSERT(res->package->has_manifest);
  ASSERT_MEMEQ(res->package->manifest_digest, ds.manifest_digest,
               DIGEST_LEN);
  /* the clock starts at finalize */
  ASSERT_EQ(res->package->expires_at - res->package->finalized_at,
            2557 * INT64_C(86400000000));
  query_result_free(res);

  ASSERT_EQ(query_package_get(f.r, &ds.pkg[2], got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, 0);
  ASSERT_STREQ(res->package->producer, "rel");
  ASSERT_EQ(res->package->status, PKG_OPEN);
  ASSERT_EQ(res->package->finalized_at, TS_NONE);
  ASSERT(!res->package->has_manifest);
  query_result_free(res);

  ASSERT_EQ(query_package_get(f.r, no_such_id(), got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, UV_ENOENT);
  ASSERT(res->package == NULL);
  query_result_free(res);
  fixture_done(&f);
}

/* 5 packages, 2 per page: 2, 2, 1, in id (creation) order; each page's
 * cursor continues where it stopped and the last page has none. */
static void test_package_list_paging(void) {
  struct fixture f;
  struct dataset ds;
  struct got g = {0};
  struct query_result *res;
  struct pkg_filter pf = {.limit = 2};
  char *cursor = NULL;
  int seen = 0, pages = 0;

  setup(&f, &ds, true);
  do {
    pf.cursor = cursor;
    ASSERT_EQ(query_package_list(f.r, &pf, got_cb, &g), 0);
    free(cursor); /* the query copied it */
    res = wait_result(&f, &g);
    ASSERT_EQ(res->status, 0);
    ASSERT_EQ(res->count, pages < 2 ? 2 : 1);
    for (size_t i = 0; i < res->count; i++)
      ASSERT_MEMEQ(res->packages[i]->id.b, ds.pkg[seen++].b, UUID_LEN);
    cursor = res->next_cursor;
    res->next_cursor = NULL;
    pages++;
    query_result_free(res);
  } while (cursor != NULL);
  ASSERT_EQ(seen, DATASET_PACKAGES);
  ASSERT_EQ(pages, 3);

  /* Exactly one page's worth: no cursor to an empty page. */
  pf = (struct pkg_filter){.limit = DATASET_PACKAGES};
  ASSERT_EQ(query_package_list(f.r, &pf, got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->count, DATASET_PACKAGES);
  ASSERT(res->next_cursor == NULL);
  query_result_free(res);
  fixture_done(&f);
}

static size_t list_count(struct fixture *f, const struct pkg_filter *pf) {
  struct got g = {0};
  struct query_result *res;
  size_t n;

  ASSERT_EQ(query_package_list(f->r, pf, got_cb, &g), 0);
  res = wait_result(f, &g);
  ASSERT_EQ(res->status, 0);
  ASSERT(res->next_cursor == NULL);
  n = res->count;
  query_result_free(res);
  return n;
}

static void test_package_list_filters(void) {
  struct fixture f;
  struct dataset ds;

  setup(&f, &ds, true);
  ASSERT_EQ(list_count(&f, &(struct pkg_filter){.producer = "rel",
                                                .limit = 10}),
            2);
  ASSERT_EQ(list_count(&f, &(struct pkg_filter){.status = PKG_FINALIZED,
                                                .limit = 10}),
            1);
  ASSERT_EQ(list_count(&f, &(struct pkg_filter){.status = PKG_OPEN,
                                                .limit = 10}),
            4);
  ASSERT_EQ(list_count(&f, &(struct pkg_filter){.producer = "ci",
                                                .status = PKG_OPEN,
                                                .limit = 10}),
            2);
  ASSERT_EQ(list_count(&f, &(struct pkg_filter){.name = "pkg",
                                                .subject = "s",
                                                .limit = 10}),
            5);
  ASSERT_EQ(list_count(&f, &(struct pkg_filter){
                               .retention_class = "release-evidence",
                               .limit = 10}),
            5);
  ASSERT_EQ(list_count(&f, &(struct pkg_filter){.retention_class =
                                                    "transient",
                                                .limit = 10}),
            0);
  ASSERT_EQ(list_count(&f, &(struct pkg_filter){.name = "other",
                                                .limit = 10}),
            0);
  fixture_done(&f);
}

static void test_package_list_bad_cursor(void) {
  struct fixture f;
  struct dataset ds;
  struct got g = {0};
  struct query_result *res;
  struct pkg_filter pf = {.cursor = "not-a-cursor", .limit = 10};

  setup(&f, &ds, true);
  ASSERT_EQ(query_package_list(f.r, &pf, got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, UV_EINVAL);
  ASSERT(strstr(res->msg.msg, "cursor") != NULL);
  ASSERT(res->packages == NULL);
  query_result_free(res);
  fixture_done(&f);
}

static void test_package_list_bad_limit(void) {
  struct fixture f;
  struct dataset ds;
  struct got g = {0};
  struct query_result *res;
  static const unsigned limits[] = {0, 1001};

  setup(&f, &ds, true);
  for (size_t i = 0; i < ARRAY_SIZE(limits); i++) {
    struct pkg_filter pf = {.limit = limits[i]};
    ASSERT_EQ(query_package_list(f.r, &pf, got_cb, &g), 0);
    res = wait_result(&f, &g);
    ASSERT_EQ(res->status, UV_EINVAL);
    ASSERT(strstr(res->msg.msg, "limit") != NULL);
    query_result_free(res);
  }
  fixture_done(&f);
}

/* Files sorted by path (bytewise), with the default media type. */
static void test_files_list(void) {
  struct fixture f;
  struct dataset ds;
  struct got g = {0};
  struct query_result *res;

  setup(&f, &ds, true);
  ASSERT_EQ(query_files_list(f.r, &ds.pkg[0], got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, 0);
  ASSERT_EQ(res->count, 3);
  ASSERT_STREQ(res->files[0]->path, "a.txt");
  ASSERT_STREQ(res->files[1]->path, "m/ü.txt");
  ASSERT_STREQ(res->files[2]->path, "z/last.bin");
  ASSERT_STREQ(res->files[0]->media_type, "application/octet-stream");
  ASSERT_EQ(res->files[0]->size, 11);
  ASSERT_MEMEQ(res->files[2]->id.b, ds.file[0].b, UUID_LEN);
  ASSERT_MEMEQ(res->files[2]->package_id.b, ds.pkg[0].b, UUID_LEN);
  query_result_free(res);

  /* A package without files: an empty list, not "not found". */
  ASSERT_EQ(query_files_list(f.r, &ds.pkg[1], got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, 0);
  ASSERT_EQ(res->count, 0);
  query_result_free(res);

  ASSERT_EQ(query_files_list(f.r, no_such_id(), got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, UV_ENOENT);
  query_result_free(res);
  fixture_done(&f);
}

static void test_file_get(void) {
  struct fixture f;
  struct dataset ds;
  struct got g = {0};
  struct query_result *res;

  setup(&f, &ds, true);
  ASSERT_EQ(query_file_get(f.r, &ds.file[0], got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, 0);
  ASSERT_STREQ(res->file->path, "z/last.bin");
  ASSERT_EQ(res->file->size, 10);
  ASSERT_EQ(res->file->digests.blake3[0], 0x10);
  ASSERT_EQ(res->file->digests.sha256[DIGEST_LEN - 1], 0x20);
  query_result_free(res);

  ASSERT_EQ(query_file_get(f.r, no_such_id(), got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, UV_ENOENT);
  ASSERT(res->file == NULL);
  query_result_free(res);
  fixture_done(&f);
}

static void test_file_at_path(void) {
  struct fixture f;
  struct dataset ds;
  struct got g = {0};
  struct query_result *res;

  setup(&f, &ds, true);
  ASSERT_EQ(query_file_at_path(f.r, &ds.pkg[0], "m/ü.txt", got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, 0);
  ASSERT_MEMEQ(res->file->id.b, ds.file[2].b, UUID_LEN);
  ASSERT_STREQ(res->file->path, "m/ü.txt");
  query_result_free(res);

  /* A prefix of a path, the path in another package, an unknown
   * package: none is there. */
  ASSERT_EQ(query_file_at_path(f.r, &ds.pkg[0], "m", got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, UV_ENOENT);
  query_result_free(res);
  ASSERT_EQ(query_file_at_path(f.r, &ds.pkg[1], "a.txt", got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, UV_ENOENT);
  query_result_free(res);
  ASSERT_EQ(query_file_at_path(f.r, no_such_id(), "a.txt", got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, UV_ENOENT);
  query_result_free(res);
  fixture_done(&f);
}

/* The file holding some bytes, by their sha256 or their blake3. */
static void test_blob_get(void) {
  struct fixture f;
  struct dataset ds;
  struct got g = {0};
  struct query_result *res;
  struct caddr addr;

  setup(&f, &ds, true);
  addr.alg = CADDR_SHA256;
  memset(addr.d, 0x22, DIGEST_LEN);
  ASSERT_EQ(query_blob_get(f.r, &addr, got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, 0);
  ASSERT_STREQ(res->file->path, "m/ü.txt");
  query_result_free(res);

  /* The same bytes as a blake3 digest name nothing. */
  addr.alg = CADDR_BLAKE3;
  ASSERT_EQ(query_blob_get(f.r, &addr, got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, UV_ENOENT);
  query_result_free(res);

  memset(addr.d, 0x10, DIGEST_LEN);
  ASSERT_EQ(query_blob_get(f.r, &addr, got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, 0);
  ASSERT_STREQ(res->file->path, "z/last.bin");
  query_result_free(res);
  fixture_done(&f);
}

/* Not yet finalized: UV_EAGAIN; then the stored CBOR: canonical (the
 * strict decoder takes it), its BLAKE3 the package's manifest digest,
 * files sorted by path. */
static void test_manifest_get(void) {
  struct fixture f;
  struct dataset ds;
  struct got g = {0};
  struct query_result *res;
  uint8_t d[DIGEST_LEN];
  cbor_item_t *m;
  const cbor_item_t *files, *pkg, *v;
  int64_t n;

  setup(&f, &ds, false);
  ASSERT_EQ(query_manifest_get(f.r, &ds.pkg[0], got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, UV_EAGAIN);
  ASSERT(strstr(res->msg.msg, "not finalized") != NULL);
  ASSERT(res->bytes == NULL);
  query_result_free(res);

  ASSERT_EQ(query_manifest_get(f.r, no_such_id(), got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, UV_ENOENT);
  query_result_free(res);

  dataset_finalize(&f, &ds);
  ASSERT_EQ(query_manifest_get(f.r, &ds.pkg[0], got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, 0);
  ASSERT_MEMEQ(res->digest, ds.manifest_digest, DIGEST_LEN);
  digest_blake3(res->bytes, res->bytes_len, d);
  ASSERT_MEMEQ(d, ds.manifest_digest, DIGEST_LEN);
  ASSERT_EQ(ccbor_decode(res->bytes, res->bytes_len, &m, NULL), 0);
  ASSERT_EQ(ccbor_get_int(ccbor_map_get(m, "version"), &n), 0);
  ASSERT_EQ(n, 1);
  pkg = ccbor_map_get(m, "package");
  ASSERT(pkg != NULL && ccbor_map_get(pkg, "finalized_at") != NULL);
  files = ccbor_map_get(m, "files");
  ASSERT(files != NULL && cbor_array_size(files) == 3);
  v = ccbor_map_get(cbor_array_handle(files)[0], "path");
  ASSERT_EQ(cbor_string_length(v), 5);
  ASSERT_MEMEQ(cbor_string_handle(v), "a.txt", 5);
  v = ccbor_map_get(cbor_array_handle(files)[0], "blake3");
  ASSERT_MEMEQ(cbor_string_handle(v), "blake3:1111", 11);
  cbor_decref(&m);
  query_result_free(res);
  fixture_done(&f);
}

/* The JSON form: JCS of the same CBOR bytes, under the same address. */
static void test_manifest_json(void) {
  struct fixture f;
  struct dataset ds;
  struct got g = {0};
  struct query_result *res;
  uint8_t *cbor;
  size_t cbor_len;
  char *want = NULL;
  size_t want_len = 0;

  setup(&f, &ds, true);
  ASSERT_EQ(query_manifest_get(f.r, &ds.pkg[0], got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, 0);
  cbor = res->bytes; /* taken over */
  cbor_len = res->bytes_len;
  res->bytes = NULL;
  query_result_free(res);

  ASSERT_EQ(query_manifest_json(f.r, &ds.pkg[0], got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, 0);
  ASSERT_MEMEQ(res->digest, ds.manifest_digest, DIGEST_LEN);
  ASSERT_EQ(jcs_from_cbor_bytes(cbor, cbor_len, &want, &want_len, NULL), 0);
  ASSERT_EQ(res->bytes_len, want_len);
  ASSERT_MEMEQ(res->bytes, want, want_len);
  ASSERT_EQ(res->bytes[res->bytes_len], '\0');
  free(want);
  free(cbor);
  query_result_free(res);

  ASSERT_EQ(query_manifest_json(f.r, &ds.pkg[1], got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, UV_EAGAIN);
  query_result_free(res);
  fixture_done(&f);
}

static void test_events_since(void) {
  struct fixture f;
  struct dataset ds;
  struct got g = {0};
  struct query_result *res;

  setup(&f, &ds, true);
  ASSERT_EQ(query_events_since(f.r, 6, 2, got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, 0);
  ASSERT_EQ(res->count, 2);
  ASSERT_EQ(res->events[0]->sequence, 7);
  ASSERT_EQ(res->events[1]->sequence, 8);
  ASSERT_STREQ(res->events[0]->event_type, "v1.file.ingested");
  ASSERT_STREQ(res->events[0]->actor, "anonymous");
  ASSERT_EQ(res->last_sequence, DATASET_EVENTS);
  query_result_free(res);

  /* From the newest: nothing, and still the log's end. */
  ASSERT_EQ(query_events_since(f.r, DATASET_EVENTS, 10, got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, 0);
  ASSERT_EQ(res->count, 0);
  ASSERT_EQ(res->last_sequence, DATASET_EVENTS);
  query_result_free(res);
  fixture_done(&f);
}

static void test_health(void) {
  struct fixture f;
  struct dataset ds;
  struct got g = {0};
  struct query_result *res;

  setup(&f, &ds, true);
  ASSERT_EQ(query_health(f.r, got_cb, &g), 0);
  res = wait_result(&f, &g);
  ASSERT_EQ(res->status, 0);
  ASSERT_EQ(res->last_sequence, DATASET_EVENTS);
  query_result_free(res);
  fixture_done(&f);
}

TEST_MAIN(TEST_CASE(test_package_get), TEST_CASE(test_package_list_paging),
          TEST_CASE(test_package_list_filters),
          TEST_CASE(test_package_list_bad_cursor),
          TEST_CASE(test_package_list_bad_limit), TEST_CASE(test_files_list),
          TEST_CASE(test_file_get), TEST_CASE(test_file_at_path),
          TEST_CASE(test_blob_get), TEST_CASE(test_manifest_get),
          TEST_CASE(test_manifest_json), TEST_CASE(test_events_since),
          TEST_CASE(test_health))
