/*
 * registry_fixture.h: running registry operations to their end from a
 * test, and the little dataset the query, replay and verify tests share:
 *
 *   events 1..5  v1.package.created  release-evidence, producers
 *                                    ci, ci, rel, ci, rel; no metadata
 *   events 6..8  v1.file.ingested    into package 0: z/last.bin, a.txt,
 *                                    m/ü.txt (sizes 10, 11, 12; blake3
 *                                    bytes 0x10+i, sha256 bytes 0x20+i)
 *   event  9     v1.package.finalized  package 0, actor "me"
 *
 * Package ids are UUIDv7 made in that order, so they sort in it.
 * Header-only (static inline), on top of store_fixture.h.
 */
#ifndef AS_REGISTRY_FIXTURE_H
#define AS_REGISTRY_FIXTURE_H

#include "store/registry/registry.h"
#include "store/registry/views.h"
#include "store_fixture.h"

#define DATASET_PACKAGES 5
#define DATASET_FILES 3
#define DATASET_EVENTS 9

/* What an operation that must succeed reports back. */
struct reg_ok {
  int done;
  struct uuid id;              /* the package's, or the file's */
  int64_t sequence;
  enum pkg_status status;
  bool has_manifest;
  uint8_t manifest_digest[DIGEST_LEN];
};

static inline void reg_ok_cb(const struct reg_result *res, void *arg) {
  struct reg_ok *ok = arg;

  if (res->error != REG_OK)
    fprintf(stderr, "unexpected: %s\n", res->msg.msg);
  ASSERT_EQ(res->error, REG_OK);
  ok->sequence = res->sequence;
  if (res->file != NULL) {
    ok->id = res->file->id;
  } else {
    ASSERT(res->package != NULL);
    ok->id = res->package->id;
    ok->status = res->package->status;
    ok->has_manifest = res->package->has_manifest;
    memcpy(ok->manifest_digest, res->package->manifest_digest, DIGEST_LEN);
  }
  ok->done++;
}

static inline struct reg_ok reg_create_ok(struct fixture *f,
                                          const struct pkg_create_req *req) {
  struct reg_ok ok = {0};

  ASSERT_EQ(reg_package_create(f->w, req, reg_ok_cb, &ok), 0);
  fixture_run_until(&f->loop, &ok.done, 1);
  return ok;
}

static inline struct reg_ok reg_ingest_ok(struct fixture *f,
                                          const struct file_ingest_req *req) {
  struct reg_ok ok = {0};

  ASSERT_EQ(reg_file_ingest(f->w, req, reg_ok_cb, &ok), 0);
  fixture_run_until(&f->loop, &ok.done, 1);
  return ok;
}

static inline struct reg_ok reg_finalize_ok(struct fixture *f,
                                            const struct uuid *pkg,
                                            const char *actor) {
  struct reg_ok ok = {0};

  ASSERT_EQ(reg_package_finalize(f->w, pkg, actor, reg_ok_cb, &ok), 0);
  fixture_run_until(&f->loop, &ok.done, 1);
  return ok;
}

struct dataset {
  struct uuid pkg[DATASET_PACKAGES];
  struct uuid file[DATASET_FILES];   /* in ingest order */
  uint8_t manifest_digest[DIGEST_LEN];
};

/* Events 1..8: the packages and the files, nothing finalized. */
static inline void dataset_create(struct fixture *f, struct dataset *ds) {
  static const char *const producers[DATASET_PACKAGES] = {"ci", "ci", "rel",
                                                          "ci", "rel"};
  static const char *const paths[DATASET_FILES] = {"z/last.bin", "a.txt",
                                                   "m/ü.txt"};

  memset(ds, 0, sizeof *ds);
  for (int i = 0; i < DATASET_PACKAGES; i++) {
    struct pkg_create_req req = {.name = "pkg", .producer = producers[i],
                                 .subject = "s",
                                 .retention_class = "release-evidence"};
    struct reg_ok ok = reg_create_ok(f, &req);
    ASSERT_EQ(ok.sequence, i + 1);
    ds->pkg[i] = ok.id;
  }
  for (int i = 0; i < DATASET_FILES; i++) {
    struct file_ingest_req fr = {.package_id = ds->pkg[0], .path = paths[i],
                                 .size = (uint64_t)i + 10};
    struct reg_ok ok;
    memset(fr.digests.blake3, 0x10 + i, DIGEST_LEN);
    memset(fr.digests.sha256, 0x20 + i, DIGEST_LEN);
    ok = reg_ingest_ok(f, &fr);
    ASSERT_EQ(ok.sequence, DATASET_PACKAGES + i + 1);
    ds->file[i] = ok.id;
  }
}

/* Event 9: package 0 finalized. */
static inline void dataset_finalize(struct fixture *f, struct dataset *ds) {
  struct reg_ok ok = reg_finalize_ok(f, &ds->pkg[0], "me");

  ASSERT_EQ(ok.sequence, DATASET_EVENTS);
  ASSERT_EQ(ok.status, PKG_FINALIZED);
  ASSERT(ok.has_manifest);
  memcpy(ds->manifest_digest, ok.manifest_digest, DIGEST_LEN);
}

static inline void dataset_build(struct fixture *f, struct dataset *ds) {
  dataset_create(f, ds);
  dataset_finalize(f, ds);
}

#endif
