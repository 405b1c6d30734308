/*
 * bench_writer.c: drives the writer thread (store/writer.h) directly, with
 * no HTTP in between, for tools/bench:
 *   - committed events/s with K outstanding create-package requests (the
 *     "64 concurrent small writers" of the bench: 64 requests always in
 *     flight on the loop), with the group-commit batch sizes observed;
 *   - fast generation of a large log (many outstanding requests, so the
 *     writer commits big batches) for the replay measurement.
 *
 *   bench_writer (--db PATH | --data DIR) --count N [--outstanding K]
 *
 * --data DIR opens (initialising when new, and locking, as the daemon
 * does) the data directory DIR and its database DATADIR_DB_FILE, so that
 * `artifactstored --replay --data DIR` can replay what this wrote and the
 * daemon can start on it.
 *
 * Prints one JSON line: events, seconds, events_per_s, batches,
 * mean_batch, max_batch, multi_batches, last_sequence, failed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "util/common.h"
#include "store/datadir.h"
#include "store/registry/registry.h"
#include "store/registry/views.h"

#define BW_MAX_COUNT 100000000ull
#define BW_MAX_OUTSTANDING 100000ull

struct bw {
  uv_loop_t *loop;
  struct writer *w;
  uint64_t count, submitted, done, failed;
  uint64_t t0, t1;           /* uv_hrtime, ns */
  struct writer_stats stats;
  int rc;
};

static const struct pkg_create_req BW_REQ = {
    .name = "bench",
    .producer = "bench_writer",
    .subject = "bench",
    .retention_class = "transient",
    .metadata_json = "{}",
    .actor = "bench",
};

static void bw_created_cb(const struct reg_result *res, void *arg);

static void bw_closed_cb(void *arg) {
  (void)arg;
}

static int bw_submit(struct bw *b) {
  int rc = reg_package_create(b->w, &BW_REQ, bw_created_cb, b);
  if (rc != 0) {
    fprintf(stderr, "bench_writer: reg_package_create: %s\n", uv_strerror(rc));
    return rc;
  }
  b->submitted++;
  return 0;
}

static void bw_finish(struct bw *b) {
  b->t1 = uv_hrtime();
  writer_get_stats(b->w, &b->stats);
  writer_close(b->w, bw_closed_cb, b);
}

static void bw_created_cb(const struct reg_result *res, void *arg) {
  struct bw *b = arg;

  b->done++;
  if (res->error != REG_OK) {
    if (b->failed++ < 3)
      fprintf(stderr, "bench_writer: create failed: %s\n", res->msg.msg);
  }
  if (b->rc == 0 && b->submitted < b->count)
    b->rc = bw_submit(b);
  if (b->done == b->submitted && (b->submitted == b->count || b->rc != 0))
    bw_finish(b);
}

static uint64_t bw_num(const char *s, uint64_t max) {
  char *end;
  unsigned long long v;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || end == s || v == 0 || v > max) {
    fprintf(stderr, "bench_writer: bad number \"%s\" (1..%" PRIu64 ")\n", s,
            max);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  struct bw b = {0};
  struct errbuf e = {{0}};
  const char *db = NULL, *data = NULL;
  char path[4096];
  struct datadir dd = {.fd = -1};
  uint64_t outstanding = 64;
  uv_loop_t loop;
  int rc;

  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--db") == 0)
      db = argv[i + 1];
    else if (strcmp(argv[i], "--data") == 0)
      data = argv[i + 1];
    else if (strcmp(argv[i], "--count") == 0)
      b.count = bw_num(argv[i + 1], BW_MAX_COUNT);
    else if (strcmp(argv[i], "--outstanding") == 0)
      outstanding = bw_num(argv[i + 1], BW_MAX_OUTSTANDING);
    else
      db = data = NULL, i = argc;
  }
  if (db == NULL && data != NULL) {
    if ((rc = datadir_open(data, DATADIR_SERVE, &dd, &e)) != 0 ||
        (rc = datadir_path(dd.path, DATADIR_DB_FILE, path, sizeof path,
                           &e)) != 0) {
      fprintf(stderr, "bench_writer: %s\n", err_msg(&e, rc));
      return 1;
    }
    db = path;
  }
  if (db == NULL || b.count == 0 || argc % 2 == 0) {
    fprintf(stderr, "usage: bench_writer (--db PATH | --data DIR) "
                    "--count N [--outstanding K]\n");
    return 2;
  }
  if ((rc = uv_loop_init(&loop)) != 0) {
    fprintf(stderr, "bench_writer: uv_loop_init: %s\n", uv_strerror(rc));
    return 1;
  }
  b.loop = &loop;
  if ((rc = writer_open(&loop, db, &views_domain, &b.w, &e)) != 0) {
    fprintf(stderr, "bench_writer: %s\n", err_msg(&e, rc));
    uv_loop_close(&loop);
    return 1;
  }
  b.t0 = uv_hrtime();
  for (uint64_t i = 0; i < outstanding && i < b.count && b.rc == 0; i++)
    b.rc = bw_submit(&b);
  if (b.submitted == 0)
    bw_finish(&b);
  uv_run(&loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(&loop);
  if (rc != 0)
    fprintf(stderr, "bench_writer: loop not empty at exit: %s\n",
            uv_strerror(rc));
  {
    double secs = (double)(b.t1 - b.t0) / 1e9;
    uint64_t ok = b.done - b.failed;
    printf("{\"events\":%" PRIu64 ",\"seconds\":%.6f,\"events_per_s\":%.1f,"
           "\"outstanding\":%" PRIu64 ",\"batches\":%" PRIu64
           ",\"mean_batch\":%.2f,\"max_batch\":%" PRIu64
           ",\"multi_batches\":%" PRIu64 ",\"last_sequence\":%" PRId64
           ",\"failed\":%" PRIu64 "}\n",
           ok, secs, secs > 0 ? (double)ok / secs : 0.0, outstanding,
           b.stats.batches,
           b.stats.batches ? (double)b.stats.requests / (double)b.stats.batches
                           : 0.0,
           b.stats.max_batch, b.stats.multi_batches, b.stats.last_sequence,
           b.failed);
  }
  datadir_close(&dd);
  return b.rc == 0 && b.failed == 0 && rc == 0 ? 0 : 1;
}
