/*
 * test_blob_gc.c: what retention and garbage collection need from the
 * blob store, over the local backend: kept ingests (blob_ingest_keep,
 * blob_ingest_settle), the trash (blob_trash, blob_trash_empty) and the
 * modification time blob_list reports.  Same fixture shape as
 * test_blob.c: a real loop, a store on a fresh mkdtemp data directory,
 * counted callbacks, and a loop that must close with nothing pending.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "store/blob/blob.h"
#include "store/codec/digest.h"
#include "util/hex.h"
#include "test.h"

#define OLD_MTIME 1000000000 /* 2001: far older than any test run */

/* ------------------------------------------------------------- fixture */

struct fx {
  uv_loop_t loop;
  struct blob_store *store;
  char base[PATH_MAX];
  char data_dir[PATH_MAX];
};

static void fx_open(struct fx *f) {
  const char *tmp = getenv("TMPDIR");
  struct errbuf e = {{0}};
  int rc;

  memset(f, 0, sizeof *f);
  ASSERT(snprintf(f->base, sizeof f->base, "%s/test_blob_gc.XXXXXX",
                  tmp != NULL && *tmp != '\0' ? tmp : "/tmp") < PATH_MAX);
  ASSERT(mkdtemp(f->base) != NULL);
  ASSERT(snprintf(f->data_dir, sizeof f->data_dir, "%s/data", f->base) <
         PATH_MAX);
  ASSERT_EQ(uv_loop_init(&f->loop), 0);
  rc = blob_store_open_local(&f->loop, f->data_dir, &f->store, &e);
  if (rc != 0)
    fprintf(stderr, "blob_store_open_local: %s\n", err_msg(&e, rc));
  ASSERT_EQ(rc, 0);
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

/* The store asserts that nothing (no kept ingest either) outlives it. */
static void fx_close(struct fx *f) {
  blob_store_close(f->store);
  ASSERT_EQ(uv_loop_close(&f->loop), 0);
  rm_rf(f->base);
}

static void run_loop(struct fx *f) {
  ASSERT_EQ(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
}

static void sub_path(const struct fx *f, char out[PATH_MAX], const char *sub) {
  ASSERT(snprintf(out, PATH_MAX, "%s/%s", f->data_dir, sub) < PATH_MAX);
}

static void blob_file(const struct fx *f, const uint8_t b3[DIGEST_LEN],
                      char out[PATH_MAX]) {
  char hex[2 * DIGEST_LEN + 1];

  hex_encode(b3, DIGEST_LEN, hex);
  ASSERT(snprintf(out, PATH_MAX, "%s/blobs/blake3/%.2s/%.2s/%s", f->data_dir,
                  hex, hex + 2, hex) < PATH_MAX);
}

static void trash_file(const struct fx *f, const uint8_t b3[DIGEST_LEN],
                       int64_t tag, char out[PATH_MAX]) {
  char hex[2 * DIGEST_LEN + 1];

  hex_encode(b3, DIGEST_LEN, hex);
  ASSERT(snprintf(out, PATH_MAX, "%s/trash/%s.%" PRId64, f->data_dir, hex,
                  tag) < PATH_MAX);
}

/* Entries of <data>/sub; the last name seen into name when given. */
static int dir_count(const struct fx *f, const char *sub,
                     char name[NAME_MAX + 1]) {
  char p[PATH_MAX];
  DIR *d;
  struct dirent *de;
  int n = 0;

  sub_path(f, p, sub);
  d = opendir(p);
  ASSERT(d != NULL);
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    n++;
    if (name != NULL)
      snprintf(name, NAME_MAX + 1, "%s", de->d_name);
  }
  closedir(d);
  return n;
}

/* The file's bytes equal data. */
static void expect_bytes(const char *path, const void *data, size_t len) {
  char buf[256];
  int fd = open(path, O_RDONLY);
  ssize_t n;

  ASSERT(fd >= 0);
  ASSERT(len < sizeof buf);
  n = read(fd, buf, sizeof buf);
  close(fd);
  ASSERT_EQ(n, (ssize_t)len);
  ASSERT_MEMEQ(buf, data, len);
}

static void set_mtime(const char *path, time_t t) {
  struct timespec ts[2] = {{.tv_sec = t}, {.tv_sec = t}};

  ASSERT_EQ(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* ---------------------------------------------------------- put & keep */

struct put {
  struct fx *f;
  const void *data;
  size_t len;
  int keep;                 /* blob_ingest_keep before the write */
  int abort_pending;        /* abort with the write pending */
  int settle_in_commit;     /* 1: settle(false), 2: settle(true) in the cb */
  const struct blob_info *expected;
  struct blob_ingest *in;
  int writes, commits, status, settles, settle_status;
  struct blob_info info;
};

static void settle_cb(int status, void *arg) {
  struct put *p = arg;

  p->settles++;
  p->settle_status = status;
}

static void commit_cb(struct blob_ingest *in, int status,
                      const struct blob_info *info, void *arg) {
  struct put *p = arg;

  ASSERT(in == p->in);
  p->commits++;
  p->status = status;
  p->info = *info;
  if (status == 0 && p->settle_in_commit != 0)
    ASSERT_EQ(blob_ingest_settle(in, p->settle_in_commit == 2, settle_cb, p),
              0);
}

static void write_cb(struct blob_ingest *in, int status, void *arg) {
  struct put *p = arg;

  ASSERT(in == p->in);
  ASSERT_EQ(status, 0);
  p->writes++;
  ASSERT_EQ(blob_ingest_finish(in, p->expected, commit_cb, p), 0);
  /* keep comes before finish, and settle after it */
  ASSERT_EQ(blob_ingest_keep(in), UV_EBUSY);
  ASSERT_EQ(blob_ingest_settle(in, true, settle_cb, p), UV_EINVAL);
}

static void put_start(struct fx *f, struct put *p) {
  struct errbuf e = {{0}};

  p->f = f;
  ASSERT_EQ(blob_ingest_start(f->store, p->len, &p->in, &e), 0);
  if (p->keep)
    ASSERT_EQ(blob_ingest_keep(p->in), 0);
  ASSERT_EQ(blob_ingest_settle(p->in, true, settle_cb, p), UV_EINVAL);
  ASSERT_EQ(blob_ingest_write(p->in, p->data, p->len, write_cb, p), 0);
  if (p->abort_pending)
    blob_ingest_abort(p->in);
}

/* Stores data with a kept name and checks both names of the bytes. */
static void put_kept(struct fx *f, struct put *p, const char *data) {
  char path[PATH_MAX], name[NAME_MAX + 1];
  struct stat st;

  p->data = data;
  p->len = strlen(data);
  p->keep = 1;
  put_start(f, p);
  run_loop(f);
  ASSERT_EQ(p->commits, 1);
  ASSERT_EQ(p->status, 0);
  blob_file(f, p->info.digests.blake3, path);
  ASSERT_EQ(stat(path, &st), 0);
  ASSERT_EQ(st.st_nlink, 2); /* in place, and the kept name */
  ASSERT_EQ(dir_count(f, "tmp", name), 1);
  /* of the temp-file form, so a restart's clean-up removes it */
  ASSERT_EQ(strlen(name), 32);
  ASSERT(strspn(name, "0123456789abcdef") == 32);
}

static void settle(struct fx *f, struct put *p, bool ensure) {
  ASSERT_EQ(blob_ingest_settle(p->in, ensure, settle_cb, p), 0);
  run_loop(f);
  ASSERT_EQ(p->settles, 1);
}

/* ---------------------------------------------------------- trash ops */

struct res {
  int calls, status;
  struct blob_trash_stats st;
};

static void status_cb(int status, void *arg) {
  struct res *r = arg;

  r->calls++;
  r->status = status;
}

static void trash_cb(int status, const struct blob_trash_stats *st,
                     void *arg) {
  struct res *r = arg;

  r->calls++;
  r->status = status;
  ASSERT(st != NULL);
  r->st = *st;
}

static int trash(struct fx *f, const uint8_t b3[DIGEST_LEN], int64_t tag) {
  struct res r = {0};

  ASSERT_EQ(blob_trash(f->store, b3, tag, status_cb, &r), 0);
  run_loop(f);
  ASSERT_EQ(r.calls, 1);
  return r.status;
}

static struct blob_trash_stats trash_empty(struct fx *f, int64_t older_than) {
  struct res r = {0};

  ASSERT_EQ(blob_trash_empty(f->store, older_than, trash_cb, &r), 0);
  run_loop(f);
  ASSERT_EQ(r.calls, 1);
  ASSERT_EQ(r.status, 0);
  return r.st;
}

/* --------------------------------------------------------------- cases */

/* The collector removed the placed file between finish and settle:
 * settle(true) puts the kept copy back, bytes intact, and leaves no
 * kept name. */
static void test_keep_ensure(void) {
  static const char data[] = "kept bytes, collected meanwhile";
  struct fx f;
  struct put p = {0};
  char path[PATH_MAX];
  struct stat st;

  fx_open(&f);
  put_kept(&f, &p, data);
  blob_file(&f, p.info.digests.blake3, path);
  ASSERT_EQ(unlink(path), 0);
  settle(&f, &p, true);
  ASSERT_EQ(p.settle_status, 0);
  ASSERT_EQ(stat(path, &st), 0);
  ASSERT_EQ(st.st_nlink, 1);
  ASSERT_EQ(st.st_mode & 0777, 0440);
  expect_bytes(path, data, strlen(data));
  ASSERT_EQ(dir_count(&f, "tmp", NULL), 0);
  fx_close(&f);
}

/* The same race through blob_trash, and with the whole fan-out gone. */
static void test_keep_ensure_trashed(void) {
  static const char data[] = "kept bytes, trashed meanwhile";
  struct fx f;
  struct put p = {0};
  char path[PATH_MAX], dir[PATH_MAX];

  fx_open(&f);
  put_kept(&f, &p, data);
  ASSERT_EQ(trash(&f, p.info.digests.blake3, 7), 0);
  blob_file(&f, p.info.digests.blake3, path);
  snprintf(dir, sizeof dir, "%s", path);
  *strrchr(dir, '/') = '\0';
  ASSERT_EQ(rmdir(dir), 0); /* blobs/blake3/xx/yy */
  settle(&f, &p, true);
  ASSERT_EQ(p.settle_status, 0);
  expect_bytes(path, data, strlen(data));
  ASSERT_EQ(dir_count(&f, "tmp", NULL), 0);
  ASSERT_EQ(dir_count(&f, "trash", NULL), 1); /* the trash keeps its own */
  fx_close(&f);
}

/* settle(true) on a blob still in place leaves it alone; settle(false)
 * never looks at it; both remove the kept name.  Settling from the
 * commit callback works too. */
static void test_keep_settle(void) {
  static const char a[] = "in place all along", b[] = "not ensured";
  struct fx f;
  struct put p = {0}, q = {0}, r = {.settle_in_commit = 2};
  char path[PATH_MAX];
  struct stat st;

  fx_open(&f);
  put_kept(&f, &p, a);
  settle(&f, &p, true);
  ASSERT_EQ(p.settle_status, 0);
  blob_file(&f, p.info.digests.blake3, path);
  ASSERT_EQ(stat(path, &st), 0);
  ASSERT_EQ(st.st_nlink, 1);
  ASSERT_EQ(dir_count(&f, "tmp", NULL), 0);

  put_kept(&f, &q, b);
  blob_file(&f, q.info.digests.blake3, path);
  ASSERT_EQ(unlink(path), 0);
  settle(&f, &q, false);
  ASSERT_EQ(q.settle_status, 0);
  ASSERT(stat(path, &st) != 0); /* not put back */
  ASSERT_EQ(dir_count(&f, "tmp", NULL), 0);

  r.data = b;
  r.len = strlen(b);
  r.keep = 1;
  put_start(&f, &r);
  run_loop(&f);
  ASSERT_EQ(r.commits, 1);
  ASSERT_EQ(r.status, 0);
  ASSERT_EQ(r.settles, 1);
  ASSERT_EQ(r.settle_status, 0);
  ASSERT_EQ(stat(path, &st), 0);
  ASSERT_EQ(st.st_nlink, 1);
  ASSERT_EQ(dir_count(&f, "tmp", NULL), 0);
  fx_close(&f);
}

/* Abort after keep, before finish, cleans up everything; a failed
 * finish releases a kept ingest and leaves no kept name. */
static void test_keep_abort(void) {
  static const char data[] = "never stored";
  struct fx f;
  struct put p = {.data = data, .len = sizeof data - 1, .keep = 1,
                  .abort_pending = 1};
  struct blob_info want = {.size = 1};
  struct blob_ingest *in;
  struct errbuf e = {{0}};

  fx_open(&f);
  put_start(&f, &p);
  run_loop(&f);
  ASSERT_EQ(p.writes, 0);
  ASSERT_EQ(p.commits, 0);
  ASSERT_EQ(dir_count(&f, "tmp", NULL), 0);

  ASSERT_EQ(blob_ingest_start(f.store, BLOB_SIZE_UNKNOWN, &in, &e), 0);
  ASSERT_EQ(blob_ingest_keep(in), 0);
  blob_ingest_abort(in); /* idle: no temp file yet */
  run_loop(&f);

  memset(&p, 0, sizeof p);
  p.data = data;
  p.len = sizeof data - 1;
  p.keep = 1;
  p.settle_in_commit = 2; /* must not happen: the finish fails */
  p.expected = &want;
  put_start(&f, &p);
  run_loop(&f);
  ASSERT_EQ(p.commits, 1);
  ASSERT_EQ(p.status, UV_EBADMSG);
  ASSERT_EQ(p.settles, 0);
  ASSERT_EQ(dir_count(&f, "tmp", NULL), 0);
  ASSERT_EQ(dir_count(&f, "blobs/blake3", NULL), 0);
  fx_close(&f); /* asserts no ingest is left */
}

/* blob_trash moves the file to trash/<hex>.<tag> and stamps it now. */
static void test_trash(void) {
  static const char data[] = "collected";
  struct fx f;
  struct put p = {0};
  char path[PATH_MAX], to[PATH_MAX];
  struct stat st;
  time_t before;

  fx_open(&f);
  put_kept(&f, &p, data);
  settle(&f, &p, false);
  blob_file(&f, p.info.digests.blake3, path);
  set_mtime(path, OLD_MTIME);
  before = time(NULL);
  ASSERT_EQ(trash(&f, p.info.digests.blake3, 1234), 0);
  ASSERT(stat(path, &st) != 0);
  trash_file(&f, p.info.digests.blake3, 1234, to);
  ASSERT_EQ(stat(to, &st), 0);
  ASSERT(st.st_mtim.tv_sec >= before);
  ASSERT(st.st_mtim.tv_sec <= time(NULL));
  expect_bytes(to, data, strlen(data));
  ASSERT_EQ(dir_count(&f, "trash", NULL), 1);
  fx_close(&f);
}

/* Nothing to move: UV_ENOENT and an empty trash; a negative tag is
 * refused. */
static void test_trash_enoent(void) {
  static const uint8_t none[DIGEST_LEN] = {0xab, 0xcd};
  struct fx f;
  struct res r = {0};

  fx_open(&f);
  ASSERT_EQ(trash(&f, none, 1), UV_ENOENT);
  ASSERT_EQ(dir_count(&f, "trash", NULL), 0);
  ASSERT_EQ(blob_trash(f.store, none, -1, status_cb, &r), UV_EINVAL);
  ASSERT_EQ(r.calls, 0);
  fx_close(&f);
}

/* blob_trash_empty removes the old entries only, counts the rest, and
 * leaves names not of its form alone. */
static void test_trash_empty(void) {
  static const char a[] = "old trash", b[] = "recent trash entry";
  struct fx f;
  struct put p = {0}, q = {0};
  struct blob_trash_stats st;
  char path[PATH_MAX], junk[PATH_MAX];
  int fd;

  fx_open(&f);
  st = trash_empty(&f, INT64_MAX);
  ASSERT_EQ(st.removed + st.files, 0);
  put_kept(&f, &p, a);
  settle(&f, &p, false);
  put_kept(&f, &q, b);
  settle(&f, &q, false);
  ASSERT_EQ(trash(&f, p.info.digests.blake3, 5), 0);
  ASSERT_EQ(trash(&f, q.info.digests.blake3, 6), 0);
  trash_file(&f, p.info.digests.blake3, 5, path);
  set_mtime(path, OLD_MTIME);
  sub_path(&f, junk, "trash/not-ours.5");
  fd = open(junk, O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT(fd >= 0);
  close(fd);
  set_mtime(junk, OLD_MTIME);

  st = trash_empty(&f, INT64_MIN); /* count only */
  ASSERT_EQ(st.removed, 0);
  ASSERT_EQ(st.removed_bytes, 0);
  ASSERT_EQ(st.files, 2);
  ASSERT_EQ(st.bytes, strlen(a) + strlen(b));

  st = trash_empty(&f, OLD_MTIME); /* <=: the old one goes */
  ASSERT_EQ(st.removed, 1);
  ASSERT_EQ(st.removed_bytes, strlen(a));
  ASSERT_EQ(st.files, 1);
  ASSERT_EQ(st.bytes, strlen(b));
  ASSERT(access(path, F_OK) != 0);
  ASSERT_EQ(access(junk, F_OK), 0);
  ASSERT_EQ(dir_count(&f, "trash", NULL), 2);

  st = trash_empty(&f, (int64_t)time(NULL) + 1);
  ASSERT_EQ(st.removed, 1);
  ASSERT_EQ(st.removed_bytes, strlen(b));
  ASSERT_EQ(st.files + st.bytes, 0);
  ASSERT_EQ(access(junk, F_OK), 0);
  fx_close(&f);
}

struct listed {
  int lasts, status;
  size_t n;
  struct blob_entry got[4];
};

static int list_cb(int status, const struct blob_entry *e, size_t n,
                   bool last, void *arg) {
  struct listed *l = arg;

  l->lasts += last;
  l->status = status;
  for (size_t i = 0; i < n; i++) {
    ASSERT(l->n < ARRAY_SIZE(l->got));
    l->got[l->n++] = e[i];
  }
  return 0;
}

/* blob_list reports each file's modification time. */
static void test_list_mtime(void) {
  static const char a[] = "listed old", b[] = "listed new";
  struct fx f;
  struct put p = {0}, q = {0};
  struct listed l = {0};
  char path[PATH_MAX];
  time_t before = time(NULL);
  int seen = 0;

  fx_open(&f);
  put_kept(&f, &p, a);
  settle(&f, &p, false);
  put_kept(&f, &q, b);
  settle(&f, &q, false);
  blob_file(&f, p.info.digests.blake3, path);
  set_mtime(path, OLD_MTIME);
  ASSERT_EQ(blob_list(f.store, list_cb, &l), 0);
  run_loop(&f);
  ASSERT_EQ(l.lasts, 1);
  ASSERT_EQ(l.status, 0);
  ASSERT_EQ(l.n, 2);
  for (size_t i = 0; i < l.n; i++) {
    if (memcmp(l.got[i].blake3, p.info.digests.blake3, DIGEST_LEN) == 0) {
      ASSERT_EQ(l.got[i].mtime, OLD_MTIME);
      seen++;
    } else {
      ASSERT_MEMEQ(l.got[i].blake3, q.info.digests.blake3, DIGEST_LEN);
      ASSERT(l.got[i].mtime >= before && l.got[i].mtime <= time(NULL));
      seen++;
    }
  }
  ASSERT_EQ(seen, 2);
  fx_close(&f);
}

TEST_MAIN(TEST_CASE(test_keep_ensure), TEST_CASE(test_keep_ensure_trashed),
          TEST_CASE(test_keep_settle), TEST_CASE(test_keep_abort),
          TEST_CASE(test_trash), TEST_CASE(test_trash_enoent),
          TEST_CASE(test_trash_empty), TEST_CASE(test_list_mtime))
