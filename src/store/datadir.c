/*
 * datadir.c: the data directory lock (see datadir.h).  flock locks belong
 * to the open file description, so they vanish with the process, however
 * it dies: no stale-lock clean-up is ever needed.
 */
#include "store/datadir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int datadir_path(const char *dir, const char *name, char *out, size_t size,
                 struct errbuf *e) {
  int n = snprintf(out, size, "%s/%s", dir, name);

  if (n < 0 || (size_t)n >= size)
    return err_set(e, UV_ENAMETOOLONG, "data directory path \"%.64s...\" is "
                   "too long", dir);
  return 0;
}

int datadir_lock(const char *dir, int *fd, struct errbuf *e) {
  char path[4096];
  int rc, f;

  *fd = -1;
  if (mkdir(dir, 0750) != 0 && errno != EEXIST)
    return err_set(e, -errno, "cannot create data directory %s: %s", dir,
                   strerror(errno));
  if ((rc = datadir_path(dir, DATADIR_LOCK_FILE, path, sizeof path, e)) != 0)
    return rc;
  f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (f < 0)
    return err_set(e, -errno, "cannot open lock file %s: %s", path,
                   strerror(errno));
  if (flock(f, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    close(f);
    if (err == EWOULDBLOCK)
      return err_set(e, UV_EBUSY,
                     "data directory %s is in use by another artifactstored "
                     "(it holds %s): stop that process first",
                     dir, path);
    return err_set(e, -err, "cannot lock %s: %s", path, strerror(err));
  }
  *fd = f;
  return 0;
}

void datadir_unlock(int fd) {
  if (fd >= 0)
    close(fd); /* releases the flock */
}
