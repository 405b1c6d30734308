/*
 * trash.c: the local blob backend's trash, where collected blobs wait
 * before they are removed:
 *   <data>/trash/<64 lowercase hex>.<decimal tag>
 * blob_trash renames a blob file there (the tag is the sequence of the
 * event that collected it), stamps it with the time of the move and
 * fsyncs both directories; blob_trash_empty removes the entries whose
 * stamp is old enough and counts what is left.  Both are one threadpool
 * job.  Names not of that form are neither removed nor counted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/blob/local/local_int.h"
#include "util/hex.h"

#define TRASH_TAG_DIGITS_MAX 19 /* INT64_MAX */

struct local_trash {
  struct local_store *s;
  uv_work_t work;
  uint8_t blake3[DIGEST_LEN];
  int64_t tag, older_than;
  int status;
  struct blob_trash_stats st;
  blob_status_cb status_cb;
  blob_trash_cb trash_cb;
  void *arg;
};

static struct local_trash *trash_new(struct blob_store *bs, void *arg) {
  struct local_trash *t = calloc(1, sizeof *t);

  if (t != NULL) {
    t->s = blob_local_store(bs);
    t->arg = arg;
  }
  return t;
}

static int trash_queue(struct local_trash *t, uv_work_cb work,
                       uv_after_work_cb done) {
  int rc = uv_queue_work(t->s->base.loop, &t->work, work, done);

  if (rc != 0) {
    free(t);
    return rc;
  }
  blob_store_hold(&t->s->base);
  return 0;
}

static void trash_free(struct local_trash *t) {
  blob_store_release(&t->s->base);
  free(t);
}

/* ------------------------------------------------------------- the move */

static void trash_work(uv_work_t *w) {
  struct local_trash *t = container_of(w, struct local_trash, work);
  char from[PATH_MAX], to[PATH_MAX], hex[2 * DIGEST_LEN + 1];
  size_t base = strlen(t->s->blobs_dir);
  int rc;

  blob_local_path(t->s, t->blake3, from);
  hex_encode(t->blake3, DIGEST_LEN, hex);
  snprintf(to, sizeof to, "%s/%s.%" PRId64, t->s->trash_dir, hex, t->tag);
  if (rename(from, to) != 0) {
    t->status = -errno;
    return;
  }
  /* the trash TTL counts from now, not from when the blob was written */
  rc = utimensat(AT_FDCWD, to, NULL, 0) != 0 ? -errno : 0;
  if (rc == 0)
    rc = blob_local_fsync_path(t->s->trash_dir);
  if (rc == 0) {
    from[base + 6] = '\0'; /* blobs_dir/xx/yy: the blob's directory */
    rc = blob_local_fsync_path(from);
  }
  t->status = rc;
}

static void trash_done(uv_work_t *w, int status) {
  struct local_trash *t = container_of(w, struct local_trash, work);

  (void)status; /* never cancelled */
  t->status_cb(t->status, t->arg);
  trash_free(t);
}

int blob_local_trash(struct blob_store *bs, const uint8_t blake3[DIGEST_LEN],
                     int64_t tag, blob_status_cb cb, void *arg) {
  struct local_trash *t = trash_new(bs, arg);

  if (t == NULL)
    return UV_ENOMEM;
  memcpy(t->blake3, blake3, DIGEST_LEN);
  t->tag = tag;
  t->status_cb = cb;
  return trash_queue(t, trash_work, trash_done);
}

/* ------------------------------------------------------------ emptying */

/* <64 lowercase hex>.<1..19 decimal digits> */
static bool trash_name(const char *name) {
  size_t i, digits = 0;

  for (i = 0; i < 2 * DIGEST_LEN; i++)
    if (hex_val_lower(name[i]) < 0)
      return false;
  if (name[i++] != '.')
    return false;
  for (; name[i] >= '0' && name[i] <= '9'; i++)
    digits++;
  return name[i] == '\0' && digits >= 1 && digits <= TRASH_TAG_DIGITS_MAX;
}

static int trash_scan(struct local_trash *t, DIR *d) {
  struct dirent *de;
  uint64_t removed = 0;
  int rc = 0;

  while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
    struct stat st;

    if (!trash_name(de->d_name))
      continue;
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) /* removed meanwhile: gone either way */
        rc = -errno;
      continue;
    }
    if (!S_ISREG(st.st_mode))
      continue;
    if (t->older_than != INT64_MIN &&
        (int64_t)st.st_mtim.tv_sec <= t->older_than) {
      if (unlinkat(dirfd(d), de->d_name, 0) == 0) {
        t->st.removed++;
        t->st.removed_bytes += (uint64_t)st.st_size;
        removed++;
      } else if (errno != ENOENT) {
        rc = -errno;
      }
      continue;
    }
    t->st.files++;
    t->st.bytes += (uint64_t)st.st_size;
  }
  if (rc == 0 && errno != 0)
    rc = -errno;
  if (rc == 0 && removed > 0)
    rc = fsync(dirfd(d)) != 0 ? -errno : 0;
  return rc;
}

static void trash_empty_work(uv_work_t *w) {
  struct local_trash *t = container_of(w, struct local_trash, work);
  int fd = open(t->s->trash_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d;

  if (fd < 0) {
    t->status = -errno;
    return;
  }
  d = fdopendir(fd);
  if (d == NULL) {
    t->status = -errno;
    close(fd);
    return;
  }
  t->status = trash_scan(t, d);
  closedir(d);
}

static void trash_empty_done(uv_work_t *w, int status) {
  struct local_trash *t = container_of(w, struct local_trash, work);
  static const struct blob_trash_stats none;

  (void)status; /* never cancelled */
  t->trash_cb(t->status, t->status == 0 ? &t->st : &none, t->arg);
  trash_free(t);
}

int blob_local_trash_empty(struct blob_store *bs, int64_t older_than,
                           blob_trash_cb cb, void *arg) {
  struct local_trash *t = trash_new(bs, arg);

  if (t == NULL)
    return UV_ENOMEM;
  t->older_than = older_than;
  t->trash_cb = cb;
  return trash_queue(t, trash_empty_work, trash_empty_done);
}
