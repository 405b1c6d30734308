/*
 * ingest.c: the local filesystem backend of the blob store (blob.h):
 * ingest.
 *
 * Owns everything under <data>/blobs and <data>/tmp:
 *   <data>/blobs/blake3/<hex[0:2]>/<hex[2:4]>/<hex>   blob files, mode 0440
 *   <data>/tmp/<32 random hex>                        uploads in progress
 * Every path is built here from a 32-byte BLAKE3 digest, never from a
 * string a client sent.
 *
 * Ingest: each piece, copied by blob_ingest_write or handed over by
 * blob_ingest_write_take, is two threadpool jobs over the same immutable
 * bytes, running side by side: the hash job feeds the dual hasher; the
 * write job creates the temp file on first use (O_EXCL, 0600, name from
 * libsodium's randombytes), pwrite()s, and every LOCAL_WRITEBACK_BYTES
 * starts write-back with sync_file_range(SYNC_FILE_RANGE_WRITE) so the
 * final fsync has little left.  The jobs share nothing but the piece; the
 * one that ends last (atomic counter) drops the temp file when either
 * failed, and the piece completes on the loop when both after-work
 * callbacks have run.  One piece per ingest at a time keeps the hash jobs
 * in order, bounds an upload to two pool threads, and is the backpressure
 * the HTTP layer waits on.  A handed-over buffer is kept, once written,
 * for blob_ingest_reclaim, and freed otherwise.
 * Finish is one more job: final digests, comparison with what the
 * client announced, fchmod 0440, fsync, then rename into place.  A
 * file already there (identical bytes stored before: dedupe) is replaced,
 * never trusted, so damage on disk is healed by the next upload of the
 * same bytes; renameat2(RENAME_NOREPLACE) first tells whether one was
 * there (`existed`), and concurrent uploads of the same bytes both leave
 * identical verified bytes.  The leaf directory is fsynced, and a
 * fan-out directory's parent too when the fan-out directory was just
 * created.  Every failure removes the temp file
 * in a job (for a piece, the last of its two); abort removes it on the
 * threadpool as well.
 * Keep (blob_ingest_keep) links the temp file under a second temp name
 * just before the rename; finish then leaves the ingest to settle, a
 * job that links that name into place when the blob file has gone
 * (ensure) and removes it.
 *
 * Opening and closing the store are in store.c; readers, verify, delete
 * and health in serve.c.  The one call made on the loop thread is
 * fstatvfs() on the held tmp/ descriptor for the ENOSPC precheck in
 * blob_ingest_start: it reads the filesystem's in-memory counters and
 * does no disk I/O on a local filesystem.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <stdatomic.h>

#include <sodium.h>

#include "store/blob/local/local_int.h"
#include "store/codec/caddr.h"
#include "util/hex.h"

#define LOCAL_TMP_MODE 0600
#define LOCAL_BLOB_MODE 0440
#define LOCAL_TMP_TRIES 8              /* O_EXCL collisions tolerated */

enum ingest_state {
  INGEST_IDLE,
  INGEST_WRITING,
  INGEST_FINISHING,
  INGEST_CLEANING,
  INGEST_FAILED,
  INGEST_KEPT,     /* finished with a kept name: waits for settle */
  INGEST_SETTLING, /* settle's job is queued */
};

/* Written bytes are handed to write-back in windows of this size, so the
 * final fsync finds little left to write. */
#define LOCAL_WRITEBACK_BYTES (8 * 1024 * 1024)
/* Jobs per pending piece: one hashes it, one writes it. */
#define LOCAL_PIECE_JOBS 2

struct local_ingest {
  struct blob_ingest base;
  struct local_store *s;
  uv_work_t work;      /* the piece's write job; also finish and cleanup */
  uv_work_t hash_work; /* the piece's hash job */
  enum ingest_state state;
  int aborted;      /* abort came while a piece was pending */
  int fd;           /* -1 until the first write job creates the temp file */
  int status;       /* result of the last piece or of finish */
  int write_status, hash_status; /* the pending piece's two jobs */
  int inject_write, inject_hash; /* test hooks: fail that job with a code */
  atomic_int jobs_left; /* pool side: the last job to end settles a piece */
  int jobs_done;    /* loop side: the piece's after-work callbacks seen */
  struct dual_hasher *h; /* touched by hash jobs (and finish) only */
  uint64_t size;    /* bytes written so far; touched by write jobs only */
  uint64_t flushed; /* of those, handed to write-back; write jobs only */
  const unsigned char *piece; /* the pending bytes; read-only for the jobs */
  size_t len;
  unsigned char *taken; /* the piece's buffer when it was handed over */
  unsigned char *spare; /* the last taken buffer, done with: reclaimable */
  unsigned char *buf; /* blob_ingest_write's copy of the caller's bytes */
  size_t cap;
  blob_write_cb write_cb;
  blob_commit_cb commit_cb;
  blob_status_cb settle_cb;
  void *arg;
  int keep;   /* blob_ingest_keep was called */
  int ensure; /* settle: put the kept copy back in place when missing */
  int have_expected;
  struct blob_info expected;
  struct blob_info info;
  char tmp_path[PATH_MAX]; /* "" when there is no temp file to remove */
  char kept_path[PATH_MAX]; /* "" when there is no kept name to remove */
};

/* ---------------------------------------------------------------------
 * Threadpool helpers: plain syscalls, run only from work callbacks
 * (store.c's open also fsyncs with blob_local_fsync_path, before the loop
 * runs).
 * ------------------------------------------------------------------ */

int blob_local_fsync_path(const char *dir) {
  int fd, rc = 0;

  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  if (fsync(fd) != 0)
    rc = -errno;
  close(fd);
  return rc;
}

/* mkdir that tolerates an existing directory, then fsyncs the parent
 * either way: a directory another upload has just created is not durable
 * until its creator's fsync returns, and ours may be the rename that is
 * acknowledged first (or the creator's fsync may have failed). */
static int mkdir_durable(const char *dir, const char *parent) {
  if (mkdir(dir, LOCAL_DIR_MODE) != 0 && errno != EEXIST)
    return -errno;
  return blob_local_fsync_path(parent);
}

/* A fresh random name in tmp/, of the form store.c's clean-up removes. */
static void temp_name(const struct local_store *s, char out[PATH_MAX]) {
  unsigned char rnd[LOCAL_TMP_NAME_BYTES];
  char hex[2 * LOCAL_TMP_NAME_BYTES + 1];

  randombytes_buf(rnd, sizeof rnd);
  hex_encode(rnd, sizeof rnd, hex);
  snprintf(out, PATH_MAX, "%s/%s", s->tmp_dir, hex);
}

static int temp_create(struct local_ingest *in) {
  for (int i = 0; i < LOCAL_TMP_TRIES; i++) {
    temp_name(in->s, in->tmp_path);
    in->fd = open(in->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  LOCAL_TMP_MODE);
    if (in->fd >= 0)
      return 0;
    if (errno != EEXIST) {
      int rc = -errno;
      in->tmp_path[0] = '\0';
      return rc;
    }
  }
  in->tmp_path[0] = '\0';
  return UV_EEXIST;
}

static void temp_drop(struct local_ingest *in) {
  if (in->fd >= 0)
    close(in->fd);
  in->fd = -1;
  if (in->tmp_path[0] != '\0')
    unlink(in->tmp_path);
  in->tmp_path[0] = '\0';
}

/* The kept name: a hard link to the temp file under another temp name,
 * made before the rename into place (blob_ingest_keep). */
static int kept_link(struct local_ingest *in) {
  for (int i = 0; i < LOCAL_TMP_TRIES; i++) {
    temp_name(in->s, in->kept_path);
    if (link(in->tmp_path, in->kept_path) == 0)
      return 0;
    if (errno != EEXIST) {
      int rc = -errno;
      in->kept_path[0] = '\0';
      return rc;
    }
  }
  in->kept_path[0] = '\0';
  return UV_EEXIST;
}

static void kept_drop(struct local_ingest *in) {
  if (in->kept_path[0] != '\0')
    unlink(in->kept_path);
  in->kept_path[0] = '\0';
}

static int write_all(int fd, const unsigned char *p, size_t len, uint64_t off) {
  while (len > 0) {
    ssize_t n = pwrite(fd, p, len, (off_t)off);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += n;
    len -= (size_t)n;
    off += (uint64_t)n;
  }
  return 0;
}

/* Starts write-back of what was written since the last call, without
 * waiting for it: the upload goes on while the disk writes, and the final
 * fsync (which stays, and reports any write-back error) has only the tail
 * left.  A filesystem that cannot do this is not an error. */
static int writeback_start(int fd, uint64_t off, uint64_t len) {
  if (sync_file_range(fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE) == 0)
    return 0;
  if (errno == EINVAL || errno == ESPIPE || errno == ENOSYS ||
      errno == EOPNOTSUPP)
    return 0;
  return -errno;
}

/* ---------------------------------------------------------------------
 * Ingest
 * ------------------------------------------------------------------ */

static void ingest_free(struct local_ingest *in) {
  assert(in->fd < 0 && in->tmp_path[0] == '\0' && in->kept_path[0] == '\0');
  blob_store_release(&in->s->base);
  dual_hasher_free(in->h);
  free(in->taken);
  free(in->spare);
  free(in->buf);
  free(in);
}

static void cleanup_work(uv_work_t *w) {
  temp_drop(container_of(w, struct local_ingest, work));
}

static void cleanup_done(uv_work_t *w, int status) {
  (void)status;
  ingest_free(container_of(w, struct local_ingest, work));
}

/* Removes the temp file off the loop thread, then frees the ingest. */
static void ingest_cleanup(struct local_ingest *in) {
  if (in->fd < 0 && in->tmp_path[0] == '\0') {
    ingest_free(in);
    return;
  }
  in->state = INGEST_CLEANING;
  if (uv_queue_work(in->s->base.loop, &in->work, cleanup_work,
                    cleanup_done) != 0) {
    temp_drop(in); /* cannot happen with valid callbacks; never leak */
    ingest_free(in);
  }
}

int blob_local_ingest_start(struct blob_store *bs, uint64_t expected_size,
                            struct blob_ingest **out, struct errbuf *e) {
  struct local_store *s = blob_local_store(bs);
  struct local_ingest *in;
  struct statvfs sv;
  int rc;

  if (expected_size != BLOB_SIZE_UNKNOWN && fstatvfs(s->tmp_fd, &sv) == 0) {
    uint64_t free_bytes = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    if (expected_size > free_bytes)
      return err_set(e, UV_ENOSPC,
                     "not enough space for this upload: %llu bytes announced "
                     "but only %llu bytes free in the data directory; free "
                     "some space or retry later",
                     (unsigned long long)expected_size,
                     (unsigned long long)free_bytes);
  }
  in = calloc(1, sizeof *in);
  if (in == NULL)
    return err_set(e, UV_ENOMEM, "out of memory starting an upload");
  rc = dual_hasher_new(&in->h);
  if (rc != 0) {
    free(in);
    return err_set(e, rc, "out of memory starting an upload");
  }
  in->base.store = bs;
  in->s = s;
  in->fd = -1;
  in->state = INGEST_IDLE;
  blob_store_hold(bs);
  *out = &in->base;
  return 0;
}

/* Runs on the pool in whichever of the piece's two jobs ends last: the
 * other one no longer touches `in`, so a failure can drop the temp file
 * here, in a job, as every failure does. */
static void piece_settle(struct local_ingest *in) {
  if (in->write_status != 0 || in->hash_status != 0)
    temp_drop(in);
}

static void piece_job_end(struct local_ingest *in) {
  /* seq_cst: the last job sees everything the other one wrote */
  if (atomic_fetch_sub(&in->jobs_left, 1) == 1)
    piece_settle(in);
}

static void hash_work(uv_work_t *w) {
  struct local_ingest *in = container_of(w, struct local_ingest, hash_work);

  in->hash_status = in->inject_hash;
  if (in->hash_status == 0)
    dual_hasher_update(in->h, in->piece, in->len);
  piece_job_end(in);
}

static void write_work(uv_work_t *w) {
  struct local_ingest *in = container_of(w, struct local_ingest, work);
  int rc = 0;

  if (in->fd < 0)
    rc = temp_create(in);
  if (rc == 0 && in->inject_write != 0)
    rc = in->inject_write;
  if (rc == 0)
    rc = write_all(in->fd, in->piece, in->len, in->size);
  if (rc == 0)
    in->size += in->len;
  if (rc == 0 && in->size - in->flushed >= LOCAL_WRITEBACK_BYTES) {
    rc = writeback_start(in->fd, in->flushed, in->size - in->flushed);
    in->flushed = in->size;
  }
  in->write_status = rc;
  piece_job_end(in);
}

/* Both jobs' after-work callbacks land here; the second completes the
 * piece. */
static void piece_done(struct local_ingest *in) {
  blob_write_cb cb = in->write_cb;
  void *arg = in->arg;

  if (++in->jobs_done < LOCAL_PIECE_JOBS)
    return;
  in->status = in->write_status != 0 ? in->write_status : in->hash_status;
  in->state = in->status == 0 ? INGEST_IDLE : INGEST_FAILED;
  in->piece = NULL;
  if (in->taken != NULL) { /* both jobs are done with it */
    free(in->spare);
    in->spare = in->taken;
    in->taken = NULL;
  }
  if (in->aborted) {
    ingest_cleanup(in);
    return;
  }
  cb(&in->base, in->status, arg); /* may finish or abort `in` */
}

static void hash_done(uv_work_t *w, int status) {
  (void)status; /* never cancelled */
  piece_done(container_of(w, struct local_ingest, hash_work));
}

static void write_done(uv_work_t *w, int status) {
  (void)status; /* never cancelled */
  piece_done(container_of(w, struct local_ingest, work));
}

/* Queues the hash and the write of in->piece: the two jobs read the same
 * bytes and share nothing else, so they run side by side. */
static int piece_queue(struct local_ingest *in) {
  uv_loop_t *loop = in->s->base.loop;
  int rc;

  in->inject_write = in->s->fail_next;
  in->s->fail_next = 0;
  in->inject_hash = in->s->fail_next_hash;
  in->s->fail_next_hash = 0;
  in->write_status = 0;
  in->hash_status = 0;
  in->jobs_done = 0;
  atomic_store(&in->jobs_left, LOCAL_PIECE_JOBS);
  rc = uv_queue_work(loop, &in->hash_work, hash_work, hash_done);
  if (rc != 0)
    return rc;
  in->state = INGEST_WRITING;
  rc = uv_queue_work(loop, &in->work, write_work, write_done);
  if (rc != 0) {
    /* cannot happen with valid callbacks; the hash job still completes
     * the piece, which fails, and abort removes the temp file */
    in->write_status = rc;
    in->jobs_done++;
    atomic_fetch_sub(&in->jobs_left, 1);
  }
  return 0;
}

/* 0 when a piece of len bytes may be queued now. */
static int piece_check(const struct local_ingest *in, size_t len) {
  if (in->state == INGEST_FAILED)
    return in->status;
  if (in->state != INGEST_IDLE)
    return UV_EBUSY;
  if (in->size + len < in->size)
    return UV_EFBIG;
  return 0;
}

int blob_local_ingest_write(struct blob_ingest *bi, const void *data,
                            size_t len, blob_write_cb cb, void *arg) {
  struct local_ingest *in = container_of(bi, struct local_ingest, base);
  int rc = piece_check(in, len);

  if (rc != 0)
    return rc;
  if (len > in->cap) {
    unsigned char *p = realloc(in->buf, len);
    if (p == NULL)
      return UV_ENOMEM;
    in->buf = p;
    in->cap = len;
  }
  if (len > 0)
    memcpy(in->buf, data, len);
  in->piece = in->buf;
  in->len = len;
  in->write_cb = cb;
  in->arg = arg;
  return piece_queue(in);
}

int blob_local_ingest_write_take(struct blob_ingest *bi, void *buf,
                                 size_t len, blob_write_cb cb, void *arg) {
  struct local_ingest *in = container_of(bi, struct local_ingest, base);
  int rc = piece_check(in, len);

  if (rc != 0) {
    free(buf);
    return rc;
  }
  assert(in->taken == NULL);
  in->taken = buf;
  in->piece = buf;
  in->len = len;
  in->write_cb = cb;
  in->arg = arg;
  rc = piece_queue(in);
  if (rc != 0) {
    free(in->taken);
    in->taken = NULL;
    in->piece = NULL;
  }
  return rc;
}

void *blob_local_ingest_reclaim(struct blob_ingest *bi) {
  struct local_ingest *in = container_of(bi, struct local_ingest, base);
  void *p = in->spare;

  if (in->state == INGEST_WRITING)
    return NULL; /* a pending piece's buffer is the jobs' */
  in->spare = NULL;
  return p;
}

/* Moves the fsynced, closed temp file into place.  Runs on the
 * threadpool.  An existing file under the same name is never trusted: it
 * may have been damaged on disk (a flipped byte keeps the size), so the
 * freshly hashed and fsynced temp file always replaces it, which also
 * heals the damage.  RENAME_NOREPLACE first only tells whether identical
 * bytes were already stored (`existed`, atomically even against a
 * concurrent upload); when two uploads of the same bytes race, both
 * renames leave identical verified bytes in place. */
/* final (blob_local_path) and its two fan-out directories, created when
 * missing and made durable. */
static int place_dirs(const struct local_ingest *in, char final[PATH_MAX],
                      char d2[PATH_MAX]) {
  const struct local_store *s = in->s;
  size_t base = strlen(s->blobs_dir);
  char d1[PATH_MAX];
  int rc;

  blob_local_path(s, in->info.digests.blake3, final);
  /* final is blobs_dir/xx/yy/hex: cut it to get the two fan-out dirs. */
  memcpy(d1, final, base + 3);
  d1[base + 3] = '\0';
  memcpy(d2, final, base + 6);
  d2[base + 6] = '\0';
  rc = mkdir_durable(d1, s->blobs_dir);
  if (rc == 0)
    rc = mkdir_durable(d2, d1);
  return rc;
}

static int ingest_place(struct local_ingest *in) {
  char final[PATH_MAX], d2[PATH_MAX];
  struct stat st;
  int rc = place_dirs(in, final, d2);

  if (rc != 0)
    return rc;
  if (in->keep && (rc = kept_link(in)) != 0)
    return rc;

  if (renameat2(AT_FDCWD, in->tmp_path, AT_FDCWD, final,
                RENAME_NOREPLACE) != 0) {
    int err = errno;
    if (err == EEXIST)
      in->info.existed = 1;
    else if (err == EINVAL || err == ENOSYS) /* no RENAME_NOREPLACE here */
      in->info.existed = lstat(final, &st) == 0;
    else
      return -err;
    if (rename(in->tmp_path, final) != 0)
      return -errno;
  }
  in->tmp_path[0] = '\0';
  /* Also after dedupe: a concurrent winner may not have fsynced it yet. */
  return blob_local_fsync_path(d2);
}

static void finish_work(uv_work_t *w) {
  struct local_ingest *in = container_of(w, struct local_ingest, work);
  int rc = 0;

  if (in->fd < 0)
    rc = temp_create(in); /* empty blob: nothing was written yet */
  dual_hasher_final(in->h, &in->info.digests);
  in->info.size = in->size;
  in->info.existed = 0;
  if (rc == 0 && in->have_expected)
    rc = blob_expected_check(&in->expected, &in->info);
  if (rc == 0 && fchmod(in->fd, LOCAL_BLOB_MODE) != 0)
    rc = -errno;
  if (rc == 0 && fsync(in->fd) != 0)
    rc = -errno;
  if (rc == 0) {
    int fd = in->fd;
    in->fd = -1;
    if (close(fd) != 0)
      rc = -errno;
  }
  if (rc == 0)
    rc = ingest_place(in);
  if (rc != 0) {
    temp_drop(in);
    kept_drop(in);
  }
  in->status = rc;
}

static void finish_done(uv_work_t *w, int status) {
  struct local_ingest *in = container_of(w, struct local_ingest, work);

  (void)status;
  if (in->status == 0 && in->keep) {
    in->state = INGEST_KEPT; /* settle releases it */
    in->commit_cb(&in->base, 0, &in->info, in->arg);
    return;
  }
  in->commit_cb(&in->base, in->status, &in->info, in->arg);
  ingest_free(in);
}

int blob_local_ingest_keep(struct blob_ingest *bi) {
  struct local_ingest *in = container_of(bi, struct local_ingest, base);

  if (in->state == INGEST_FAILED)
    return in->status;
  if (in->state != INGEST_IDLE && in->state != INGEST_WRITING)
    return UV_EBUSY;
  in->keep = 1;
  return 0;
}

/* Puts the kept copy back in place when the blob file is missing there:
 * a link, so a file placed meanwhile by another upload is left alone. */
static int settle_ensure(struct local_ingest *in) {
  char final[PATH_MAX], d2[PATH_MAX];
  struct stat st;
  int rc;

  blob_local_path(in->s, in->info.digests.blake3, final);
  if (lstat(final, &st) == 0)
    return 0;
  if (errno != ENOENT)
    return -errno;
  rc = place_dirs(in, final, d2);
  if (rc == 0 && link(in->kept_path, final) != 0 && errno != EEXIST)
    rc = -errno;
  if (rc == 0)
    rc = blob_local_fsync_path(d2);
  return rc;
}

static void settle_work(uv_work_t *w) {
  struct local_ingest *in = container_of(w, struct local_ingest, work);

  in->status = in->ensure ? settle_ensure(in) : 0;
  kept_drop(in);
}

static void settle_done(uv_work_t *w, int status) {
  struct local_ingest *in = container_of(w, struct local_ingest, work);

  (void)status; /* never cancelled */
  in->settle_cb(in->status, in->arg);
  ingest_free(in);
}

int blob_local_ingest_settle(struct blob_ingest *bi, bool ensure,
                             blob_status_cb cb, void *arg) {
  struct local_ingest *in = container_of(bi, struct local_ingest, base);
  int rc;

  if (in->state != INGEST_KEPT)
    return UV_EINVAL;
  in->ensure = ensure;
  in->settle_cb = cb;
  in->arg = arg;
  rc = uv_queue_work(in->s->base.loop, &in->work, settle_work, settle_done);
  if (rc == 0)
    in->state = INGEST_SETTLING;
  return rc;
}

int blob_local_ingest_finish(struct blob_ingest *bi,
                             const struct blob_info *expected,
                             blob_commit_cb cb, void *arg) {
  struct local_ingest *in = container_of(bi, struct local_ingest, base);
  int rc;

  if (in->state == INGEST_FAILED)
    return in->status;
  if (in->state != INGEST_IDLE)
    return UV_EBUSY;
  in->have_expected = expected != NULL;
  if (expected != NULL)
    in->expected = *expected;
  in->commit_cb = cb;
  in->arg = arg;
  rc = uv_queue_work(in->s->base.loop, &in->work, finish_work, finish_done);
  if (rc == 0)
    in->state = INGEST_FINISHING;
  return rc;
}

void blob_local_ingest_abort(struct blob_ingest *bi) {
  struct local_ingest *in = container_of(bi, struct local_ingest, base);

  assert(in->state != INGEST_FINISHING && in->state != INGEST_CLEANING &&
         in->state != INGEST_KEPT && in->state != INGEST_SETTLING);
  assert(!in->aborted);
  if (in->state == INGEST_WRITING) {
    in->aborted = 1; /* write_done cleans up */
    return;
  }
  ingest_cleanup(in);
}
