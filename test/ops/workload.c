/*
 * workload.c: a scripted workload for the operator-command tests: every
 * event type (packages created in each retention class with metadata,
 * files ingested with shared blobs, packages finalized) plus requests that
 * fail.  usage: evlog_workload DATA_DIR PACKAGES
 * Prints the events committed and the rate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "store/datadir.h"
#include "store/registry/registry.h"
#include "store/registry/views.h"

#define WORKLOAD_FILES 3

struct wl {
  int done, ok, failed;
  struct uuid *ids;
};

static void wl_cb(const struct reg_result *res, void *arg) {
  struct wl *wl = arg;

  wl->done++;
  if (res->error != REG_OK) {
    wl->failed++;
    return;
  }
  wl->ok++;
  if (res->package != NULL && res->package->status == PKG_OPEN)
    wl->ids[wl->ok - 1] = res->package->id;
}

static void wl_run(uv_loop_t *loop, struct wl *wl, int target) {
  while (wl->done < target)
    uv_run(loop, UV_RUN_ONCE);
}

static void wl_closed_cb(void *arg) {
  (void)arg;
}

int main(int argc, char **argv) {
  static const char *const classes[] = {"transient", "raw-evidence",
                                        "summary-evidence",
                                        "release-evidence",
                                        "permanent-record"};
  struct errbuf e = {{0}};
  struct writer_stats st;
  struct writer *w;
  struct wl wl = {0};
  struct datadir dd;
  char path[4096], meta[64], fpath[64];
  uv_loop_t loop;
  uint64_t t0;
  int n, rc, target = 0;

  if (argc != 3 || (n = atoi(argv[2])) <= 0) {
    fprintf(stderr, "usage: evlog_workload DATA_DIR PACKAGES\n");
    return 2;
  }
  if ((rc = datadir_open(argv[1], DATADIR_SERVE, &dd, &e)) != 0 ||
      (rc = datadir_path(dd.path, DATADIR_DB_FILE, path, sizeof path, &e)) != 0) {
    fprintf(stderr, "workload: %s\n", err_msg(&e, rc));
    return 1;
  }
  wl.ids = calloc((size_t)n, sizeof *wl.ids);
  uv_loop_init(&loop);
  if ((rc = writer_open(&loop, path, &views_domain, &w, &e)) != 0) {
    fprintf(stderr, "workload: %s\n", err_msg(&e, rc));
    return 1;
  }
  t0 = uv_hrtime();
  for (int i = 0; i < n; i++) {
    struct pkg_create_req req = {.name = "build", .producer = "ci",
                                 .subject = i % 2 ? "repo@a" : "repo@b",
                                 .retention_class = classes[i % 5],
                                 .metadata_json = meta, .actor = "workload"};
    snprintf(meta, sizeof meta, "{\"run\": %d, \"tags\": [\"x\", null]}", i);
    reg_package_create(w, &req, wl_cb, &wl);
  }
  wl_run(&loop, &wl, target += n);
  for (int i = 0; i < n; i++) {
    for (int k = 0; k < WORKLOAD_FILES; k++) {
      struct file_ingest_req fr = {.package_id = wl.ids[i], .path = fpath,
                                   .media_type = "application/x-test",
                                   .size = (uint64_t)(i % 7) * 100 + k};
      snprintf(fpath, sizeof fpath, "out/%d/file-%d.bin", k, i);
      memset(fr.digests.blake3, (i % 7) * 16 + k, DIGEST_LEN);
      memset(fr.digests.sha256, (i % 7) * 16 + k + 1, DIGEST_LEN);
      reg_file_ingest(w, &fr, wl_cb, &wl);
    }
    /* Fails: the same path again. */
    struct file_ingest_req dup = {.package_id = wl.ids[i], .path = fpath};
    reg_file_ingest(w, &dup, wl_cb, &wl);
  }
  wl_run(&loop, &wl, target += n * (WORKLOAD_FILES + 1));
  for (int i = 0; i < n; i++) {
    if (i % 3 != 2)
      reg_package_finalize(w, &wl.ids[i], "workload", wl_cb, &wl);
  }
  reg_package_finalize(w, &wl.ids[0], "workload", wl_cb, &wl); /* fails */
  wl_run(&loop, &wl, target += n - n / 3 + 1);

  writer_get_stats(w, &st);
  printf("workload: %lld events committed in %.3f s (%.0f events/s), "
         "%d requests failed as intended, %llu batches\n",
         (long long)st.last_sequence, (double)(uv_hrtime() - t0) / 1e9,
         (double)wl.ok / ((double)(uv_hrtime() - t0) / 1e9), wl.failed,
         (unsigned long long)st.batches);
  writer_close(w, wl_closed_cb, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  free(wl.ids);
  datadir_close(&dd);
  return wl.failed == n + 1 ? 0 : 1;
}
