/*
 * serve.c: reading side of the local blob backend: byte-range
 * readers (open + fstat in one pool job, uv_fs_read at an offset,
 * uv_fs_close),
 * stat (stat + access in one pool job: what a reader's open would say,
 * without a descriptor and without the close),
 * verify (size, then both digests on the threadpool in 1 MiB reads),
 * delete (uv_fs_unlink)
 * and health (statvfs and directory checks on the threadpool).  Paths come
 * from blob_local_path, i.e. from the digest only.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "store/blob/local/local_int.h"
#include "store/codec/caddr.h"
#include "util/hex.h"

#define LOCAL_VERIFY_CHUNK (1u << 20)  /* 1 MiB per read while verifying */
#define LOCAL_READ_MAX (1u << 30)      /* larger reads are served short */

struct local_reader {
  struct blob_reader base;
  struct local_store *s;
  uv_work_t work; /* open */
  uv_fs_t req;    /* read, close */
  uv_file fd;
  uint64_t size;
  int status;
  int reading;
  blob_open_cb open_cb;
  blob_read_cb read_cb;
  void *arg;
  uint8_t digest[DIGEST_LEN];
};

/* stat, verify, delete and health requests */
struct local_req {
  struct local_store *s;
  uv_work_t work;
  uv_fs_t fs;
  int status;
  uint64_t free_bytes;
  blob_status_cb status_cb;
  blob_health_cb health_cb;
  blob_verify_cb verify_cb;
  blob_stat_cb stat_cb;
  void *arg;
  struct blob_info want, found; /* verify; found.size for stat */
  char path[PATH_MAX];
};

void blob_local_path(const struct local_store *s,
                     const uint8_t blake3[DIGEST_LEN], char out[PATH_MAX]) {
  char hex[2 * DIGEST_LEN + 1];
  int n;

  hex_encode(blake3, DIGEST_LEN, hex);
  n = snprintf(out, PATH_MAX, "%s/%.2s/%.2s/%s", s->blobs_dir, hex, hex + 2,
               hex);
  assert(n > 0 && n < PATH_MAX); /* bounded by the check in open */
  (void)n;
}

/* ---------------------------------------------------------------------
 * Readers
 * ------------------------------------------------------------------ */

static void reader_free(struct local_reader *r) {
  blob_store_release(&r->s->base);
  free(r);
}

/* open(2) and fstat(2) in one pool job: one hop for a HEAD. */
static void reader_open_work(uv_work_t *w) {
  struct local_reader *r = container_of(w, struct local_reader, work);
  char path[PATH_MAX];
  struct stat st;

  blob_local_path(r->s, r->digest, path);
  r->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (r->fd < 0) {
    r->status = -errno;
    return;
  }
  if (fstat(r->fd, &st) != 0)
    r->status = -errno;
  else if (!S_ISREG(st.st_mode))
    r->status = UV_EINVAL;
  if (r->status != 0) {
    close(r->fd);
    r->fd = -1;
    return;
  }
  r->size = (uint64_t)st.st_size;
}

static void reader_open_done(uv_work_t *w, int status) {
  struct local_reader *r = container_of(w, struct local_reader, work);

  (void)status; /* never cancelled */
  if (r->status != 0) {
    r->open_cb(NULL, r->status, 0, r->arg);
    reader_free(r);
    return;
  }
  r->open_cb(&r->base, 0, r->size, r->arg);
}

int blob_local_reader_open(struct blob_store *bs,
                             const uint8_t blake3[DIGEST_LEN], blob_open_cb cb,
                             void *arg) {
  struct local_store *s = blob_local_store(bs);
  struct local_reader *r;
  int rc;

  r = calloc(1, sizeof *r);
  if (r == NULL)
    return UV_ENOMEM;
  r->base.store = bs;
  r->s = s;
  r->fd = -1;
  r->open_cb = cb;
  r->arg = arg;
  memcpy(r->digest, blake3, DIGEST_LEN);
  rc = uv_queue_work(bs->loop, &r->work, reader_open_work, reader_open_done);
  if (rc != 0) {
    free(r);
    return rc;
  }
  blob_store_hold(bs);
  return 0;
}

static void reader_read_done(uv_fs_t *req) {
  struct local_reader *r = container_of(req, struct local_reader, req);
  ssize_t n = req->result;

  uv_fs_req_cleanup(req);
  r->reading = 0;
  r->read_cb(&r->base, n, r->arg);
}

int blob_local_reader_read(struct blob_reader *br, uint64_t off, void *buf,
                             size_t len, blob_read_cb cb, void *arg) {
  struct local_reader *r = container_of(br, struct local_reader, base);
  uv_buf_t b;
  int rc;

  if (r->reading)
    return UV_EBUSY;
  if (off > INT64_MAX)
    return UV_EINVAL;
  if (len > LOCAL_READ_MAX)
    len = LOCAL_READ_MAX;
  b = uv_buf_init(buf, (unsigned int)len);
  r->read_cb = cb;
  r->arg = arg;
  rc = uv_fs_read(r->s->base.loop, &r->req, r->fd, &b, 1, (int64_t)off,
                  reader_read_done);
  if (rc == 0)
    r->reading = 1;
  return rc;
}

static void reader_close_done(uv_fs_t *req) {
  uv_fs_req_cleanup(req);
  reader_free(container_of(req, struct local_reader, req));
}

void blob_local_reader_close(struct blob_reader *br) {
  struct local_reader *r = container_of(br, struct local_reader, base);

  assert(!r->reading);
  if (uv_fs_close(r->s->base.loop, &r->req, r->fd, reader_close_done) != 0)
    reader_free(r);
}

/* ---------------------------------------------------------------------
 * Stat, verify, delete, health
 * ------------------------------------------------------------------ */

static struct local_req *req_new(struct local_store *s, void *arg) {
  struct local_req *q = calloc(1, sizeof *q);

  if (q == NULL)
    return NULL;
  q->s = s;
  q->arg = arg;
  return q;
}

static void req_free(struct local_req *q) {
  blob_store_release(&q->s->base);
  free(q);
}

/* The errors reader_open_work would give, but for a descriptor running
 * out: stat(2), the same regular-file check, and access(2) with the
 * effective ids for what open(O_RDONLY) would refuse. */
static void stat_work(uv_work_t *w) {
  struct local_req *q = container_of(w, struct local_req, work);
  struct stat st;

  q->found.size = BLOB_SIZE_UNKNOWN;
  if (stat(q->path, &st) != 0)
    q->status = -errno;
  else if (!S_ISREG(st.st_mode))
    q->status = UV_EINVAL;
  else if (faccessat(AT_FDCWD, q->path, R_OK, AT_EACCESS) != 0)
    q->status = -errno;
  else
    q->found.size = (uint64_t)st.st_size;
}

static void stat_done(uv_work_t *w, int status) {
  struct local_req *q = container_of(w, struct local_req, work);

  (void)status; /* never cancelled */
  q->stat_cb(q->status, q->found.size, q->arg);
  req_free(q);
}

int blob_local_stat(struct blob_store *bs, const uint8_t blake3[DIGEST_LEN],
                    blob_stat_cb cb, void *arg) {
  struct local_store *s = blob_local_store(bs);
  struct local_req *q = req_new(s, arg);
  int rc;

  if (q == NULL)
    return UV_ENOMEM;
  q->stat_cb = cb;
  blob_local_path(s, blake3, q->path);
  rc = uv_queue_work(bs->loop, &q->work, stat_work, stat_done);
  if (rc != 0) {
    free(q);
    return rc;
  }
  blob_store_hold(bs);
  return 0;
}

/* Reads fd to its end into h: 0 or -errno. */
static int verify_hash(int fd, struct dual_hasher *h, unsigned char *buf) {
  for (;;) {
    ssize_t n = read(fd, buf, LOCAL_VERIFY_CHUNK);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    if (n == 0)
      return 0;
    dual_hasher_update(h, buf, (size_t)n);
  }
}

/* Size first (a wrong size is damage without reading a byte), then both
 * digests in one pass. */
static void verify_work(uv_work_t *w) {
  struct local_req *q = container_of(w, struct local_req, work);
  struct dual_hasher *h = NULL;
  unsigned char *buf = NULL;
  struct stat st;
  int fd, rc;

  q->found.size = BLOB_SIZE_UNKNOWN;
  fd = open(q->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    q->status = -errno;
    return;
  }
  if (fstat(fd, &st) != 0) {
    rc = -errno;
    goto out;
  }
  q->found.size = (uint64_t)st.st_size;
  if (!S_ISREG(st.st_mode) ||
      (q->want.size != BLOB_SIZE_UNKNOWN && q->found.size != q->want.size)) {
    rc = UV_EBADMSG;
    goto out;
  }
  (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  buf = malloc(LOCAL_VERIFY_CHUNK);
  rc = buf == NULL ? UV_ENOMEM : dual_hasher_new(&h);
  if (rc == 0)
    rc = verify_hash(fd, h, buf);
  if (rc == 0) {
    dual_hasher_final(h, &q->found.digests);
    rc = blob_expected_check(&q->want, &q->found);
    if (rc == 0 && memcmp(q->found.digests.blake3, q->want.digests.blake3,
                          DIGEST_LEN) != 0)
      rc = UV_EBADMSG; /* the name is the digest: always compared */
  }
out:
  dual_hasher_free(h);
  free(buf);
  close(fd);
  q->status = rc;
}

static void verify_done(uv_work_t *w, int status) {
  struct local_req *q = container_of(w, struct local_req, work);

  (void)status;
  q->verify_cb(q->status, &q->found, q->arg);
  req_free(q);
}

int blob_local_verify(struct blob_store *bs, const struct blob_info *want,
                      blob_verify_cb cb, void *arg) {
  struct local_store *s = blob_local_store(bs);
  struct local_req *q = req_new(s, arg);
  int rc;

  if (q == NULL)
    return UV_ENOMEM;
  q->verify_cb = cb;
  q->want = *want;
  blob_local_path(s, want->digests.blake3, q->path);
  rc = uv_queue_work(bs->loop, &q->work, verify_work, verify_done);
  if (rc != 0) {
    free(q);
    return rc;
  }
  blob_store_hold(bs);
  return 0;
}

static void delete_done(uv_fs_t *req) {
  struct local_req *q = container_of(req, struct local_req, fs);
  int rc = (int)req->result;

  uv_fs_req_cleanup(req);
  q->status_cb(rc, q->arg);
  req_free(q);
}

int blob_local_delete(struct blob_store *bs, const uint8_t blake3[DIGEST_LEN],
                        blob_status_cb cb, void *arg) {
  struct local_store *s = blob_local_store(bs);
  struct local_req *q = req_new(s, arg);
  int rc;

  if (q == NULL)
    return UV_ENOMEM;
  q->status_cb = cb;
  blob_local_path(s, blake3, q->path);
  rc = uv_fs_unlink(bs->loop, &q->fs, q->path, delete_done);
  if (rc != 0) {
    free(q);
    return rc;
  }
  blob_store_hold(bs);
  return 0;
}

/* 0 when dir is a directory we may create files in. */
static int dir_usable(const char *dir) {
  struct stat st;

  if (stat(dir, &st) != 0)
    return -errno;
  if (!S_ISDIR(st.st_mode))
    return UV_ENOTDIR;
  if (access(dir, W_OK | X_OK) != 0)
    return -errno;
  return 0;
}

static void health_work(uv_work_t *w) {
  struct local_req *q = container_of(w, struct local_req, work);
  struct statvfs sv;
  int rc;

  rc = dir_usable(q->s->root);
  if (rc == 0)
    rc = dir_usable(q->s->blobs_dir);
  if (rc == 0)
    rc = dir_usable(q->s->tmp_dir);
  if (statvfs(q->s->root, &sv) == 0)
    q->free_bytes = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
  else if (rc == 0)
    rc = -errno;
  q->status = rc;
}

static void health_done(uv_work_t *w, int status) {
  struct local_req *q = container_of(w, struct local_req, work);

  (void)status;
  q->health_cb(q->status, q->free_bytes, q->arg);
  req_free(q);
}

int blob_local_health(struct blob_store *bs, blob_health_cb cb, void *arg) {
  struct local_req *q = req_new(blob_local_store(bs), arg);
  int rc;

  if (q == NULL)
    return UV_ENOMEM;
  q->health_cb = cb;
  rc = uv_queue_work(bs->loop, &q->work, health_work, health_done);
  if (rc != 0) {
    free(q);
    return rc;
  }
  blob_store_hold(bs);
  return 0;
}

