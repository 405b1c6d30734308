/*
 * test_query.c: every read of query.h against a database built through
 * the writer: gets, paging with filters and cursors, blobs by either
 * digest, manifests (shape, digest, not-yet-finalized), events and health.
 */
#include "store/codec/caddr.h"
#include "store/codec/ccbor.h"
#include "store/codec/jcs.h"
#include "store/registry/query.h"
#include "store_fixture.h"

struct got {
  int done;
  struct query_result *res;
};

static void got_cb(struct query_result *res, void *arg) {
  struct got *g = arg;
  g->res = res;
  g->done++;
}

static struct query_result *wait_result(uv_loop_t *loop, struct got *g) {
  fixture_run_until(loop, &g->done, 1);
  g->done = 0;
  return g->res;
}

struct acks {
  int done;
  struct uuid ids[16];
  int n;
  uint8_t manifest_digest[DIGEST_LEN];
};

static void ack_cb(const struct reg_result *res, void *arg) {
  struct acks *a = arg;
  if (res->error != REG_OK)
    fprintf(stderr, "unexpected: %s\n", res->msg.msg);
  ASSERT_EQ(res->error, REG_OK);
  if (res->package != NULL && res->package->has_manifest)
    memcpy(a->manifest_digest, res->package->manifest_digest, DIGEST_LEN);
  else if (res->package != NULL)
    a->ids[a->n++] = res->package->id;
  a->done++;
}

int main(void) {
  struct fixture f;
  uv_loop_t loop;
  struct writer *w;
  struct reader *r;
  struct errbuf e = {{0}};
  struct acks a;
  struct got g = {0};
  struct query_result *res;
  struct caddr addr;
  const char *producers[] = {"ci", "ci", "rel", "ci", "rel"};

  fixture_init(&f, "query");
  ASSERT_EQ(uv_loop_init(&loop), 0);
  w = fixture_writer_open(&loop, &f);
  ASSERT_EQ(reader_open(&loop, f.db, 2, &r, &e), 0);
  memset(&a, 0, sizeof a);

  for (int i = 0; i < 5; i++) {
    struct pkg_create_req req = {.name = "pkg", .producer = producers[i],
                                 .subject = "s", .retention_class =
                                 "release-evidence"};
    ASSERT_EQ(reg_package_create(w, &req, ack_cb, &a), 0);
    fixture_run_until(&loop, &a.done, i + 1); /* ids in creation order */
  }
  {
    const char *paths[] = {"z/last.bin", "a.txt", "m/ü.txt"};
    for (int i = 0; i < 3; i++) {
      struct file_ingest_req fr = {.package_id = a.ids[0], .path = paths[i],
                                   .size = (uint64_t)i + 10};
      memset(fr.digests.blake3, 0x10 + i, DIGEST_LEN);
      memset(fr.digests.sha256, 0x20 + i, DIGEST_LEN);
      ASSERT_EQ(reg_file_ingest(w, &fr, ack_cb, &a), 0);
    }
    fixture_run_until(&loop, &a.done, 8);
  }

  /* Manifest before finalize: EAGAIN. */
  ASSERT_EQ(query_manifest_get(r, &a.ids[0], got_cb, &g), 0);
  res = wait_result(&loop, &g);
  ASSERT_EQ(res->status, UV_EAGAIN);
  query_result_free(res);

  ASSERT_EQ(reg_package_finalize(w, &a.ids[0], "me", ack_cb, &a), 0);
  fixture_run_until(&loop, &a.done, 9);

  /* Package get. */
  ASSERT_EQ(query_package_get(r, &a.ids[0], got_cb, &g), 0);
  res = wait_result(&loop, &g);
  ASSERT_EQ(res->status, 0);
  ASSERT_STREQ(res->package->producer, "ci");
  ASSERT_STREQ(res->package->metadata_json, "{}");
  ASSERT_EQ(res->package->status, PKG_FINALIZED);
  ASSERT_EQ(res->package->expires_at - res->package->created_at,
            2557 * INT64_C(86400000000));
  query_result_free(res);
  {
    struct uuid none;
    memset(&none, 0x42, sizeof none);
    ASSERT_EQ(query_package_get(r, &none, got_cb, &g), 0);
    res = wait_result(&loop, &g);
    ASSERT_EQ(res->status, UV_ENOENT);
    query_result_free(res);
    ASSERT_EQ(query_files_list(r, &none, got_cb, &g), 0);
    res = wait_result(&loop, &g);
    ASSERT_EQ(res->status, UV_ENOENT);
    query_result_free(res);
  }

  /* Paging: 5 packages, 2 per page -> 2, 2, 1; cursor continues. */
  {
    struct pkg_filter pf = {.limit = 2};
    char *cursor = NULL;
    int seen = 0, pages = 0;
    do {
      pf.cursor = cursor;
      ASSERT_EQ(query_package_list(r, &pf, got_cb, &g), 0);
      free(cursor);
      res = wait_result(&loop, &g);
      ASSERT_EQ(res->status, 0);
      for (size_t i = 0; i < res->count; i++)
        ASSERT_MEMEQ(res->packages[i]->id.b, a.ids[seen++].b, UUID_LEN);
      cursor = res->next_cursor;
      res->next_cursor = NULL;
      pages++;
      query_result_free(res);
    } while (cursor != NULL);
    ASSERT_EQ(seen, 5);
    ASSERT_EQ(pages, 3);

    pf = (struct pkg_filter){.producer = "rel", .limit = 10};
    ASSERT_EQ(query_package_list(r, &pf, got_cb, &g), 0);
    res = wait_result(&loop, &g);
    ASSERT_EQ(res->count, 2);
    ASSERT(res->next_cursor == NULL);
    query_result_free(res);

    pf = (struct pkg_filter){.status = PKG_FINALIZED, .limit = 10};
    ASSERT_EQ(query_package_list(r, &pf, got_cb, &g), 0);
    res = wait_result(&loop, &g);
    ASSERT_EQ(res->count, 1);
    query_result_free(res);

    pf = (struct pkg_filter){.cursor = "not-a-cursor", .limit = 10};
    ASSERT_EQ(query_package_list(r, &pf, got_cb, &g), 0);
    res = wait_result(&loop, &g);
    ASSERT_EQ(res->status, UV_EINVAL);
    ASSERT(strstr(res->msg.msg, "cursor") != NULL);
    query_result_free(res);

    pf = (struct pkg_filter){.limit = 0};
    ASSERT_EQ(query_package_list(r, &pf, got_cb, &g), 0);
    res = wait_result(&loop, &g);
    ASSERT_EQ(res->status, UV_EINVAL);
    query_result_free(res);
  }

  /* Files, sorted by path; file get; blob by either digest. */
  ASSERT_EQ(query_files_list(r, &a.ids[0], got_cb, &g), 0);
  res = wait_result(&loop, &g);
  ASSERT_EQ(res->count, 3);
  ASSERT_STREQ(res->files[0]->path, "a.txt");
  ASSERT_STREQ(res->files[1]->path, "m/ü.txt");
  ASSERT_STREQ(res->files[2]->path, "z/last.bin");
  ASSERT_STREQ(res->files[0]->media_type, "application/octet-stream");
  ASSERT_EQ(res->files[0]->size, 11);
  {
    struct uuid fid = res->files[2]->id;
    query_result_free(res);
    ASSERT_EQ(query_file_get(r, &fid, got_cb, &g), 0);
    res = wait_result(&loop, &g);
    ASSERT_STREQ(res->file->path, "z/last.bin");
    query_result_free(res);
  }
  addr.alg = CADDR_SHA256;
  memset(addr.d, 0x22, DIGEST_LEN);
  ASSERT_EQ(query_blob_get(r, &addr, got_cb, &g), 0);
  res = wait_result(&loop, &g);
  ASSERT_EQ(res->status, 0);
  ASSERT_STREQ(res->file->path, "m/ü.txt");
  query_result_free(res);
  addr.alg = CADDR_BLAKE3;
  ASSERT_EQ(query_blob_get(r, &addr, got_cb, &g), 0);
  res = wait_result(&loop, &g);
  ASSERT_EQ(res->status, UV_ENOENT);
  query_result_free(res);

  /* Manifest: canonical CBOR, digest = manifest_digest, files by path. */
  ASSERT_EQ(query_manifest_get(r, &a.ids[0], got_cb, &g), 0);
  res = wait_result(&loop, &g);
  ASSERT_EQ(res->status, 0);
  {
    uint8_t d[DIGEST_LEN];
    cbor_item_t *m;
    const cbor_item_t *files, *pkg, *v;
    int64_t n;
    digest_blake3(res->bytes, res->bytes_len, d);
    ASSERT_MEMEQ(d, a.manifest_digest, DIGEST_LEN);
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
  }
  {
    /* The JSON form: JCS of the same bytes, same address. */
    uint8_t *cbor = malloc(res->bytes_len);
    size_t cbor_len = res->bytes_len;
    char *want = NULL;
    size_t want_len = 0;
    ASSERT(cbor != NULL);
    memcpy(cbor, res->bytes, cbor_len);
    ASSERT_MEMEQ(res->digest, a.manifest_digest, DIGEST_LEN);
    query_result_free(res);
    ASSERT_EQ(query_manifest_json(r, &a.ids[0], got_cb, &g), 0);
    res = wait_result(&loop, &g);
    ASSERT_EQ(res->status, 0);
    ASSERT_MEMEQ(res->digest, a.manifest_digest, DIGEST_LEN);
    ASSERT_EQ(jcs_from_cbor_bytes(cbor, cbor_len, &want, &want_len, NULL), 0);
    ASSERT_EQ(res->bytes_len, want_len);
    ASSERT_MEMEQ(res->bytes, want, want_len);
    free(want);
    free(cbor);
  }
  query_result_free(res);

  /* Events since N, and health. */
  ASSERT_EQ(query_events_since(r, 6, 2, got_cb, &g), 0);
  res = wait_result(&loop, &g);
  ASSERT_EQ(res->status, 0);
  ASSERT_EQ(res->count, 2);
  ASSERT_EQ(res->events[0]->sequence, 7);
  ASSERT_EQ(res->events[1]->sequence, 8);
  ASSERT_STREQ(res->events[0]->event_type, "v1.file.ingested");
  ASSERT_STREQ(res->events[0]->actor, "anonymous");
  ASSERT_EQ(res->last_sequence, 9);
  query_result_free(res);
  ASSERT_EQ(query_health(r, got_cb, &g), 0);
  res = wait_result(&loop, &g);
  ASSERT_EQ(res->status, 0);
  ASSERT_EQ(res->last_sequence, 9);
  query_result_free(res);

  reader_close(r);
  fixture_writer_close(&loop, w);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  fixture_rm(&f);
  return 0;
}
