/*
 * test_blob.c: the blob store SPI over the local backend, driven by a real
 * uv loop in a fresh mkdtemp directory.  Every scenario counts its
 * callbacks and asserts the counts; the loop must close cleanly at the end
 * (nothing left pending).  Throughput is measured by tools/bench_blob,
 * not here.
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
#include "util/hex.h"
#include "store/blob/local/local.h"
#include "store/codec/caddr.h"
#include "store/codec/digest.h"
#include "test.h"

#define MIB (1024u * 1024u)

static uv_loop_t loop;
static struct blob_store *store;
static char data_dir[PATH_MAX];

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static uint8_t *random_bytes(size_t n) {
  uint8_t *p = malloc(n ? n : 1);

  ASSERT(p != NULL);
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)rng();
  return p;
}

static void run_loop(void) {
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
}

static void sub_path(char out[PATH_MAX], const char *sub) {
  ASSERT(snprintf(out, PATH_MAX, "%s/%s", data_dir, sub) < PATH_MAX);
}

static void blob_file(const uint8_t b3[DIGEST_LEN], char out[PATH_MAX]) {
  char hex[2 * DIGEST_LEN + 1];

  hex_encode(b3, DIGEST_LEN, hex);
  ASSERT(snprintf(out, PATH_MAX, "%s/blobs/blake3/%.2s/%.2s/%s", data_dir,
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

static int tmp_count(void) {
  char p[PATH_MAX];

  sub_path(p, "tmp");
  return dir_count(p);
}

static void open_store(void) {
  struct errbuf e = {{0}};

  ASSERT_EQ(blob_store_open_local(&loop, data_dir, &store, &e), 0);
  ASSERT(store != NULL);
}

/* ------------------------------------------------------------------ put */

struct put {
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
  p->n = p->chunk ? p->chunk : 1 + rng() % (256 * 1024);
  if (p->n > p->len - p->off)
    p->n = p->len - p->off;
  if (p->fail_hash_at != 0 && p->writes + 1 == p->fail_hash_at)
    blob_local_fail_next_hash(store, UV_EIO);
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

static void put_start(struct put *p) {
  struct errbuf e = {{0}};

  ASSERT_EQ(blob_ingest_start(store, p->len, &p->in, &e), 0);
  put_next(p);
}

static void put_ok(const uint8_t *data, size_t len, size_t chunk,
                   struct blob_info *out) {
  struct put p = {.data = data, .len = len, .chunk = chunk};
  uint8_t b3[DIGEST_LEN], sha[DIGEST_LEN];
  char path[PATH_MAX];
  struct stat st;

  put_start(&p);
  run_loop();
  ASSERT_EQ(p.commits, 1);
  ASSERT_EQ(p.status, 0);
  ASSERT_EQ(p.info.size, len);
  digest_blake3(data, len, b3);
  ASSERT_EQ(digest_sha256(data, len, sha), 0);
  ASSERT_MEMEQ(p.info.digests.blake3, b3, DIGEST_LEN);
  ASSERT_MEMEQ(p.info.digests.sha256, sha, DIGEST_LEN);
  blob_file(b3, path);
  ASSERT_EQ(stat(path, &st), 0);
  ASSERT(S_ISREG(st.st_mode));
  ASSERT_EQ(st.st_size, len);
  ASSERT_EQ(st.st_mode & 0777, 0440);
  ASSERT_EQ(tmp_count(), 0);
  *out = p.info;
}

static void test_put(void) {
  static const char hello[] = "hello, blob";
  struct blob_info info;
  uint8_t *big;
  size_t big_len = 5 * MIB + 12345;

  put_ok((const uint8_t *)hello, sizeof hello - 1, 0, &info);
  ASSERT_EQ(info.existed, 0);
  put_ok((const uint8_t *)"", 0, 0, &info);
  ASSERT_EQ(info.existed, 0);
  big = random_bytes(big_len);
  put_ok(big, big_len, 0, &info);
  ASSERT_EQ(info.existed, 0);
  free(big);
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
  size_t len = 3 * MIB + 7;
  uint8_t *data = random_bytes(len);
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
  struct serve v = {.data = data, .steps = steps, .nsteps = ARRAY_SIZE(steps)};

  put_ok(data, len, 65536, &info);
  ASSERT_EQ(blob_reader_open(store, info.digests.blake3, serve_open_cb, &v), 0);
  run_loop();
  ASSERT_EQ(v.opens, 1);
  ASSERT_EQ(v.open_status, 0);
  ASSERT_EQ(v.size, len);
  ASSERT_EQ(v.reads, (int)ARRAY_SIZE(steps));
  free(v.buf);
  free(data);
}

/* --------------------------------------------------------------- dedupe */

static void test_dedupe(void) {
  size_t len = 200000;
  uint8_t *data = random_bytes(len);
  struct blob_info a, b;
  char path[PATH_MAX];

  put_ok(data, len, 0, &a);
  ASSERT_EQ(a.existed, 0);
  put_ok(data, len, 4096, &b);
  ASSERT_EQ(b.existed, 1);
  ASSERT_MEMEQ(&a.digests, &b.digests, sizeof a.digests);
  blob_file(a.digests.blake3, path);
  *strrchr(path, '/') = '\0';
  ASSERT_EQ(dir_count(path), 1);
  ASSERT_EQ(tmp_count(), 0);
  free(data);
}

static void test_concurrent(void) {
  size_t len = 2 * MIB;
  uint8_t *data = random_bytes(len);
  struct put p1 = {.data = data, .len = len, .chunk = 65536};
  struct put p2 = {.data = data, .len = len, .chunk = 100000};
  uint8_t b3[DIGEST_LEN];
  char path[PATH_MAX];
  struct stat st;

  put_start(&p1);
  put_start(&p2);
  run_loop();
  ASSERT_EQ(p1.commits, 1);
  ASSERT_EQ(p2.commits, 1);
  ASSERT_EQ(p1.status, 0);
  ASSERT_EQ(p2.status, 0);
  ASSERT(p1.info.existed + p2.info.existed <= 1);
  digest_blake3(data, len, b3);
  ASSERT_MEMEQ(p1.info.digests.blake3, b3, DIGEST_LEN);
  ASSERT_MEMEQ(p2.info.digests.blake3, b3, DIGEST_LEN);
  blob_file(b3, path);
  ASSERT_EQ(stat(path, &st), 0);
  ASSERT_EQ(st.st_size, len);
  *strrchr(path, '/') = '\0';
  ASSERT_EQ(dir_count(path), 1);
  ASSERT_EQ(tmp_count(), 0);
  free(data);
}

/* ------------------------------------------------------- failure paths */

static void expect_absent(const uint8_t b3[DIGEST_LEN]) {
  char path[PATH_MAX];
  struct stat st;

  blob_file(b3, path);
  ASSERT(stat(path, &st) != 0);
}

static void test_mismatch(void) {
  size_t len = 300000;
  uint8_t *data = random_bytes(len);
  uint8_t b3[DIGEST_LEN], sha[DIGEST_LEN];
  struct blob_info exp;
  struct put p;

  digest_blake3(data, len, b3);
  ASSERT_EQ(digest_sha256(data, len, sha), 0);

  /* wrong blake3 */
  memset(&exp, 0, sizeof exp);
  exp.size = BLOB_SIZE_UNKNOWN;
  memcpy(exp.digests.blake3, b3, DIGEST_LEN);
  exp.digests.blake3[7] ^= 1;
  p = (struct put){.data = data, .len = len, .expected = &exp};
  put_start(&p);
  run_loop();
  ASSERT_EQ(p.commits, 1);
  ASSERT_EQ(p.status, UV_EBADMSG);
  ASSERT_MEMEQ(p.info.digests.blake3, b3, DIGEST_LEN); /* what came in */
  expect_absent(b3);
  ASSERT_EQ(tmp_count(), 0);

  /* wrong sha256, blake3 not given */
  memset(&exp, 0, sizeof exp);
  exp.size = BLOB_SIZE_UNKNOWN;
  memcpy(exp.digests.sha256, sha, DIGEST_LEN);
  exp.digests.sha256[0] ^= 0x80;
  p = (struct put){.data = data, .len = len, .expected = &exp};
  put_start(&p);
  run_loop();
  ASSERT_EQ(p.status, UV_EBADMSG);
  expect_absent(b3);
  ASSERT_EQ(tmp_count(), 0);

  /* wrong size, digests not given */
  memset(&exp, 0, sizeof exp);
  exp.size = len + 1;
  p = (struct put){.data = data, .len = len, .expected = &exp};
  put_start(&p);
  run_loop();
  ASSERT_EQ(p.status, UV_EBADMSG);
  expect_absent(b3);
  ASSERT_EQ(tmp_count(), 0);

  /* right sha256 and size, blake3 zero (not given): stored */
  memset(&exp, 0, sizeof exp);
  exp.size = len;
  memcpy(exp.digests.sha256, sha, DIGEST_LEN);
  p = (struct put){.data = data, .len = len, .expected = &exp};
  put_start(&p);
  run_loop();
  ASSERT_EQ(p.commits, 1);
  ASSERT_EQ(p.status, 0);
  ASSERT_EQ(p.info.existed, 0);
  ASSERT_EQ(tmp_count(), 0);
  free(data);
}

static void test_abort(void) {
  size_t len = 1 * MIB;
  uint8_t *data = random_bytes(len);
  uint8_t b3[DIGEST_LEN];
  struct put p = {.data = data, .len = len, .chunk = 65536,
                  .abort_at = 5 * 65536};
  struct put q = {.data = data, .len = len, .chunk = 65536,
                  .abort_pending = 1};
  struct blob_ingest *in;
  struct errbuf e = {{0}};

  digest_blake3(data, len, b3);
  put_start(&p);
  run_loop();
  ASSERT_EQ(p.writes, 5);
  ASSERT_EQ(p.commits, 0);
  expect_absent(b3);
  ASSERT_EQ(tmp_count(), 0);

  /* abort while the write is pending: its callback never runs */
  put_start(&q);
  run_loop();
  ASSERT_EQ(q.writes, 0);
  ASSERT_EQ(q.commits, 0);
  ASSERT_EQ(tmp_count(), 0);

  /* abort before any write: nothing was created */
  ASSERT_EQ(blob_ingest_start(store, BLOB_SIZE_UNKNOWN, &in, &e), 0);
  blob_ingest_abort(in);
  run_loop();
  ASSERT_EQ(tmp_count(), 0);
  free(data);
}

static void test_write_failure(void) {
  size_t len = 1 * MIB;
  uint8_t *data = random_bytes(len);
  uint8_t b3[DIGEST_LEN];
  struct put p = {.data = data, .len = len, .chunk = 65536};
  struct blob_info info;

  digest_blake3(data, len, b3);
  blob_local_fail_next_write(store, UV_EIO);
  put_start(&p);
  run_loop();
  ASSERT_EQ(p.writes, 1);
  ASSERT_EQ(p.write_status, UV_EIO);
  ASSERT_EQ(p.commits, 0);
  expect_absent(b3);
  ASSERT_EQ(tmp_count(), 0);

  /* the injected fault is consumed: the same bytes store fine now */
  put_ok(data, len, 65536, &info);
  ASSERT_EQ(info.existed, 0);

  /* the hash job of a later piece fails while its write job succeeds:
   * the piece fails, the ingest too, and the temp file is gone */
  data[0] ^= 1;
  digest_blake3(data, len, b3);
  p = (struct put){.data = data, .len = len, .chunk = 65536,
                   .fail_hash_at = 3};
  put_start(&p);
  run_loop();
  ASSERT_EQ(p.writes, 3);
  ASSERT_EQ(p.write_status, UV_EIO);
  ASSERT_EQ(p.commits, 0);
  expect_absent(b3);
  ASSERT_EQ(tmp_count(), 0);

  /* both jobs of the first piece fail */
  blob_local_fail_next_write(store, UV_ENOSPC);
  blob_local_fail_next_hash(store, UV_EIO);
  p = (struct put){.data = data, .len = len, .chunk = 65536};
  put_start(&p);
  run_loop();
  ASSERT_EQ(p.writes, 1);
  ASSERT_EQ(p.write_status, UV_ENOSPC); /* the write job's error wins */
  ASSERT_EQ(tmp_count(), 0);

  /* a hash failure on a pending piece that is then aborted */
  blob_local_fail_next_hash(store, UV_EIO);
  p = (struct put){.data = data, .len = len, .chunk = 65536,
                   .abort_pending = 1};
  put_start(&p);
  run_loop();
  ASSERT_EQ(p.writes, 0);
  ASSERT_EQ(tmp_count(), 0);
  free(data);
}

/* The ownership-transferring write: the same bytes and digests as the
 * copying one, over random piece sizes, and every handed-over buffer is
 * freed on every path (LeakSanitizer checks the sanitizer build). */
static void test_take(void) {
  size_t len = 3 * MIB + 12345;
  uint8_t *data = random_bytes(len);
  uint8_t b3[DIGEST_LEN], sha[DIGEST_LEN];
  struct put p = {.data = data, .len = len, .take = 1}; /* random sizes */
  struct blob_ingest *in;
  struct errbuf e = {{0}};
  uint8_t *b;

  digest_blake3(data, len, b3);
  ASSERT_EQ(digest_sha256(data, len, sha), 0);
  put_start(&p);
  run_loop();
  ASSERT_EQ(p.commits, 1);
  ASSERT_EQ(p.status, 0);
  ASSERT(p.writes > 1);
  ASSERT_EQ(p.info.size, len);
  ASSERT_MEMEQ(p.info.digests.blake3, b3, DIGEST_LEN);
  ASSERT_MEMEQ(p.info.digests.sha256, sha, DIGEST_LEN);
  ASSERT_EQ(tmp_count(), 0);

  /* mixed: a copy and a take in one upload give the same blob (dedupe) */
  ASSERT_EQ(blob_ingest_start(store, len, &in, &e), 0);
  p = (struct put){.data = data, .len = len, .in = in, .chunk = MIB};
  ASSERT_EQ(blob_ingest_write(in, data, MIB, put_write_cb, &p), 0);
  p.n = MIB;
  p.take = 2; /* the copied piece has nothing to reclaim */
  run_loop();
  ASSERT_EQ(p.commits, 1);
  ASSERT_EQ(p.status, 0);
  ASSERT_EQ(p.info.existed, 1);
  ASSERT_MEMEQ(p.info.digests.sha256, sha, DIGEST_LEN);

  /* failures injected into either job of a handed-over piece */
  data[7] ^= 1;
  digest_blake3(data, len, b3);
  blob_local_fail_next_write(store, UV_EIO);
  p = (struct put){.data = data, .len = len, .chunk = 65536, .take = 1};
  put_start(&p);
  run_loop();
  ASSERT_EQ(p.write_status, UV_EIO);
  ASSERT_EQ(p.commits, 0);
  ASSERT_EQ(tmp_count(), 0);
  p = (struct put){.data = data, .len = len, .take = 1, .fail_hash_at = 5};
  put_start(&p);
  run_loop();
  ASSERT_EQ(p.writes, 5);
  ASSERT_EQ(p.write_status, UV_EIO);
  ASSERT_EQ(p.commits, 0);
  expect_absent(b3);
  ASSERT_EQ(tmp_count(), 0);

  /* buffers never reclaimed are freed by the store */
  data[7] ^= 1;
  p = (struct put){.data = data, .len = len, .take = 2};
  put_start(&p);
  run_loop();
  ASSERT_EQ(p.commits, 1);
  ASSERT_EQ(p.status, 0);
  ASSERT_EQ(p.info.existed, 1);
  data[7] ^= 1;

  /* aborted while the handed-over piece is pending, and later on */
  p = (struct put){.data = data, .len = len, .take = 1, .abort_pending = 1};
  put_start(&p);
  run_loop();
  ASSERT_EQ(p.writes, 0);
  p = (struct put){.data = data, .len = len, .chunk = 65536, .take = 2,
                   .abort_at = 3 * 65536};
  put_start(&p);
  run_loop();
  ASSERT_EQ(p.writes, 3);
  ASSERT_EQ(tmp_count(), 0);

  /* refusals still take the buffer */
  b = malloc(16);
  ASSERT(b != NULL);
  ASSERT_EQ(blob_ingest_write_take(NULL, b, 16, put_write_cb, NULL), UV_EINVAL);
  ASSERT_EQ(blob_ingest_start(store, BLOB_SIZE_UNKNOWN, &in, &e), 0);
  b = malloc(16);
  ASSERT(b != NULL);
  ASSERT_EQ(blob_ingest_write_take(in, b, 16, NULL, NULL), UV_EINVAL);
  blob_local_fail_next_write(store, UV_EIO);
  p = (struct put){.in = in};
  b = malloc(16);
  ASSERT(b != NULL);
  ASSERT_EQ(blob_ingest_write_take(in, b, 16, put_write_cb, &p), 0);
  p.n = 16;
  run_loop(); /* put_write_cb sees UV_EIO and aborts */
  ASSERT_EQ(p.write_status, UV_EIO);
  ASSERT_EQ(tmp_count(), 0);

  /* an empty handed-over piece */
  ASSERT_EQ(blob_ingest_start(store, 0, &in, &e), 0);
  p = (struct put){.data = data, .len = 0, .in = in, .take = 2};
  ASSERT_EQ(blob_ingest_write_take(in, NULL, 0, put_write_cb, &p), 0);
  run_loop();
  ASSERT_EQ(p.commits, 1);
  ASSERT_EQ(p.status, 0);
  ASSERT_EQ(p.info.size, 0);
  ASSERT_EQ(tmp_count(), 0);
  free(data);
}

static void test_enospc(void) {
  struct blob_ingest *in = NULL;
  struct errbuf e = {{0}};

  ASSERT_EQ(blob_ingest_start(store, UINT64_MAX - 1, &in, &e), UV_ENOSPC);
  ASSERT(in == NULL);
  ASSERT(strstr(e.msg, "not enough space") != NULL);
  ASSERT_EQ(tmp_count(), 0);
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

static int verify(const uint8_t b3[DIGEST_LEN]) {
  struct status st = {0};

  ASSERT_EQ(blob_verify(store, b3, status_cb, &st), 0);
  run_loop();
  ASSERT_EQ(st.calls, 1);
  return st.status;
}

static void test_verify(void) {
  size_t len = 3 * MIB + 1;
  uint8_t *data = random_bytes(len);
  struct blob_info info;
  uint8_t absent[DIGEST_LEN] = {1, 2, 3};
  char path[PATH_MAX];
  uint8_t byte;
  int fd;

  put_ok(data, len, 0, &info);
  ASSERT_EQ(verify(info.digests.blake3), 0);
  ASSERT_EQ(verify(absent), UV_ENOENT);

  blob_file(info.digests.blake3, path);
  ASSERT_EQ(chmod(path, 0640), 0);
  fd = open(path, O_RDWR);
  ASSERT(fd >= 0);
  ASSERT_EQ(pread(fd, &byte, 1, (off_t)(len / 2)), 1);
  byte ^= 0x20;
  ASSERT_EQ(pwrite(fd, &byte, 1, (off_t)(len / 2)), 1);
  ASSERT_EQ(close(fd), 0);
  ASSERT_EQ(verify(info.digests.blake3), UV_EBADMSG);

  /* a stored file of the wrong size is corrupt: a new upload replaces it */
  ASSERT_EQ(truncate(path, (off_t)(len - 1)), 0);
  ASSERT_EQ(verify(info.digests.blake3), UV_EBADMSG);
  put_ok(data, len, 0, &info);
  ASSERT_EQ(info.existed, 0);
  ASSERT_EQ(verify(info.digests.blake3), 0);
  free(data);
}

static void test_delete(void) {
  static const char bytes[] = "to be deleted";
  struct blob_info info;
  struct status st = {0};
  struct serve v = {0};

  put_ok((const uint8_t *)bytes, sizeof bytes, 0, &info);
  ASSERT_EQ(blob_delete(store, info.digests.blake3, status_cb, &st), 0);
  run_loop();
  ASSERT_EQ(st.calls, 1);
  ASSERT_EQ(st.status, 0);
  expect_absent(info.digests.blake3);

  ASSERT_EQ(blob_reader_open(store, info.digests.blake3, serve_open_cb, &v), 0);
  run_loop();
  ASSERT_EQ(v.opens, 1);
  ASSERT_EQ(v.open_status, UV_ENOENT);
  ASSERT(v.r == NULL);

  ASSERT_EQ(blob_delete(store, info.digests.blake3, status_cb, &st), 0);
  run_loop();
  ASSERT_EQ(st.calls, 2);
  ASSERT_EQ(st.status, UV_ENOENT);
}

static void test_health(void) {
  struct status st = {0};
  char tmp[PATH_MAX], moved[PATH_MAX];
  int fd;

  ASSERT_EQ(blob_health(store, health_cb, &st), 0);
  run_loop();
  ASSERT_EQ(st.calls, 1);
  ASSERT_EQ(st.status, 0);
  ASSERT(st.free_bytes > 0);

  /* tmp/ replaced by a plain file: unusable */
  sub_path(tmp, "tmp");
  sub_path(moved, "tmp.moved");
  ASSERT_EQ(rename(tmp, moved), 0);
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT(fd >= 0);
  close(fd);
  ASSERT_EQ(blob_health(store, health_cb, &st), 0);
  run_loop();
  ASSERT_EQ(st.calls, 2);
  ASSERT_EQ(st.status, UV_ENOTDIR);
  ASSERT_EQ(unlink(tmp), 0);
  ASSERT_EQ(rename(moved, tmp), 0);
}

static void test_leftovers(void) {
  char p[PATH_MAX];
  int fd;

  blob_store_close(store);
  store = NULL;
  sub_path(p, "tmp/leftover-1");
  fd = open(p, O_WRONLY | O_CREAT, 0600);
  ASSERT(fd >= 0);
  ASSERT_EQ(write(fd, "x", 1), 1);
  close(fd);
  sub_path(p, "tmp/leftover-2");
  fd = open(p, O_WRONLY | O_CREAT, 0600);
  ASSERT(fd >= 0);
  close(fd);
  sub_path(p, "tmp/leftover-dir");
  ASSERT_EQ(mkdir(p, 0700), 0);
  ASSERT_EQ(tmp_count(), 3);
  open_store();
  ASSERT_EQ(tmp_count(), 0);
}

/* ------------------------------------------------------------ teardown */

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

int main(void) {
  const char *base = getenv("TMPDIR");
  char tmpl[PATH_MAX];

  ASSERT(snprintf(tmpl, sizeof tmpl, "%s/test_blob.XXXXXX",
                  base ? base : "/tmp") < PATH_MAX);
  ASSERT(mkdtemp(tmpl) != NULL);
  ASSERT(snprintf(data_dir, sizeof data_dir, "%s/data", tmpl) < PATH_MAX);
  ASSERT_EQ(uv_loop_init(&loop), 0);
  open_store();

  test_put();
  test_serve();
  test_dedupe();
  test_concurrent();
  test_mismatch();
  test_abort();
  test_write_failure();
  test_take();
  test_enospc();
  test_verify();
  test_delete();
  test_health();
  test_leftovers();

  blob_store_close(store);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  rm_rf(tmpl);
  printf("ok\n");
  return 0;
}
