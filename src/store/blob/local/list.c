/*
 * list.c: the local blob backend's enumeration (blob_list): walks
 * <data>/blobs/blake3/<xx>/<yy>/<hex> on the threadpool, one job per
 * batch of top-level fan-out directories, and hands each batch to the
 * caller on the loop thread before queuing the next job.  Only names of
 * the store's own form count: two lowercase hex digits per fan-out level
 * and a 64-digit file name that starts with them, a regular file (not
 * followed through a symlink).  Anything else is skipped.  Each entry
 * carries the size and modification time of the fstatat that checks it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/blob/local/local_int.h"
#include "util/hex.h"

#define LIST_FANOUT 256      /* top-level directories: 00 .. ff */
#define LIST_BATCH 4096      /* entries per batch, roughly */

struct local_list {
  struct local_store *s;
  uv_work_t work;
  blob_list_cb cb;
  void *arg;
  unsigned next; /* the next top-level directory to read */
  int status;
  struct blob_entry *v;
  size_t n, cap;
};

/* The digest named by the n hex digits at p (n even), or -1. */
static int hex_name(const char *p, size_t n, uint8_t *out) {
  for (size_t i = 0; i < n; i += 2) {
    int hi = hex_val_lower(p[i]), lo = hex_val_lower(p[i + 1]);
    if (hi < 0 || lo < 0)
      return -1;
    out[i / 2] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}

static int list_push(struct local_list *l, const uint8_t b3[DIGEST_LEN],
                     const struct stat *st) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 256;
    struct blob_entry *v = realloc(l->v, cap * sizeof *v);
    if (v == NULL)
      return UV_ENOMEM;
    l->v = v;
    l->cap = cap;
  }
  memcpy(l->v[l->n].blake3, b3, DIGEST_LEN);
  l->v[l->n].size = (uint64_t)st->st_size;
  l->v[l->n].mtime = (int64_t)st->st_mtim.tv_sec;
  l->n++;
  return 0;
}

/* The blob files of one leaf directory (dfd), named under prefix (2 bytes
 * of digest). */
static int list_leaf(struct local_list *l, int dfd, const uint8_t pre[2]) {
  DIR *d = fdopendir(dfd);
  struct dirent *de;
  int rc = 0;

  if (d == NULL) {
    rc = -errno;
    close(dfd);
    return rc;
  }
  while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
    uint8_t b3[DIGEST_LEN];
    struct stat st;

    if (strlen(de->d_name) != 2 * DIGEST_LEN ||
        hex_name(de->d_name, 2 * DIGEST_LEN, b3) != 0 ||
        memcmp(b3, pre, 2) != 0)
      continue;
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) /* removed meanwhile: not stored any more */
        rc = -errno;
      continue;
    }
    if (S_ISREG(st.st_mode))
      rc = list_push(l, b3, &st);
  }
  if (rc == 0 && errno != 0)
    rc = -errno;
  closedir(d);
  return rc;
}

/* Every leaf directory under one top-level directory (dfd, digest byte
 * top). */
static int list_top(struct local_list *l, int dfd, uint8_t top) {
  DIR *d = fdopendir(dfd);
  struct dirent *de;
  int rc = 0;

  if (d == NULL) {
    rc = -errno;
    close(dfd);
    return rc;
  }
  while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
    uint8_t pre[2] = {top, 0};
    int fd;

    if (strlen(de->d_name) != 2 || hex_name(de->d_name, 2, pre + 1) != 0)
      continue;
    fd = openat(dirfd(d), de->d_name,
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
        rc = -errno;
      continue;
    }
    rc = list_leaf(l, fd, pre);
  }
  if (rc == 0 && errno != 0)
    rc = -errno;
  closedir(d);
  return rc;
}

static void list_work(uv_work_t *w) {
  struct local_list *l = container_of(w, struct local_list, work);
  char dir[PATH_MAX];
  int rc = 0;

  while (rc == 0 && l->next < LIST_FANOUT && l->n < LIST_BATCH) {
    unsigned top = l->next++;
    int fd;

    snprintf(dir, sizeof dir, "%s/%c%c", l->s->blobs_dir,
             hex_digits[top >> 4], hex_digits[top & 15]);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
        rc = -errno;
      continue;
    }
    rc = list_top(l, fd, (uint8_t)top);
  }
  l->status = rc;
}

static void list_free(struct local_list *l) {
  blob_store_release(&l->s->base);
  free(l->v);
  free(l);
}

static void list_done(uv_work_t *w, int status) {
  struct local_list *l = container_of(w, struct local_list, work);
  bool last = l->status != 0 || l->next == LIST_FANOUT;
  int stop;

  (void)status; /* never cancelled */
  stop = l->cb(l->status, l->v, l->status != 0 ? 0 : l->n, last, l->arg);
  l->n = 0;
  if (stop != 0 || last ||
      uv_queue_work(l->s->base.loop, &l->work, list_work, list_done) != 0) {
    /* uv_queue_work cannot fail with valid callbacks */
    list_free(l);
  }
}

int blob_local_list(struct blob_store *bs, blob_list_cb cb, void *arg) {
  struct local_list *l = calloc(1, sizeof *l);
  int rc;

  if (l == NULL)
    return UV_ENOMEM;
  l->s = blob_local_store(bs);
  l->cb = cb;
  l->arg = arg;
  rc = uv_queue_work(bs->loop, &l->work, list_work, list_done);
  if (rc != 0) {
    free(l);
    return rc;
  }
  blob_store_hold(bs);
  return 0;
}
