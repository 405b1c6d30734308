/*
 * store.c: the local filesystem backend of the blob store (blob.h): the
 * store itself.  Open creates <data>/blobs/blake3, <data>/tmp and
 * <data>/trash when needed, makes their entries durable, holds tmp/ open
 * for the ENOSPC precheck, and removes what a crash left in tmp/ (only
 * names of our temp files' form, which includes the kept names of
 * blob_ingest_keep: anything else is left alone and reported as a
 * warning); close releases it all.
 * Both are synchronous: open runs before the loop serves, close after.
 * The ops table joins the parts of the backend: ingest (ingest.c),
 * readers, verify, delete and health (serve.c), listing (list.c) and the
 * trash (trash.c).
 */
#include "store/blob/local/local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "store/blob/local/local_int.h"

/* Longest suffix appended to the data directory: /blobs/blake3/xx/yy/<64>. */
#define LOCAL_SUFFIX_MAX 96

static void local_store_close(struct blob_store *bs) {
  struct local_store *s = blob_local_store(bs);

  if (s->tmp_fd >= 0)
    close(s->tmp_fd);
  free(s->root);
  free(s->blobs_dir);
  free(s->tmp_dir);
  free(s->trash_dir);
  free(s);
}

static const struct blob_ops local_ops = {
  .store_close = local_store_close,
  .ingest_start = blob_local_ingest_start,
  .ingest_write = blob_local_ingest_write,
  .ingest_write_take = blob_local_ingest_write_take,
  .ingest_reclaim = blob_local_ingest_reclaim,
  .ingest_finish = blob_local_ingest_finish,
  .ingest_abort = blob_local_ingest_abort,
  .reader_open = blob_local_reader_open,
  .reader_read = blob_local_reader_read,
  .reader_close = blob_local_reader_close,
  .stat = blob_local_stat,
  .verify = blob_local_verify,
  .remove = blob_local_delete,
  .health = blob_local_health,
  .list = blob_local_list,
  .ingest_keep = blob_local_ingest_keep,
  .ingest_settle = blob_local_ingest_settle,
  .trash = blob_local_trash,
  .trash_empty = blob_local_trash_empty,
};

static char *path_join(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *p = malloc(la + 1 + lb + 1);

  if (p != NULL) {
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
  }
  return p;
}

static int dir_ensure(const char *dir, struct errbuf *e) {
  struct stat st;

  if (mkdir(dir, LOCAL_DIR_MODE) != 0 && errno != EEXIST)
    return err_set(e, -errno, "cannot create directory %s: %s; check the "
                   "--data path and its permissions", dir, strerror(errno));
  if (stat(dir, &st) != 0)
    return err_set(e, -errno, "cannot stat %s: %s", dir, strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return err_set(e, UV_ENOTDIR, "%s exists but is not a directory; move "
                   "it away or choose another --data path", dir);
  return 0;
}

/* One of our temp files (ingest.c temp_create): exactly
 * 2 * LOCAL_TMP_NAME_BYTES lowercase hex characters. */
static bool tmp_ours(const char *name) {
  size_t i;

  for (i = 0; name[i] != '\0'; i++) {
    if (!((name[i] >= '0' && name[i] <= '9') ||
          (name[i] >= 'a' && name[i] <= 'f')))
      return false;
  }
  return i == 2 * LOCAL_TMP_NAME_BYTES;
}

/* Removes what a crash left in tmp/: our temp files, regular files named
 * as ingest names them, and nothing else.  Anything else is left alone
 * and counted into *strangers, the first name into stranger. */
static int tmp_clean(int dfd, const char *tmp_dir, unsigned *strangers,
                     char *stranger, size_t size, struct errbuf *e) {
  int fd = dup(dfd);
  struct stat st;
  DIR *d;
  struct dirent *de;
  int rc = 0;

  *strangers = 0;
  if (fd < 0)
    return err_set(e, -errno, "cannot read %s: %s", tmp_dir, strerror(errno));
  d = fdopendir(fd);
  if (d == NULL) {
    rc = -errno;
    close(fd);
    return err_set(e, rc, "cannot read %s: %s", tmp_dir, strerror(-rc));
  }
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    if (!tmp_ours(de->d_name) ||
        fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode)) {
      if ((*strangers)++ == 0)
        snprintf(stranger, size, "%s", de->d_name);
      continue;
    }
    if (unlinkat(dfd, de->d_name, 0) == 0 || errno == ENOENT)
      continue;
    rc = err_set(e, -errno, "cannot remove leftover %s/%s: %s; remove it "
                 "by hand", tmp_dir, de->d_name, strerror(errno));
    break;
  }
  closedir(d);
  return rc;
}

int blob_store_open_local(uv_loop_t *loop, const char *data_dir,
                          struct blob_store **out, struct errbuf *e) {
  char stranger[NAME_MAX + 1];
  struct local_store *s;
  unsigned strangers;
  int rc;

  *out = NULL;
  if (data_dir == NULL || data_dir[0] == '\0')
    return err_set(e, UV_EINVAL, "no data directory given; pass --data DIR");
  if (strlen(data_dir) + LOCAL_SUFFIX_MAX >= PATH_MAX)
    return err_set(e, UV_ENAMETOOLONG, "data directory path is too long "
                   "(at most %d bytes); choose a shorter --data path",
                   PATH_MAX - LOCAL_SUFFIX_MAX - 1);
  if (sodium_init() < 0)
    return err_set(e, UV_EIO, "libsodium failed to initialise");
  s = calloc(1, sizeof *s);
  if (s == NULL)
    return err_set(e, UV_ENOMEM, "out of memory opening the blob store");
  blob_store_init(&s->base, &local_ops, loop);
  s->tmp_fd = -1;
  s->root = path_join(data_dir, "blobs");
  s->tmp_dir = path_join(data_dir, "tmp");
  s->trash_dir = path_join(data_dir, "trash");
  s->blobs_dir = s->root != NULL ? path_join(s->root, "blake3") : NULL;
  if (s->root == NULL || s->tmp_dir == NULL || s->blobs_dir == NULL ||
      s->trash_dir == NULL) {
    rc = err_set(e, UV_ENOMEM, "out of memory opening the blob store");
    goto fail;
  }
  rc = dir_ensure(data_dir, e);
  if (rc == 0)
    rc = dir_ensure(s->root, e);
  if (rc == 0)
    rc = dir_ensure(s->blobs_dir, e);
  if (rc == 0)
    rc = dir_ensure(s->tmp_dir, e);
  if (rc == 0)
    rc = dir_ensure(s->trash_dir, e);
  if (rc != 0)
    goto fail;
  /* the directory entries of blobs/, blobs/blake3, tmp/ and trash/,
   * on a fresh data directory (start-up: blocking is fine here) */
  if ((rc = blob_local_fsync_path(data_dir)) != 0 || (rc = blob_local_fsync_path(s->root)) != 0) {
    rc = err_set(e, rc, "cannot fsync the directories of %s: %s", data_dir,
                 uv_strerror(rc));
    goto fail;
  }
  s->tmp_fd = open(s->tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->tmp_fd < 0) {
    rc = err_set(e, -errno, "cannot open %s: %s", s->tmp_dir, strerror(errno));
    goto fail;
  }
  rc = tmp_clean(s->tmp_fd, s->tmp_dir, &strangers, stranger,
                 sizeof stranger, e);
  if (rc != 0)
    goto fail;
  if (strangers > 0)
    err_set(e, 0, "%s holds %u entr%s that artifactstored did not make (such "
            "as \"%s\"): left as they are; move them elsewhere", s->tmp_dir,
            strangers, strangers == 1 ? "y" : "ies", stranger);
  *out = &s->base;
  return 0;

fail:
  local_store_close(&s->base);
  return rc;
}

void blob_local_fail_next_write(struct blob_store *s, int code) {
  blob_local_store(s)->fail_next = code;
}

void blob_local_fail_next_hash(struct blob_store *s, int code) {
  blob_local_store(s)->fail_next_hash = code;
}
