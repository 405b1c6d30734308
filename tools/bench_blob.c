/*
 * bench_blob.c: ingest throughput of the local blob store.  Ingests MIB
 * MiB from memory through blob_ingest_write in chunks of CHUNK KiB (each
 * chunk distinct, so nothing dedupes) into a fresh data directory under
 * DIR, then removes that directory, and prints one line:
 *
 *   ingested 256 MiB in 0.612 s: 438.6 MB/s (256 KiB chunks); writes
 *   0.598 s, finish 0.014 s
 *
 * "writes" is the time until the last chunk was hashed and written,
 * "finish" the final digests, fsync and rename.  MB is 10^6 bytes.  The
 * blob unit test (test/unit/blob) asserts behaviour; timing lives here.
 *
 * With --small N it ingests N distinct blobs of BB_SMALL_BYTES instead,
 * one after the other, and prints the time per ingest; --keep 1 adds
 * blob_ingest_keep and blob_ingest_settle(ensure false) to each, --keep
 * 2 settles with ensure true (the blob is in place: one more lstat):
 *
 *   ingested 2000 blobs of 4096 bytes: 812.3 us per ingest (keep 1)
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "store/blob/blob.h"

#define BB_MIB (1024u * 1024u)
#define BB_DEFAULT_MIB 256
#define BB_DEFAULT_CHUNK_KIB 256
#define BB_MAX_MIB (64u * 1024)        /* 64 GiB: the buffer is in memory */
#define BB_MAX_CHUNK_KIB (64u * 1024)  /* 64 MiB pieces */
#define BB_SMALL_BYTES 4096
#define BB_MAX_SMALL 1000000u

struct bench {
  struct blob_ingest *in;
  const uint8_t *data;
  size_t len, off, chunk, n;
  uint64_t body_end;     /* uv_hrtime() when the last write completed */
  int status, commits;
};

static void usage(void) {
  fprintf(stderr, "usage: bench_blob [--mib N] [--chunk-kib K] [--dir DIR]\n"
                  "       bench_blob --small N [--keep 0|1|2] [--dir DIR]\n"
                  "  ingests N MiB (default %u) in K KiB chunks (default %u)"
                  "\n  into a temporary data directory under DIR (default "
                  "$TMPDIR or /tmp); or N blobs of %u bytes one by one,\n"
                  "  with keep and settle (1: ensure false, 2: true)\n",
          BB_DEFAULT_MIB, BB_DEFAULT_CHUNK_KIB, BB_SMALL_BYTES);
  exit(2);
}

static unsigned num(const char *s, unsigned max) {
  char *end;
  unsigned long v;

  errno = 0;
  v = strtoul(s, &end, 10);
  if (errno != 0 || *end != '\0' || end == s || v > max ||
      (v == 0 && max != 2)) { /* --keep takes 0 */
    fprintf(stderr, "bench_blob: bad number \"%s\" (1..%u)\n", s, max);
    exit(2);
  }
  return (unsigned)v;
}

static void commit_cb(struct blob_ingest *in, int status,
                      const struct blob_info *info, void *arg) {
  struct bench *b = arg;

  (void)in;
  (void)info;
  b->commits++;
  b->status = status;
}

static void write_next(struct bench *b);

static void write_cb(struct blob_ingest *in, int status, void *arg) {
  struct bench *b = arg;

  if (status != 0) {
    b->status = status;
    blob_ingest_abort(in);
    return;
  }
  b->off += b->n;
  write_next(b);
}

static void write_next(struct bench *b) {
  int rc;

  if (b->off == b->len) {
    b->body_end = uv_hrtime();
    rc = blob_ingest_finish(b->in, NULL, commit_cb, b);
  } else {
    b->n = b->len - b->off < b->chunk ? b->len - b->off : b->chunk;
    rc = blob_ingest_write(b->in, b->data + b->off, b->n, write_cb, b);
  }
  if (rc != 0) {
    b->status = rc;
    blob_ingest_abort(b->in);
  }
}

/* --small: one small blob after the other, each with keep and settle
 * when asked. */
struct small {
  struct blob_store *store;
  struct blob_ingest *in;
  unsigned count, done, keep;
  uint8_t data[BB_SMALL_BYTES];
  int status;
};

static void small_next(struct small *m);

static void small_settle_cb(int status, void *arg) {
  struct small *m = arg;

  m->status = status;
  if (status == 0)
    small_next(m);
}

static void small_commit_cb(struct blob_ingest *in, int status,
                            const struct blob_info *info, void *arg) {
  struct small *m = arg;

  (void)info;
  m->status = status;
  if (status != 0)
    return;
  if (m->keep == 0) {
    small_next(m);
    return;
  }
  m->status = blob_ingest_settle(in, m->keep == 2, small_settle_cb, m);
}

static void small_write_cb(struct blob_ingest *in, int status, void *arg) {
  struct small *m = arg;

  if (status == 0)
    status = blob_ingest_finish(in, NULL, small_commit_cb, m);
  if (status != 0) {
    m->status = status;
    blob_ingest_abort(in);
  }
}

static void small_next(struct small *m) {
  struct errbuf e = {{0}};
  int rc;

  if (m->done == m->count)
    return;
  memcpy(m->data, &m->done, sizeof m->done); /* distinct: no dedupe */
  m->done++;
  rc = blob_ingest_start(m->store, sizeof m->data, &m->in, &e);
  if (rc != 0) {
    m->status = rc;
    return;
  }
  if (m->keep != 0)
    rc = blob_ingest_keep(m->in);
  if (rc == 0)
    rc = blob_ingest_write(m->in, m->data, sizeof m->data, small_write_cb, m);
  if (rc != 0) {
    m->status = rc;
    blob_ingest_abort(m->in);
  }
}

static int small_run(uv_loop_t *loop, struct blob_store *store,
                     unsigned count, unsigned keep) {
  struct small *m = calloc(1, sizeof *m);
  uint64_t t0, t1;
  int rc;

  if (m == NULL)
    return UV_ENOMEM;
  m->store = store;
  m->count = count;
  m->keep = keep;
  t0 = uv_hrtime();
  small_next(m);
  uv_run(loop, UV_RUN_DEFAULT);
  t1 = uv_hrtime();
  rc = m->status != 0 ? m->status : m->done == count ? 0 : UV_EIO;
  if (rc == 0)
    printf("ingested %u blobs of %u bytes: %.1f us per ingest (keep %u)\n",
           count, BB_SMALL_BYTES, (double)(t1 - t0) / 1e3 / count, keep);
  free(m);
  return rc;
}

static int rm_entry(const char *path, const struct stat *st, int type,
                    struct FTW *ftw) {
  (void)st;
  (void)type;
  (void)ftw;
  if (remove(path) != 0)
    fprintf(stderr, "bench_blob: cannot remove %s: %s\n", path,
            strerror(errno));
  return 0;
}

/* Fills len bytes with chunk-sized copies of one random chunk, each
 * stamped with its offset so that no two chunks are alike. */
static uint8_t *make_data(size_t len, size_t chunk) {
  uint8_t *p = malloc(len);
  uint64_t x = 0x9e3779b97f4a7c15u;

  if (p == NULL)
    return NULL;
  for (size_t i = 0; i < chunk && i < len; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = (uint8_t)x;
  }
  for (size_t off = chunk; off < len; off += chunk)
    memcpy(p + off, p, len - off < chunk ? len - off : chunk);
  for (size_t off = 0; off + sizeof off <= len; off += chunk)
    memcpy(p + off, &off, sizeof off);
  return p;
}

int main(int argc, char **argv) {
  unsigned mib = BB_DEFAULT_MIB, chunk_kib = BB_DEFAULT_CHUNK_KIB;
  unsigned small = 0, keep = 0;
  const char *dir = getenv("TMPDIR");
  char base[PATH_MAX], data_dir[PATH_MAX];
  struct bench b = {0};
  struct blob_store *store = NULL;
  struct errbuf e = {{0}};
  uv_loop_t loop;
  uint64_t t0, t1;
  uint8_t *data;
  int rc;

  if (dir == NULL || *dir == '\0')
    dir = "/tmp";
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc)
      usage();
    if (strcmp(argv[i], "--mib") == 0)
      mib = num(argv[i + 1], BB_MAX_MIB);
    else if (strcmp(argv[i], "--chunk-kib") == 0)
      chunk_kib = num(argv[i + 1], BB_MAX_CHUNK_KIB);
    else if (strcmp(argv[i], "--dir") == 0)
      dir = argv[i + 1];
    else if (strcmp(argv[i], "--small") == 0)
      small = num(argv[i + 1], BB_MAX_SMALL);
    else if (strcmp(argv[i], "--keep") == 0)
      keep = num(argv[i + 1], 2);
    else
      usage();
  }
  if (small != 0)
    mib = 1; /* the big buffer is not used: keep it small */
  b.len = (size_t)mib * BB_MIB;
  b.chunk = (size_t)chunk_kib * 1024;
  if ((size_t)snprintf(base, sizeof base, "%s/bench_blob.XXXXXX", dir) >=
          sizeof base ||
      (size_t)snprintf(data_dir, sizeof data_dir, "%s/data", base) >=
          sizeof data_dir) {
    fprintf(stderr, "bench_blob: --dir path is too long\n");
    return 2;
  }
  data = make_data(b.len, b.chunk);
  if (data == NULL) {
    fprintf(stderr, "bench_blob: out of memory for %u MiB\n", mib);
    return 1;
  }
  b.data = data;
  if (mkdtemp(base) == NULL) {
    fprintf(stderr, "bench_blob: cannot create %s: %s\n", base,
            strerror(errno));
    free(data);
    return 1;
  }
  memcpy(data_dir, base, strlen(base)); /* the XXXXXX mkdtemp filled in */
  rc = uv_loop_init(&loop);
  if (rc != 0) {
    fprintf(stderr, "bench_blob: uv_loop_init: %s\n", uv_strerror(rc));
    goto out_dir;
  }
  rc = blob_store_open_local(&loop, data_dir, &store, &e);
  if (rc != 0) {
    fprintf(stderr, "bench_blob: %s\n", err_msg(&e, rc));
    goto out_loop;
  }

  if (small != 0) {
    rc = small_run(&loop, store, small, keep);
    if (rc != 0)
      fprintf(stderr, "bench_blob: small ingests failed: %s\n",
              uv_strerror(rc));
    goto out_store;
  }
  t0 = uv_hrtime();
  rc = blob_ingest_start(store, b.len, &b.in, &e);
  if (rc != 0) {
    fprintf(stderr, "bench_blob: %s\n", err_msg(&e, rc));
    goto out_store;
  }
  write_next(&b);
  uv_run(&loop, UV_RUN_DEFAULT);
  t1 = uv_hrtime();
  rc = b.status != 0 ? b.status : b.commits == 1 ? 0 : UV_EIO;
  if (rc != 0) {
    fprintf(stderr, "bench_blob: ingest failed: %s\n", uv_strerror(rc));
    goto out_store;
  }
  printf("ingested %u MiB in %.3f s: %.1f MB/s (%u KiB chunks); "
         "writes %.3f s, finish %.3f s\n", mib, (double)(t1 - t0) / 1e9,
         (double)b.len / 1e6 / ((double)(t1 - t0) / 1e9), chunk_kib,
         (double)(b.body_end - t0) / 1e9, (double)(t1 - b.body_end) / 1e9);

out_store:
  blob_store_close(store);
out_loop:
  if (uv_loop_close(&loop) != 0)
    fprintf(stderr, "bench_blob: the loop still had work at exit\n");
out_dir:
  nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(data);
  return rc == 0 ? 0 : 1;
}
