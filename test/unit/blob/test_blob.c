/*
 * test_blob.c: the blob store SPI over the local backend, driven by a real
 * uv loop.  Each case opens its own fixture (a loop, a store and a fresh
 * mkdtemp data directory, blob_fixture_open), counts its callbacks and
 * asserts the counts, and closes the fixture at the end: the loop must
 * close cleanly (nothing left pending) and the directory is removed.
 * Throughput is measured by tools/bench_blob, not here.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "store/blob/blob.h"
#include "store/blob/local/local.h"
#include "store/codec/caddr.h"
#include "store/codec/digest.h"
#include "util/hex.h"
#include "test.h"

#define MIB (1024u * 1024u)
#define RNG_SEED 0x9e3779b97f4a7c15u

/* ------------------------------------------------------------- fixture */

struct blob_fixture {
  uv_loop_t loop;
  struct blob_store *store;
  char base[PATH_MAX];     /* the mkdtemp directory, removed at close */
  char data_dir[PATH_MAX]; /* <base>/data, the store's --data */
  uint64_t rng;            /* xorshift64: every case draws the same bytes */
};

static uint64_t rng(struct blob_fixture *f) {
  f->rng ^= f->rng << 13;
  f->rng ^= f->rng >> 7;
  f->rng ^= f->rng << 17;
  return f->rng;
}

static uint8_t *random_bytes(struct blob_fixture *f, size_t n) {
  uint8_t *p = malloc(n ? n : 1);

  ASSERT(p != NULL);
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)rng(f);
  return p;
}

static void blob_fixture_store_open(struct blob_fixture *f) {
  struct errbuf e = {{0}};
  int rc = blob_store_open_local(&f->loop, f->data_dir, &f->store, &e);

  if (rc != 0)
    fprintf(stderr, "blob_store_open_local: %s\n", err_msg(&e, rc));
  ASSERT_EQ(rc, 0);
  ASSERT(f->store != NULL);
}

static void blob_fixture_open(struct blob_fixture *f) {
  const char *tmp = getenv("TMPDIR");

  memset(f, 0, sizeof *f);
  ASSERT(snprintf(f->base, sizeof f->base, "%s/test_blob.XXXXXX",
                  tmp != NULL && *tmp != '\0' ? tmp : "/tmp") < PATH_MAX);
  ASSERT(mkdtemp(f->base) != NULL);
  ASSERT(snprintf(f->data_dir, sizeof f->data_dir, "%s/data", f->base) <
         PATH_MAX);
  f->rng = RNG_SEED;
  ASSERT_EQ(uv_loop_init(&f->loop), 0);
  blob_fixture_store_open(f);
}

static void rm_rf(const char *path) {
  struct stat st;
  DIR *d;
  struct dirent *de;
  char child[PATH_MAX];

  ASSERT_EQ(lstat(path, &st), 0);
  if (!S_ISDIR(st.st_mode)) {
    ASSERT_EQ(unlink(path), 0);
    return;
  }
  d = opendir(path);
  ASSERT(d != NULL);
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    ASSERT(snprintf(child, sizeof child, "%s/%s", path, de->d_name) <
           PATH_MAX);
    rm_rf(child);
  }
  closedir(d);
  ASSERT_EQ(rmdir(path), 0);
}

/* Closes the store and the loop (which must have nothing left pending)
 * and removes the data directory. */
static void blob_fixture_close(struct blob_fixture *f) {
  if (f->store != NULL)
    blob_store_close(f->store);
  f->store = NULL;
  ASSERT_EQ(uv_loop_close(&f->loop), 0);
  rm_rf(f->base);
}

static void run_loop(struct blob_fixture *f) {
  ASSERT_EQ(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
}

static void sub_path(const struct blob_fixture *f, char out[PATH_MAX],
                     const char *sub) {
  ASSERT(snprintf(out, PATH_MAX, "%s/%s", f->data_dir, sub) < PATH_MAX);
}

static void blob_file(const struct blob_fixture *f,
                      const uint8_t b3[DIGEST_LEN], char out[PATH_MAX]) {
  char hex[2 * DIGEST_LEN + 1];

  hex_encode(b3, DIGEST_LEN, hex);
  ASSERT(snprintf(out, PATH_MAX, "%s/blobs/blake3/%.2s/%.2s/%s", f->data_dir,
                  hex, hex + 2, hex) < PATH_MAX);
}

static int dir_count(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *de;
  int n = 0;

  ASSERT(d != NULL);
  while ((de = readdir(d)) != NULL)
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
      n++;
  closedir(d);
  return n;
}

static int tmp_count(const struct blob_fixture *f) {
  char p[PATH_MAX];

  sub_path(f, p, "tmp");
  return dir_count(p);
}

static void expect_absent(const struct blob_fixture *f,
                          const uint8_t b3[DIGEST_LEN]) {
  char path[PATH_MAX];
  struct stat st;

  blob_file(f, b3, path);
  ASSERT(stat(path, &st) != 0);
}

/* ------------------------------------------------------------------ put */

struct put {
  struct blob_fixture *f;
  const uint8_t *data;
  size_t len, off, n;
  size_t chunk;          /* 0: random sizes up to 256 KiB */
  size_t abort_at;       /* abort once this many bytes are written */
  int abort_pending;     /* abort right after queueing the first write */
  int fail_hash_at;      /* inject a hash failure into this write (1-based) */
  int take;              /* hand over malloc'd copies: blob_ingest_write_take;
                          * 1: reclaim and refill them, 2: leave them */
  uint8_t *spare;        /* a reclaimed buffer */
  const struct blob_info *expected;
  struct blob_ingest *in;
  int writes, commits, write_status, status;
  struct blob_info info;
};

static void put_next(struct put *p);

static void put_commit_cb(struct blob_ingest *in, int status,
                          const struct blob_info *info, void *arg) {
  struct put *p = arg;

  ASSERT(in == p->in);
  p->commits++;
  p->status = status;
  ASSERT(info != NULL);
  p->info = *info;
}

static void put_write_cb(struct blob_ingest *in, int status, void *arg) {
  struct put *p = arg;

  ASSERT(in == p->in);
  p->writes++;
  if (p->take == 1 && status == 0) {
    uint8_t *r = blob_ingest_reclaim(in);
    ASSERT(r != NULL);
    ASSERT(blob_ingest_reclaim(in) == NULL); /* given back once */
    free(p->spare);
    p->spare = r;
  }
  if (status != 0 || p->off + p->n == p->len ||
      (p->abort_at != 0 && p->off + p->n >= p->abort_at)) {
    free(p->spare); /* not needed any more */
    p->spare = NULL;
  }
  if (status != 0) {
    p->write_status = status;
    ASSERT(blob_ingest_finish(in, NULL, put_commit_cb, p) == status);
    blob_ingest_abort(in);
    return;
  }
  p->off += p->n;
  if (p->abort_at != 0 && p->off >= p->abort_at) {
    blob_ingest_abort(in);
    return;
  }
  put_next(p);
}

static void put_next(struct put *p) {
  if (p->off == p->len) {
    ASSERT_EQ(blob_ingest_finish(p->in, p->expected, put_commit_cb, p), 0);
    return;
  }
  p->n = p->chunk ? p->chunk : 1 + rng(p->f) % (256 * 1024);
  if (p->n > p->len - p->off)
    p->n = p->len - p->off;
  if (p->fail_hash_at != 0 && p->writes + 1 == p->fail_hash_at)
    blob_local_fail_next_hash(p->f->store, UV_EIO);
  if (p->take) {
    uint8_t *b = p->spare != NULL ? realloc(p->spare, p->n) : malloc(p->n);
    p->spare = NULL;
    ASSERT(b != NULL);
    memcpy(b, p->data + p->off, p->n);
    ASSERT_EQ(blob_ingest_write_take(p->in, b, p->n, put_write_cb, p), 0);
    /* refused, and freed by the store all the same (LeakSanitizer) */
    b = malloc(1);
    ASSERT(b != NULL);
    ASSERT_EQ(blob_ingest_write_take(p->in, b, 1, put_write_cb, p), UV_EBUSY);
    ASSERT(blob_ingest_reclaim(p->in) == NULL); /* pending: the jobs' */
  } else {
    ASSERT_EQ(
        blob_ingest_write(p->in, p->data + p->off, p->n, put_write_cb, p), 0);
  }
  /* One write pending at a time. */
  ASSERT_EQ(blob_ingest_write(p->in, p->data, 1, put_write_cb, p), UV_EBUSY);
  ASSERT_EQ(blob_ingest_finish(p->in, NULL, put_commit_cb, p), UV_EBUSY);
  if (p->abort_pending)
    blob_ingest_abort(p->in);
}

static void put_start(struct blob_fixture *f, struct put *p) {
  struct errbuf e = {{0}};

  p->f = f;
  ASSERT_EQ(blob_ingest_start(f->store, p->len, &p->in, &e), 0);
  put_next(p);
}

/* Stores data and checks the blob file, its digests and mode. */
static void put_ok(struct blob_fixture *f, const uint8_t *data, size_t len,
                   size_t chunk, struct blob_info *out) {
  struct put p = {.data = data, .len = len, .chunk = chunk};
  uint8_t b3[DIGEST_LEN], sha[DIGEST_LEN];
  char path[PATH_MAX];
  struct stat st;

  put_start(f, &p);
  run_loop(f);
  ASSERT_EQ(p.commits, 1);
  ASSERT_EQ(p.status, 0);
  ASSERT_EQ(p.info.size, len);
  digest_blake3(data, len, b3);
  ASSERT_EQ(digest_sha256(data, len, sha), 0);
  ASSERT_MEMEQ(p.info.digests.blake3, b3, DIGEST_LEN);
  ASSERT_MEMEQ(p.info.digests.sha256, sha, DIGEST_LEN);
  blob_file(f, b3, path);
  ASSERT_EQ(stat(path, &st), 0);
  ASSERT(S_ISREG(st.st_mode));
  ASSERT_EQ(st.st_size, len);
  ASSERT_EQ(st.st_mode & 0777, 0440);
  ASSERT_EQ(tmp_count(f), 0);
  *out = p.info;
}

static void test_put(void) {
  static const char hello[] = "hello, blob";
  struct blob_fixture f;
  struct blob_info info;
  uint8_t *big;
  size_t big_len = 5 * MIB + 12345;

  blob_fixture_open(&f);
  put_ok(&f, (const uint8_t *)hello, sizeof hello - 1, 0, &info);
  ASSERT_EQ(info.existed, 0);
  put_ok(&f, (const uint8_t *)"", 0, 0, &info);
  ASSERT_EQ(info.existed, 0);
  big = random_bytes(&f, big_len);
  put_ok(&f, big, big_len, 0, &info);
  ASSERT_EQ(info.existed, 0);
  free(big);
  blob_fixture_close(&f);
}

/* ---------------------------------------------------------------- serve */

struct read_step {
  uint64_t off;
  size_t len;
  ssize_t want;
};

struct serve {
  const uint8_t *data;
  const struct read_step *steps;
  size_t nsteps, step;
  struct blob_reader *r;
  uint8_t *buf;
  int opens, reads, open_status;
  uint64_t size;
};

static void serve_read_cb(struct blob_reader *r, ssize_t nread, void *arg);

static void serve_step(struct serve *v) {
  const struct read_step *st;

  if (v->step == v->nsteps) {
    blob_reader_close(v->r);
    return;
  }
  st = &v->steps[v->step];
  free(v->buf);
  v->buf = malloc(st->len ? st->len : 1);
  ASSERT(v->buf != NULL);
  ASSERT_EQ(blob_reader_read(v->r, st->off, v->buf, st->len, serve_read_cb, v),
            0);
  ASSERT_EQ(blob_reader_read(v->r, 0, v->buf, 1, serve_read_cb, v), UV_EBUSY);
}

static void serve_read_cb(struct blob_reader *r, ssize_t nread, void *arg) {
  struct serve *v = arg;
  const struct read_step *st = &v->steps[v->step];

  ASSERT(r == v->r);
  v->reads++;
  ASSERT_EQ(nread, st->want);
  if (nread > 0)
    ASSERT_MEMEQ(v->buf, v->data + st->off, (size_t)nread);
  v->step++;
  serve_step(v);
}

static void serve_open_cb(struct blob_reader *r, int status, uint64_t size,
                          void *arg) {
  struct serve *v = arg;

  v->opens++;
  v->open_status = status;
  v->size = size;
  v->r = r;
  if (status != 0) {
    ASSERT(r == NULL);
    return;
  }
  ASSERT(r != NULL);
  serve_step(v);
}

static void test_serve(void) {
  struct blob_fixture f;
  size_t len = 3 * MIB + 7;
  uint8_t *data;
  struct blob_info info;
  const struct read_step steps[] = {
    {0, len, (ssize_t)len},           /* whole */
    {0, 1, 1},                        /* first byte */
    {len - 1, 1, 1},                  /* last byte */
    {len, 10, 0},                     /* at end */
    {len + 100, 10, 0},               /* past end */
    {len - 5, 100, 5},                /* spanning the end: short */
    {12345, 65536, 65536},            /* middle */
  };
  struct serve v = {.steps = steps, .nsteps = ARRAY_SIZE(steps)};

  blob_fixture_open(&f);
  data = random_bytes(&f, len);
  v.data = data;
  put_ok(&f, data, len, 65536, &info);
  ASSERT_EQ(blob_reader_open(f.store, info.digests.blake3, serve_open_cb, &v),
            0);
  run_loop(&f);
  ASSERT_EQ(v.opens, 1);
  ASSERT_EQ(v.open_status, 0);
  ASSERT_EQ(v.size, len);
  ASSERT_EQ(v.reads, (int)ARRAY_SIZE(steps));
  free(v.buf);
  free(data);
  blob_fixture_close(&f);
}

/* ----------------------------------------------------------------- stat */

struct sres {
  int calls, status;
  uint64_t size;
};

static void stat_cb(int status, uint64_t size, void *arg) {
  struct sres *r = arg;

  r->calls++;
  r->status = status;
  r->size = size;
}

/* blob_stat of b3: its status, with the size in *size. */
static int stat_blob(struct blob_fixture *f, const uint8_t b3[DIGEST_LEN],
                     uint64_t *size) {
  struct sres r = {0};

  ASSERT_EQ(blob_stat(f->store, b3, stat_cb, &r), 0);
  run_loop(f);
  ASSERT_EQ(r.calls, 1);
  *size = r.size;
  return r.status;
}

/* blob_reader_open of b3 (closed again at once): its status. */
static int open_blob(struct blob_fixture *f, const uint8_t b3[DIGEST_LEN]) {
  struct serve v = {0};

  ASSERT_EQ(blob_reader_open(f->store, b3, serve_open_cb, &v), 0);
  run_loop(f);
  ASSERT_EQ(v.opens, 1);
  ASSERT_EQ(v.reads, 0);
  return v.open_status;
}

/* blob_stat reports what a reader's open would: the size on disk (also a
 * wrong one: comparing is the caller's), or the same error. */
static void test_stat(void) {
  struct blob_fixture f;
  static const char text[] = "stat me, do not open me";
  size_t len = sizeof text - 1;
  struct blob_info info, empty;
  uint8_t absent[DIGEST_LEN] = {4, 5, 6};
  char path[PATH_MAX];
  uint64_t size;

  blob_fixture_open(&f);
  put_ok(&f, (const uint8_t *)text, len, 0, &info);
  put_ok(&f, (const uint8_t *)"", 0, 0, &empty);
  ASSERT_EQ(stat_blob(&f, info.digests.blake3, &size), 0);
  ASSERT_EQ(size, len);
  ASSERT_EQ(stat_blob(&f, empty.digests.blake3, &size), 0);
  ASSERT_EQ(size, 0);

  /* absent: no file, and no directory for it either */
  ASSERT_EQ(stat_blob(&f, absent, &size), UV_ENOENT);
  ASSERT_EQ(size, BLOB_SIZE_UNKNOWN);
  ASSERT_EQ(open_blob(&f, absent), UV_ENOENT);

  /* the wrong size is reported as it is on disk */
  blob_file(&f, info.digests.blake3, path);
  ASSERT_EQ(chmod(path, 0640), 0);
  ASSERT_EQ(truncate(path, (off_t)(len - 3)), 0);
  ASSERT_EQ(stat_blob(&f, info.digests.blake3, &size), 0);
  ASSERT_EQ(size, len - 3);
  ASSERT_EQ(truncate(path, (off_t)(len + 5)), 0);
  ASSERT_EQ(stat_blob(&f, info.digests.blake3, &size), 0);
  ASSERT_EQ(size, len + 5);

  /* unreadable: refused as open(2) refuses it (root reads anything) */
  ASSERT_EQ(chmod(path, 0), 0);
  if (geteuid() != 0) {
    ASSERT_EQ(stat_blob(&f, info.digests.blake3, &size), UV_EACCES);
    ASSERT_EQ(size, BLOB_SIZE_UNKNOWN);
    ASSERT_EQ(open_blob(&f, info.digests.blake3), UV_EACCES);
  } else {
    ASSERT_EQ(stat_blob(&f, info.digests.blake3, &size), 0);
    ASSERT_EQ(open_blob(&f, info.digests.blake3), 0);
  }

  /* not a regular file: the reader's error */
  ASSERT_EQ(unlink(path), 0);
  ASSERT_EQ(mkdir(path, 0750), 0);
  ASSERT_EQ(stat_blob(&f, info.digests.blake3, &size), UV_EINVAL);
  ASSERT_EQ(size, BLOB_SIZE_UNKNOWN);
  ASSERT_EQ(open_blob(&f, info.digests.blake3), UV_EINVAL);
  ASSERT_EQ(rmdir(path), 0);
  ASSERT_EQ(stat_blob(&f, info.digests.blake3, &size), UV_ENOENT);
  blob_fixture_close(&f);
}

/* --------------------------------------------------------------- dedupe */

static void test_dedupe(void) {
  struct blob_fixture f;
  size_t len = 200000;
  uint8_t *data;
  struct blob_info a, b;
  char path[PATH_MAX];

  blob_fixture_open(&f);
  data = random_bytes(&f, len);
  put_ok(&f, data, len, 0, &a);
  ASSERT_EQ(a.existed, 0);
  put_ok(&f, data, len, 4096, &b);
  ASSERT_EQ(b.existed, 1);
  ASSERT_MEMEQ(&a.digests, &b.digests, sizeof a.digests);
  blob_file(&f, a.digests.blake3, path);
  *strrchr(path, '/') = '\0';
  ASSERT_EQ(dir_count(path), 1);
  ASSERT_EQ(tmp_count(&f), 0);
  free(data);
  blob_fixture_close(&f);
}

/* Two uploads of the same bytes at once: one blob file, no temp left. */
static void test_concurrent(void) {
  struct blob_fixture f;
  size_t len = 2 * MIB;
  uint8_t *data;
  struct put p1, p2;
  uint8_t b3[DIGEST_LEN];
  char path[PATH_MAX];
  struct stat st;

  blob_fixture_open(&f);
  data = random_bytes(&f, len);
  p1 = (struct put){.data = data, .len = len, .chunk = 65536};
  p2 = (struct put){.data = data, .len = len, .chunk = 100000};
  put_start(&f, &p1);
  put_start(&f, &p2);
  run_loop(&f);
  ASSERT_EQ(p1.commits, 1);
  ASSERT_EQ(p2.commits, 1);
  ASSERT_EQ(p1.status, 0);
  ASSERT_EQ(p2.status, 0);
  ASSERT(p1.info.existed + p2.info.existed <= 1);
  digest_blake3(data, len, b3);
  ASSERT_MEMEQ(p1.info.digests.blake3, b3, DIGEST_LEN);
  ASSERT_MEMEQ(p2.info.digests.blake3, b3, DIGEST_LEN);
  blob_file(&f, b3, path);
  ASSERT_EQ(stat(path, &st), 0);
  ASSERT_EQ(st.st_size, len);
  *strrchr(path, '/') = '\0';
  ASSERT_EQ(dir_count(path), 1);
  ASSERT_EQ(tmp_count(&f), 0);
  free(data);
  blob_fixture_close(&f);
}

/* ------------------------------------------------------- failure paths */

/* Announced digests or size that do not match: nothing is stored. */
static void test_mismatch(void) {
  struct blob_fixture f;
  size_t len = 300000;
  uint8_t *data;
  uint8_t b3[DIGEST_LEN], sha[DIGEST_LEN];
  struct blob_info exp;
  struct put p;

  blob_fixture_open(&f);
  data = random_bytes(&f, len);
  digest_blake3(data, len, b3);
  ASSERT_EQ(digest_sha256(data, len, sha), 0);

  /* wrong blake3 */
  memset(&exp, 0, sizeof exp);
  exp.size = BLOB_SIZE_UNKNOWN;
  memcpy(exp.digests.blake3, b3, DIGEST_LEN);
  exp.digests.blake3[7] ^= 1;
  p = (struct put){.data = data, .len = len, .expected = &exp};
  put_start(&f, &p);
  run_loop(&f);
  ASSERT_EQ(p.commits, 1);
  ASSERT_EQ(p.status, UV_EBADMSG);
  ASSERT_MEMEQ(p.info.digests.blake3, b3, DIGEST_LEN); /* what came in */
  expect_absent(&f, b3);
  ASSERT_EQ(tmp_count(&f), 0);

  /* wrong sha256, blake3 not given */
  memset(&exp, 0, sizeof exp);
  exp.size = BLOB_SIZE_UNKNOWN;
  memcpy(exp.digests.sha256, sha, DIGEST_LEN);
  exp.digests.sha256[0] ^= 0x80;
  p = (struct put){.data = data, .len = len, .expected = &exp};
  put_start(&f, &p);
  run_loop(&f);
  ASSERT_EQ(p.status, UV_EBADMSG);
  expect_absent(&f, b3);
  ASSERT_EQ(tmp_count(&f), 0);

  /* wrong size, digests not given */
  memset(&exp, 0, sizeof exp);
  exp.size = len + 1;
  p = (struct put){.data = data, .len = len, .expected = &exp};
  put_start(&f, &p);
  run_loop(&f);
  ASSERT_EQ(p.status, UV_EBADMSG);
  expect_absent(&f, b3);
  ASSERT_EQ(tmp_count(&f), 0);

  /* right sha256 and size, blake3 zero (not given): stored */
  memset(&exp, 0, sizeof exp);
  exp.size = len;
  memcpy(exp.digests.sha256, sha, DIGEST_LEN);
  p = (struct put){.data = data, .len = len, .expected = &exp};
  put_start(&f, &p);
  run_loop(&f);
  ASSERT_EQ(p.commits, 1);
  ASSERT_EQ(p.status, 0);
  ASSERT_EQ(p.info.existed, 0);
  ASSERT_EQ(tmp_count(&f), 0);
  free(data);
  blob_fixture_close(&f);
}

static void test_abort(void) {
  struct blob_fixture f;
  size_t len = 1 * MIB;
  uint8_t *data;
  uint8_t b3[DIGEST_LEN];
  struct put p, q;
  struct blob_ingest *in;
  struct errbuf e = {{0}};

  blob_fixture_open(&f);
  data = random_bytes(&f, len);
  digest_blake3(data, len, b3);
  p = (struct put){.data = data, .len = len, .chunk = 65536,
                   .abort_at = 5 * 65536};
  put_start(&f, &p);
  run_loop(&f);
  ASSERT_EQ(p.writes, 5);
  ASSERT_EQ(p.commits, 0);
  expect_absent(&f, b3);
  ASSERT_EQ(tmp_count(&f), 0);

  /* abort while the write is pending: its callback never runs */
  q = (struct put){.data = data, .len = len, .chunk = 65536,
                   .abort_pending = 1};
  put_start(&f, &q);
  run_loop(&f);
  ASSERT_EQ(q.writes, 0);
  ASSERT_EQ(q.commits, 0);
  ASSERT_EQ(tmp_count(&f), 0);

  /* abort before any write: nothing was created */
  ASSERT_EQ(blob_ingest_start(f.store, BLOB_SIZE_UNKNOWN, &in, &e), 0);
  blob_ingest_abort(in);
  run_loop(&f);
  ASSERT_EQ(tmp_count(&f), 0);
  free(data);
  blob_fixture_close(&f);
}

/* A failed write job fails the ingest and removes the temp file; the
 * injected fault is consumed, so the same bytes store fine afterwards. */
static void test_write_failure(void) {
  struct blob_fixture f;
  size_t len = 1 * MIB;
  uint8_t *data;
  uint8_t b3[DIGEST_LEN];
  struct put p;
  struct blob_info info;

  blob_fixture_open(&f);
  data = random_bytes(&f, len);
  digest_blake3(data, len, b3);
  blob_local_fail_next_write(f.store, UV_EIO);
  p = (struct put){.data = data, .len = len, .chunk = 65536};
  put_start(&f, &p);
  run_loop(&f);
  ASSERT_EQ(p.writes, 1);
  ASSERT_EQ(p.write_status, UV_EIO);
  ASSERT_EQ(p.commits, 0);
  expect_absent(&f, b3);
  ASSERT_EQ(tmp_count(&f), 0);

  put_ok(&f, data, len, 65536, &info);
  ASSERT_EQ(info.existed, 0);
  free(data);
  blob_fixture_close(&f);
}

/* The hash job of a later piece fails while its write job succeeds: the
 * piece fails, the ingest too, and the temp file is gone. */
static void test_hash_failure(void) {
  struct blob_fixture f;
  size_t len = 1 * MIB;
  uint8_t *data;
  uint8_t b3[DIGEST_LEN];
  struct put p;

  blob_fixture_open(&f);
  data = random_bytes(&f, len);
  digest_blake3(data, len, b3);
  p = (struct put){.data = data, .len = len, .chunk = 65536,
                   .fail_hash_at = 3};
  put_start(&f, &p);
  run_loop(&f);
  ASSERT_EQ(p.writes, 3);
  ASSERT_EQ(p.write_status, UV_EIO);
  ASSERT_EQ(p.commits, 0);
  expect_absent(&f, b3);
  ASSERT_EQ(tmp_count(&f), 0);
  free(data);
  blob_fixture_close(&f);
}

/* Both jobs of the first piece fail: the write job's error wins. */
static void test_both_failures(void) {
  struct blob_fixture f;
  size_t len = 1 * MIB;
  uint8_t *data;
  struct put p;

  blob_fixture_open(&f);
  data = random_bytes(&f, len);
  blob_local_fail_next_write(f.store, UV_ENOSPC);
  blob_local_fail_next_hash(f.store, UV_EIO);
  p = (struct put){.data = data, .len = len, .chunk = 65536};
  put_start(&f, &p);
  run_loop(&f);
  ASSERT_EQ(p.writes, 1);
  ASSERT_EQ(p.write_status, UV_ENOSPC);
  ASSERT_EQ(tmp_count(&f), 0);
  free(data);
  blob_fixture_close(&f);
}

/* A hash failure on a pending piece that is then aborted. */
static void test_hash_failure_aborted(void) {
  struct blob_fixture f;
  size_t len = 1 * MIB;
  uint8_t *data;
  struct put p;

  blob_fixture_open(&f);
  data = random_bytes(&f, len);
  blob_local_fail_next_hash(f.store, UV_EIO);
  p = (struct put){.data = data, .len = len, .chunk = 65536,
                   .abort_pending = 1};
  put_start(&f, &p);
  run_loop(&f);
  ASSERT_EQ(p.writes, 0);
  ASSERT_EQ(tmp_count(&f), 0);
  free(data);
  blob_fixture_close(&f);
}

/* ------------------------------------------------- ownership transfer */

/* blob_ingest_write_take stores the same bytes and digests as the copying
 * write, over random piece sizes, and reclaim gives each buffer back once.
 * Every handed-over buffer is freed on every path in these cases
 * (LeakSanitizer checks the sanitizer build). */
static void test_take(void) {
  struct blob_fixture f;
  size_t len = 3 * MIB + 12345;
  uint8_t *data;
  uint8_t b3[DIGEST_LEN], sha[DIGEST_LEN];
  struct put p;

  blob_fixture_open(&f);
  data = random_bytes(&f, len);
  digest_blake3(data, len, b3);
  ASSERT_EQ(digest_sha256(data, len, sha), 0);
  p = (struct put){.data = data, .len = len, .take = 1}; /* random sizes */
  put_start(&f, &p);
  run_loop(&f);
  ASSERT_EQ(p.commits, 1);
  ASSERT_EQ(p.status, 0);
  ASSERT(p.writes > 1);
  ASSERT_EQ(p.info.size, len);
  ASSERT_MEMEQ(p.info.digests.blake3, b3, DIGEST_LEN);
  ASSERT_MEMEQ(p.info.digests.sha256, sha, DIGEST_LEN);
  ASSERT_EQ(tmp_count(&f), 0);
  free(data);
  blob_fixture_close(&f);
}

/* A copied piece and handed-over pieces in one upload. */
static void test_take_mixed(void) {
  struct blob_fixture f;
  size_t len = 3 * MIB + 12345;
  uint8_t *data;
  uint8_t b3[DIGEST_LEN], sha[DIGEST_LEN];
  struct blob_ingest *in;
  struct errbuf e = {{0}};
  struct put p;

  blob_fixture_open(&f);
  data = random_bytes(&f, len);
  digest_blake3(data, len, b3);
  ASSERT_EQ(digest_sha256(data, len, sha), 0);
  ASSERT_EQ(blob_ingest_start(f.store, len, &in, &e), 0);
  p = (struct put){.f = &f, .data = data, .len = len, .in = in, .chunk = MIB};
  ASSERT_EQ(blob_ingest_write(in, data, MIB, put_write_cb, &p), 0);
  p.n = MIB;
  p.take = 2; /* the copied piece has nothing to reclaim */
  run_loop(&f);
  ASSERT_EQ(p.commits, 1);
  ASSERT_EQ(p.status, 0);
  ASSERT_EQ(p.info.existed, 0);
  ASSERT_EQ(p.info.size, len);
  ASSERT_MEMEQ(p.info.digests.blake3, b3, DIGEST_LEN);
  ASSERT_MEMEQ(p.info.digests.sha256, sha, DIGEST_LEN);
  ASSERT_EQ(tmp_count(&f), 0);
  free(data);
  blob_fixture_close(&f);
}

/* Failures injected into either job of a handed-over piece. */
static void test_take_failures(void) {
  struct blob_fixture f;
  size_t len = 3 * MIB + 12345;
  uint8_t *data;
  uint8_t b3[DIGEST_LEN];
  struct put p;

  blob_fixture_open(&f);
  data = random_bytes(&f, len);
  digest_blake3(data, len, b3);
  blob_local_fail_next_write(f.store, UV_EIO);
  p = (struct put){.data = data, .len = len, .chunk = 65536, .take = 1};
  put_start(&f, &p);
  run_loop(&f);
  ASSERT_EQ(p.write_status, UV_EIO);
  ASSERT_EQ(p.commits, 0);
  ASSERT_EQ(tmp_count(&f), 0);

  p = (struct put){.data = data, .len = len, .take = 1, .fail_hash_at = 5};
  put_start(&f, &p);
  run_loop(&f);
  ASSERT_EQ(p.writes, 5);
  ASSERT_EQ(p.write_status, UV_EIO);
  ASSERT_EQ(p.commits, 0);
  expect_absent(&f, b3);
  ASSERT_EQ(tmp_count(&f), 0);
  free(data);
  blob_fixture_close(&f);
}

/* Buffers never reclaimed are freed by the store. */
static void test_take_unreclaimed(void) {
  struct blob_fixture f;
  size_t len = 3 * MIB + 12345;
  uint8_t *data;
  uint8_t b3[DIGEST_LEN];
  struct put p;

  blob_fixture_open(&f);
  data = random_bytes(&f, len);
  digest_blake3(data, len, b3);
  p = (struct put){.data = data, .len = len, .take = 2};
  put_start(&f, &p);
  run_loop(&f);
  ASSERT_EQ(p.commits, 1);
  ASSERT_EQ(p.status, 0);
  ASSERT_EQ(p.info.existed, 0);
  ASSERT_MEMEQ(p.info.digests.blake3, b3, DIGEST_LEN);
  ASSERT_EQ(tmp_count(&f), 0);
  free(data);
  blob_fixture_close(&f);
}

/* Aborted while the handed-over piece is pending, and later on. */
static void test_take_abort(void) {
  struct blob_fixture f;
  size_t len = 3 * MIB + 12345;
  uint8_t *data;
  struct put p;

  blob_fixture_open(&f);
  data = random_bytes(&f, len);
  p = (struct put){.data = data, .len = len, .take = 1, .abort_pending = 1};
  put_start(&f, &p);
  run_loop(&f);
  ASSERT_EQ(p.writes, 0);
  ASSERT_EQ(tmp_count(&f), 0);

  p = (struct put){.data = data, .len = len, .chunk = 65536, .take = 2,
                   .abort_at = 3 * 65536};
  put_start(&f, &p);
  run_loop(&f);
  ASSERT_EQ(p.writes, 3);
  ASSERT_EQ(tmp_count(&f), 0);
  free(data);
  blob_fixture_close(&f);
}

/* Refusals and failed writes still take the buffer. */
static void test_take_refusals(void) {
  struct blob_fixture f;
  struct blob_ingest *in;
  struct errbuf e = {{0}};
  struct put p;
  uint8_t *b;

  blob_fixture_open(&f);
  b = malloc(16);
  ASSERT(b != NULL);
  ASSERT_EQ(blob_ingest_write_take(NULL, b, 16, put_write_cb, NULL), UV_EINVAL);
  ASSERT_EQ(blob_ingest_start(f.store, BLOB_SIZE_UNKNOWN, &in, &e), 0);
  b = malloc(16);
  ASSERT(b != NULL);
  ASSERT_EQ(blob_ingest_write_take(in, b, 16, NULL, NULL), UV_EINVAL);
  blob_local_fail_next_write(f.store, UV_EIO);
  p = (struct put){.f = &f, .in = in};
  b = malloc(16);
  ASSERT(b != NULL);
  ASSERT_EQ(blob_ingest_write_take(in, b, 16, put_write_cb, &p), 0);
  p.n = 16;
  run_loop(&f); /* put_write_cb sees UV_EIO and aborts */
  ASSERT_EQ(p.writes, 1);
  ASSERT_EQ(p.write_status, UV_EIO);
  ASSERT_EQ(tmp_count(&f), 0);
  blob_fixture_close(&f);
}

/* An empty handed-over piece (NULL buffer) makes the empty blob. */
static void test_take_empty(void) {
  struct blob_fixture f;
  struct blob_ingest *in;
  struct errbuf e = {{0}};
  struct put p;

  blob_fixture_open(&f);
  ASSERT_EQ(blob_ingest_start(f.store, 0, &in, &e), 0);
  p = (struct put){.f = &f, .data = (const uint8_t *)"", .len = 0, .in = in,
                   .take = 2};
  ASSERT_EQ(blob_ingest_write_take(in, NULL, 0, put_write_cb, &p), 0);
  run_loop(&f);
  ASSERT_EQ(p.commits, 1);
  ASSERT_EQ(p.status, 0);
  ASSERT_EQ(p.info.size, 0);
  ASSERT_EQ(tmp_count(&f), 0);
  blob_fixture_close(&f);
}

static void test_enospc(void) {
  struct blob_fixture f;
  struct blob_ingest *in = NULL;
  struct errbuf e = {{0}};

  blob_fixture_open(&f);
  ASSERT_EQ(blob_ingest_start(f.store, UINT64_MAX - 1, &in, &e), UV_ENOSPC);
  ASSERT(in == NULL);
  ASSERT(strstr(e.msg, "not enough space") != NULL);
  ASSERT_EQ(tmp_count(&f), 0);
  blob_fixture_close(&f);
}

/* ------------------------------------------------- verify, delete, health */

struct status {
  int calls, status;
  uint64_t free_bytes;
};

static void status_cb(int status, void *arg) {
  struct status *st = arg;

  st->calls++;
  st->status = status;
}

static void health_cb(int status, uint64_t free_bytes, void *arg) {
  struct status *st = arg;

  st->calls++;
  st->status = status;
  st->free_bytes = free_bytes;
}

struct vres {
  int calls, status;
  struct blob_info found;
};

static void verify_cb(int status, const struct blob_info *found, void *arg) {
  struct vres *v = arg;

  v->calls++;
  v->status = status;
  v->found = *found;
}

/* Verifies against want; the status, with what was found in *found (may
 * be NULL). */
static int verify_info(struct blob_fixture *f, const struct blob_info *want,
                       struct blob_info *found) {
  struct vres v = {0};

  ASSERT_EQ(blob_verify(f->store, want, verify_cb, &v), 0);
  run_loop(f);
  ASSERT_EQ(v.calls, 1);
  if (found != NULL)
    *found = v.found;
  return v.status;
}

/* Verifies the BLAKE3 digest alone. */
static int verify(struct blob_fixture *f, const uint8_t b3[DIGEST_LEN]) {
  struct blob_info want = {.size = BLOB_SIZE_UNKNOWN};

  memcpy(want.digests.blake3, b3, DIGEST_LEN);
  return verify_info(f, &want, NULL);
}

/* Flips one bit of the stored file in the middle; its size stays. */
static void flip_byte(struct blob_fixture *f, const uint8_t b3[DIGEST_LEN],
                      off_t off) {
  char path[PATH_MAX];
  uint8_t byte;
  int fd;

  blob_file(f, b3, path);
  ASSERT_EQ(chmod(path, 0640), 0);
  fd = open(path, O_RDWR);
  ASSERT(fd >= 0);
  ASSERT_EQ(pread(fd, &byte, 1, off), 1);
  byte ^= 0x20;
  ASSERT_EQ(pwrite(fd, &byte, 1, off), 1);
  ASSERT_EQ(close(fd), 0);
  ASSERT_EQ(chmod(path, 0440), 0);
}

static void test_verify(void) {
  struct blob_fixture f;
  size_t len = 3 * MIB + 1;
  uint8_t *data;
  struct blob_info info, want, found;
  uint8_t absent[DIGEST_LEN] = {1, 2, 3};
  char path[PATH_MAX];

  blob_fixture_open(&f);
  data = random_bytes(&f, len);
  put_ok(&f, data, len, 0, &info);
  ASSERT_EQ(verify(&f, info.digests.blake3), 0);
  ASSERT_EQ(verify_info(&f, &info, &found), 0);
  ASSERT_MEMEQ(&found.digests, &info.digests, sizeof info.digests);
  ASSERT_EQ(found.size, len);
  ASSERT_EQ(verify(&f, absent), UV_ENOENT);

  /* the recorded sha256 or size disagrees with the stored bytes */
  want = info;
  want.digests.sha256[0] ^= 1;
  ASSERT_EQ(verify_info(&f, &want, &found), UV_EBADMSG);
  ASSERT_MEMEQ(&found.digests, &info.digests, sizeof info.digests);
  want = info;
  want.size = len + 1;
  ASSERT_EQ(verify_info(&f, &want, &found), UV_EBADMSG);
  ASSERT_EQ(found.size, len);

  flip_byte(&f, info.digests.blake3, (off_t)(len / 2));
  ASSERT_EQ(verify(&f, info.digests.blake3), UV_EBADMSG);
  ASSERT_EQ(verify_info(&f, &info, &found), UV_EBADMSG);
  ASSERT(memcmp(found.digests.blake3, info.digests.blake3, DIGEST_LEN) != 0);
  ASSERT_EQ(found.size, len);

  /* a stored file of the wrong size is damaged: a new upload replaces it */
  blob_file(&f, info.digests.blake3, path);
  ASSERT_EQ(truncate(path, (off_t)(len - 1)), 0);
  ASSERT_EQ(verify(&f, info.digests.blake3), UV_EBADMSG);
  ASSERT_EQ(verify_info(&f, &info, &found), UV_EBADMSG);
  ASSERT_EQ(found.size, len - 1);
  put_ok(&f, data, len, 0, &info);
  ASSERT_EQ(info.existed, 1);
  ASSERT_EQ(verify_info(&f, &info, NULL), 0);
  free(data);
  blob_fixture_close(&f);
}

/* Same-size damage is never trusted: a new upload of the same bytes
 * replaces the stored file (and says a file was there). */
static void test_heal(void) {
  struct blob_fixture f;
  size_t len = MIB + 17;
  uint8_t *data;
  struct blob_info a, b;
  char path[PATH_MAX];
  struct stat st;

  blob_fixture_open(&f);
  data = random_bytes(&f, len);
  put_ok(&f, data, len, 0, &a);
  flip_byte(&f, a.digests.blake3, 12345);
  ASSERT_EQ(verify_info(&f, &a, NULL), UV_EBADMSG);
  put_ok(&f, data, len, 65536, &b);
  ASSERT_EQ(b.existed, 1);
  ASSERT_EQ(verify_info(&f, &a, NULL), 0);
  blob_file(&f, a.digests.blake3, path);
  ASSERT_EQ(stat(path, &st), 0);
  ASSERT_EQ(st.st_mode & 0777, 0440);
  ASSERT_EQ(tmp_count(&f), 0);
  free(data);
  blob_fixture_close(&f);
}

struct listed {
  int calls, lasts, status;
  size_t n;
  struct blob_entry got[8];
};

static int list_cb(int status, const struct blob_entry *e, size_t n,
                   bool last, void *arg) {
  struct listed *l = arg;

  l->calls++;
  l->lasts += last;
  l->status = status;
  for (size_t i = 0; i < n; i++) {
    ASSERT(l->n < ARRAY_SIZE(l->got));
    l->got[l->n++] = e[i];
  }
  return 0;
}

static int listed_has(const struct listed *l, const struct blob_info *i) {
  for (size_t k = 0; k < l->n; k++)
    if (memcmp(l->got[k].blake3, i->digests.blake3, DIGEST_LEN) == 0)
      return l->got[k].size == i->size;
  return 0;
}

/* blob_list finds every stored blob with its size and skips names that
 * are not of the store's form. */
static void test_list(void) {
  static const char x[] = "first", y[] = "second blob";
  struct blob_fixture f;
  struct blob_info a, b;
  struct listed l = {0};
  char path[PATH_MAX], junk[PATH_MAX + 8];
  int fd;

  blob_fixture_open(&f);
  ASSERT_EQ(blob_list(f.store, list_cb, &l), 0);
  run_loop(&f);
  ASSERT_EQ(l.lasts, 1);
  ASSERT_EQ(l.status, 0);
  ASSERT_EQ(l.n, 0);

  put_ok(&f, (const uint8_t *)x, sizeof x, 0, &a);
  put_ok(&f, (const uint8_t *)y, sizeof y, 0, &b);
  blob_file(&f, a.digests.blake3, path);
  snprintf(junk, sizeof junk, "%s.junk", path);
  fd = open(junk, O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT(fd >= 0);
  close(fd);
  memset(&l, 0, sizeof l);
  ASSERT_EQ(blob_list(f.store, list_cb, &l), 0);
  run_loop(&f);
  ASSERT_EQ(l.lasts, 1);
  ASSERT_EQ(l.status, 0);
  ASSERT_EQ(l.n, 2);
  ASSERT(listed_has(&l, &a));
  ASSERT(listed_has(&l, &b));
  ASSERT_EQ(unlink(junk), 0);
  blob_fixture_close(&f);
}

static void test_delete(void) {
  static const char bytes[] = "to be deleted";
  struct blob_fixture f;
  struct blob_info info;
  struct status st = {0};
  struct serve v = {0};

  blob_fixture_open(&f);
  put_ok(&f, (const uint8_t *)bytes, sizeof bytes, 0, &info);
  ASSERT_EQ(blob_delete(f.store, info.digests.blake3, status_cb, &st), 0);
  run_loop(&f);
  ASSERT_EQ(st.calls, 1);
  ASSERT_EQ(st.status, 0);
  expect_absent(&f, info.digests.blake3);

  ASSERT_EQ(blob_reader_open(f.store, info.digests.blake3, serve_open_cb, &v),
            0);
  run_loop(&f);
  ASSERT_EQ(v.opens, 1);
  ASSERT_EQ(v.open_status, UV_ENOENT);
  ASSERT(v.r == NULL);

  ASSERT_EQ(blob_delete(f.store, info.digests.blake3, status_cb, &st), 0);
  run_loop(&f);
  ASSERT_EQ(st.calls, 2);
  ASSERT_EQ(st.status, UV_ENOENT);
  blob_fixture_close(&f);
}

static void test_health(void) {
  struct blob_fixture f;
  struct status st = {0};
  char tmp[PATH_MAX], moved[PATH_MAX];
  int fd;

  blob_fixture_open(&f);
  ASSERT_EQ(blob_health(f.store, health_cb, &st), 0);
  run_loop(&f);
  ASSERT_EQ(st.calls, 1);
  ASSERT_EQ(st.status, 0);
  ASSERT(st.free_bytes > 0);

  /* tmp/ replaced by a plain file: unusable */
  sub_path(&f, tmp, "tmp");
  sub_path(&f, moved, "tmp.moved");
  ASSERT_EQ(rename(tmp, moved), 0);
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT(fd >= 0);
  close(fd);
  ASSERT_EQ(blob_health(f.store, health_cb, &st), 0);
  run_loop(&f);
  ASSERT_EQ(st.calls, 2);
  ASSERT_EQ(st.status, UV_ENOTDIR);
  ASSERT_EQ(unlink(tmp), 0);
  ASSERT_EQ(rename(moved, tmp), 0);
  blob_fixture_close(&f);
}

/* Opening the store removes what a crash left in tmp/: our temp files
 * (32 lowercase hex characters, regular files) and nothing else, which it
 * reports as a warning. */
static void test_leftovers(void) {
  static const char *const strangers[] = {
      "tmp/important.txt", "tmp/0123456789ABCDEF0123456789ABCDEF",
      "tmp/0123456789abcdef0123456789abcde"};
  struct errbuf e = {{0}};
  struct blob_fixture f;
  char p[PATH_MAX];
  int fd;

  blob_fixture_open(&f);
  blob_store_close(f.store);
  f.store = NULL;
  sub_path(&f, p, "tmp/0123456789abcdef0123456789abcdef");
  fd = open(p, O_WRONLY | O_CREAT, 0600);
  ASSERT(fd >= 0);
  ASSERT_EQ(write(fd, "x", 1), 1);
  close(fd);
  for (size_t i = 0; i < ARRAY_SIZE(strangers); i++) {
    sub_path(&f, p, strangers[i]);
    fd = open(p, O_WRONLY | O_CREAT, 0600);
    ASSERT(fd >= 0);
    close(fd);
  }
  sub_path(&f, p, "tmp/ffffffffffffffffffffffffffffffff");
  ASSERT_EQ(mkdir(p, 0700), 0); /* our form, but a directory */
  ASSERT_EQ(tmp_count(&f), 5);
  ASSERT_EQ(blob_store_open_local(&f.loop, f.data_dir, &f.store, &e), 0);
  ASSERT_EQ(tmp_count(&f), 4);
  ASSERT(strstr(e.msg, "4 entries") != NULL);
  ASSERT(strstr(e.msg, "left as they are") != NULL);
  for (size_t i = 0; i < ARRAY_SIZE(strangers); i++) {
    sub_path(&f, p, strangers[i]);
    ASSERT_EQ(unlink(p), 0);
  }
  sub_path(&f, p, "tmp/ffffffffffffffffffffffffffffffff");
  ASSERT_EQ(rmdir(p), 0);
  blob_fixture_close(&f);
}

TEST_MAIN(TEST_CASE(test_put), TEST_CASE(test_serve), TEST_CASE(test_stat),
          TEST_CASE(test_dedupe),
          TEST_CASE(test_concurrent), TEST_CASE(test_mismatch),
          TEST_CASE(test_abort), TEST_CASE(test_write_failure),
          TEST_CASE(test_hash_failure), TEST_CASE(test_both_failures),
          TEST_CASE(test_hash_failure_aborted), TEST_CASE(test_take),
          TEST_CASE(test_take_mixed), TEST_CASE(test_take_failures),
          TEST_CASE(test_take_unreclaimed), TEST_CASE(test_take_abort),
          TEST_CASE(test_take_refusals), TEST_CASE(test_take_empty),
          TEST_CASE(test_enospc), TEST_CASE(test_verify),
          TEST_CASE(test_heal), TEST_CASE(test_list),
          TEST_CASE(test_delete), TEST_CASE(test_health),
          TEST_CASE(test_leftovers))
