/*
 * datadir.c: the data directory (see datadir.h): the decision whether a
 * directory is ours, the marker, the lock.
 *
 * Order matters.  The directory is created only when it does not exist
 * and only for the daemon; then it is opened and locked (flock on the
 * directory's own descriptor creates nothing in it); then its entries are
 * read and the rules decide; only then is anything written, and the one
 * thing written here is the marker.  Everything inside is reached through
 * the locked descriptor (openat, fstatat), so a path swapped meanwhile is
 * never followed.  flock locks belong to the open file description: they
 * vanish with the process, however it dies.
 */
#include "store/datadir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "store/codec/ts.h"

#define DATADIR_MARKER_TMP ".artifactstored.id.tmp" /* written, then renamed */
#define DATADIR_LEGACY_LOCK "lock" /* lock file of older versions: ignored */
#define DATADIR_MOUNT_LOST "lost+found" /* a file system's root holds one */
#define DATADIR_BLOBS "blobs"
#define DATADIR_DB_WAL DATADIR_DB_FILE "-wal"
#define DATADIR_DB_JOURNAL DATADIR_DB_FILE "-journal"
#define DATADIR_MODE 0750
#define DATADIR_FILE_MODE 0640
#define DATADIR_MARKER_MAX 1024 /* bytes of a marker we accept */
#define DATADIR_SQLITE_MAGIC "SQLite format 3" /* and its NUL: 16 bytes */

_Static_assert(PATH_MAX <= DATADIR_PATH_MAX, "realpath writes PATH_MAX");

/* What the entries of a directory say about it. */
struct dd_scan {
  bool marker;      /* DATADIR_MARKER_FILE */
  bool db;          /* DATADIR_DB_FILE, holding bytes */
  bool db_sqlite;   /* ... and starting with SQLite's header */
  const char *db_left; /* a -wal or -journal of the database */
  bool blobs;       /* a blobs/ directory */
  bool empty;       /* nothing an empty directory may not hold */
  char other[NAME_MAX + 1]; /* the first entry that is not ignorable */
};

int datadir_path(const char *dir, const char *name, char *out, size_t size,
                 struct errbuf *e) {
  int n = snprintf(out, size, "%s/%s", dir, name);

  if (n < 0 || (size_t)n >= size)
    return err_set(e, UV_ENAMETOOLONG, "data directory path \"%.64s...\" is "
                   "too long", dir);
  return 0;
}

static int dd_fsync_fd(int fd) {
  return fsync(fd) == 0 || errno == EINVAL ? 0 : -errno;
}

/* mkdir dir (one level), and make its entry in the parent durable. */
static int dd_create(const char *dir, struct errbuf *e) {
  char parent[DATADIR_PATH_MAX];
  char *slash;
  int fd, rc;

  if (mkdir(dir, DATADIR_MODE) != 0 && errno != EEXIST)
    return err_set(e, -errno, "cannot create data directory %s: %s; create "
                   "its parent or choose another --data path", dir,
                   strerror(errno));
  if (snprintf(parent, sizeof parent, "%s", dir) >= (int)sizeof parent)
    return err_set(e, UV_ENAMETOOLONG, "data directory path is too long");
  while ((slash = strrchr(parent, '/')) != NULL && slash[1] == '\0' &&
         slash != parent)
    *slash = '\0'; /* "a/b/" -> "a/b" */
  slash = strrchr(parent, '/');
  if (slash == NULL)
    snprintf(parent, sizeof parent, ".");
  else
    slash[slash == parent ? 1 : 0] = '\0';
  fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return err_set(e, -errno, "cannot open %s: %s", parent, strerror(errno));
  rc = dd_fsync_fd(fd);
  close(fd);
  if (rc != 0)
    return err_set(e, rc, "cannot fsync %s: %s", parent, uv_strerror(rc));
  return 0;
}

static int dd_lock(const char *dir, struct datadir *dd, struct errbuf *e) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return err_set(e, -errno, "cannot open data directory %s: %s", dir,
                   strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    close(fd);
    if (err == EWOULDBLOCK)
      return err_set(e, UV_EBUSY,
                     "data directory %s is in use by another artifactstored "
                     "(it holds the directory's lock): stop that process "
                     "first", dir);
    return err_set(e, -err, "cannot lock data directory %s: %s", dir,
                   strerror(err));
  }
  dd->fd = fd;
  return 0;
}

/* What an empty directory may hold: a mount point's lost+found, the lock
 * file an older version left, a marker whose first write was cut short. */
static bool dd_ignorable(int dfd, const char *name) {
  struct stat st;

  if (strcmp(name, DATADIR_MOUNT_LOST) == 0 ||
      strcmp(name, DATADIR_MARKER_TMP) == 0)
    return true;
  return strcmp(name, DATADIR_LEGACY_LOCK) == 0 &&
         fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISREG(st.st_mode) && st.st_size == 0;
}

/* The database holds bytes; does it start as SQLite's files do? */
static bool dd_is_sqlite(int dfd) {
  char head[sizeof DATADIR_SQLITE_MAGIC];
  int fd = openat(dfd, DATADIR_DB_FILE, O_RDONLY | O_CLOEXEC);
  bool ok;

  if (fd < 0)
    return false;
  ok = pread(fd, head, sizeof head, 0) == (ssize_t)sizeof head &&
       memcmp(head, DATADIR_SQLITE_MAGIC, sizeof head) == 0;
  close(fd);
  return ok;
}

static void dd_scan_entry(int dfd, const char *name, struct dd_scan *s) {
  struct stat st;
  bool have = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;

  if (strcmp(name, DATADIR_MARKER_FILE) == 0) {
    s->marker = true;
  } else if (strcmp(name, DATADIR_DB_FILE) == 0) {
    /* followed, as SQLite follows it */
    s->db = fstatat(dfd, name, &st, 0) == 0 && S_ISREG(st.st_mode) &&
            st.st_size > 0;
    s->db_sqlite = s->db && dd_is_sqlite(dfd);
  } else if (strcmp(name, DATADIR_DB_WAL) == 0 ||
             strcmp(name, DATADIR_DB_JOURNAL) == 0) {
    if (have && st.st_size > 0)
      s->db_left = name[sizeof DATADIR_DB_FILE] == 'w' ? DATADIR_DB_WAL
                                                      : DATADIR_DB_JOURNAL;
  } else if (strcmp(name, DATADIR_BLOBS) == 0) {
    s->blobs = have && S_ISDIR(st.st_mode);
  }
  if (!dd_ignorable(dfd, name)) {
    if (s->empty)
      snprintf(s->other, sizeof s->other, "%s", name);
    s->empty = false;
  }
}

/* Does blobs/blake3 hold anything?  (Its fan-out directories exist only
 * once a blob was stored.)  Used only to word a refusal. */
static bool dd_blobs_stored(int dfd) {
  int fd = openat(dfd, DATADIR_BLOBS "/blake3",
                  O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct dirent *de;
  bool any = false;
  DIR *d;

  if (fd < 0)
    return false;
  if ((d = fdopendir(fd)) == NULL) {
    close(fd);
    return true; /* unreadable: assume the worst */
  }
  while (!any && (de = readdir(d)) != NULL)
    any = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
  closedir(d);
  return any;
}

static int dd_scan(struct datadir *dd, struct dd_scan *s, struct errbuf *e) {
  int fd = openat(dd->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct dirent *de;
  DIR *d;
  int rc = 0;

  memset(s, 0, sizeof *s);
  s->empty = true;
  if (fd < 0 || (d = fdopendir(fd)) == NULL) {
    rc = -errno;
    if (fd >= 0)
      close(fd);
    return err_set(e, rc, "cannot read data directory %s: %s", dd->path,
                   uv_strerror(rc));
  }
  for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
      dd_scan_entry(dd->fd, de->d_name, s);
  }
  if (errno != 0)
    rc = err_set(e, -errno, "cannot read data directory %s: %s", dd->path,
                 strerror(errno));
  closedir(d);
  return rc;
}

static int dd_read_all(int fd, char *buf, size_t size, size_t *n) {
  *n = 0;
  while (*n < size) {
    ssize_t r = read(fd, buf + *n, size - *n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -errno;
    if (r == 0)
      break;
    *n += (size_t)r;
  }
  return 0;
}

/* Reads and checks the marker; its store id into dd. */
static int dd_marker_read(struct datadir *dd, struct errbuf *e) {
  char buf[DATADIR_MARKER_MAX + 1];
  const char *fmt, *id, *why = NULL;
  json_t *root, *ver;
  struct uuid u;
  size_t n = 0;
  int fd, rc;

  fd = openat(dd->fd, DATADIR_MARKER_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  rc = fd < 0 ? -errno : dd_read_all(fd, buf, sizeof buf, &n);
  if (fd >= 0)
    close(fd);
  if (rc != 0)
    return err_set(e, rc, "cannot read %s/%s: %s", dd->path,
                   DATADIR_MARKER_FILE, uv_strerror(rc));
  root = n <= DATADIR_MARKER_MAX ? json_loadb(buf, n, 0, NULL) : NULL;
  fmt = json_string_value(json_object_get(root, "format"));
  ver = json_object_get(root, "format_version");
  id = json_string_value(json_object_get(root, "store_id"));
  if (root == NULL || !json_is_object(root))
    why = "it is not a JSON object";
  else if (fmt == NULL || strcmp(fmt, DATADIR_FORMAT) != 0)
    why = "its \"format\" is not \"" DATADIR_FORMAT "\"";
  else if (!json_is_integer(ver) || json_integer_value(ver) < 1)
    why = "its \"format_version\" is not a positive integer";
  else if (json_integer_value(ver) > DATADIR_FORMAT_VERSION)
    rc = err_set(e, UV_EPROTO, "%s/%s says format_version %lld, but this "
                 "artifactstored knows only up to %d: run a newer "
                 "artifactstored", dd->path, DATADIR_MARKER_FILE,
                 (long long)json_integer_value(ver), DATADIR_FORMAT_VERSION);
  else if (id == NULL || uuid_parse(id, strlen(id), &u) != 0)
    why = "its \"store_id\" is not a UUID";
  else
    uuid_format(&u, dd->store_id);
  json_decref(root);
  if (why != NULL)
    rc = err_set(e, UV_EPROTO, "%s/%s is not a marker this artifactstored "
                 "understands (%s): restore it from a backup, or remove it "
                 "and run once with --init to write a new one", dd->path,
                 DATADIR_MARKER_FILE, why);
  return rc;
}

static int dd_write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -errno;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Writes a new marker: a temp file, fsync, rename, fsync the directory. */
static int dd_marker_write(struct datadir *dd, struct errbuf *e) {
  char line[256], ts[TS_STRLEN + 1];
  int64_t now = ts_now_us();
  struct uuid u;
  int fd, rc, n;

  uuid_v7((uint64_t)(now / 1000), &u);
  uuid_format(&u, dd->store_id);
  ts_format(now, ts);
  n = snprintf(line, sizeof line,
               "{\"format\":\"%s\",\"format_version\":%d,\"store_id\":\"%s\","
               "\"created_at\":\"%s\"}\n",
               DATADIR_FORMAT, DATADIR_FORMAT_VERSION, dd->store_id, ts);
  fd = openat(dd->fd, DATADIR_MARKER_TMP,
              O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
              DATADIR_FILE_MODE);
  rc = fd < 0 ? -errno : dd_write_all(fd, line, (size_t)n);
  if (rc == 0 && fsync(fd) != 0)
    rc = -errno;
  if (fd >= 0 && close(fd) != 0 && rc == 0)
    rc = -errno;
  if (rc == 0 && renameat(dd->fd, DATADIR_MARKER_TMP, dd->fd,
                          DATADIR_MARKER_FILE) != 0)
    rc = -errno;
  if (rc == 0)
    rc = dd_fsync_fd(dd->fd);
  if (rc != 0) {
    unlinkat(dd->fd, DATADIR_MARKER_TMP, 0);
    dd->store_id[0] = '\0';
    return err_set(e, rc, "cannot write %s/%s: %s", dd->path,
                   DATADIR_MARKER_FILE, uv_strerror(rc));
  }
  dd->created = true;
  return 0;
}

static int dd_decide(struct datadir *dd, const struct dd_scan *s,
                     enum datadir_use use, struct errbuf *e) {
  int rc;

  if (s->marker) {
    if ((rc = dd_marker_read(dd, e)) != 0)
      return rc;
    if (s->db)
      return 0;
    if (use == DATADIR_SERVE_INIT && s->db_left != NULL)
      return err_set(e, UV_EEXIST, "%s/%s is left from the lost database and "
                     "would be read into the new one: move it (and %s-shm) "
                     "out of the directory, then run with --init again",
                     dd->path, s->db_left, DATADIR_DB_FILE);
    if (use == DATADIR_SERVE_INIT)
      return 0; /* a new, empty log over the existing blobs */
    if (use == DATADIR_OPERATE)
      return err_set(e, UV_ENOENT, "no database at %s/%s (missing or empty) "
                     "though the directory was initialised: restore it from "
                     "a backup (docs/OPERATOR.md, Recovery)", dd->path,
                     DATADIR_DB_FILE);
    return err_set(e, UV_ENOENT, "database %s/%s is missing or empty, but "
                   "the directory was initialised (it holds %s): starting "
                   "would lose the history and begin a new chain. Restore "
                   "the database from a backup (docs/OPERATOR.md, "
                   "Recovery), or run once with --init to start a new empty "
                   "log over the existing blobs%s", dd->path, DATADIR_DB_FILE,
                   DATADIR_MARKER_FILE,
                   dd_blobs_stored(dd->fd)
                       ? ""
                       : " (no blob is stored: if the first start was cut "
                         "short, nothing was lost and --init is safe)");
  }
  if (s->empty) {
    if (use == DATADIR_OPERATE)
      return err_set(e, UV_ENOENT, "%s holds no artifactstored data (no %s, "
                     "no database): is --data right?", dd->path,
                     DATADIR_MARKER_FILE);
    return dd_marker_write(dd, e); /* first start */
  }
  if (s->db_sqlite) { /* a store made before markers existed */
    if (use == DATADIR_OPERATE)
      return 0;
    if (use == DATADIR_SERVE_INIT)
      return dd_marker_write(dd, e);
    return err_set(e, UV_ENOTEMPTY, "%s holds %s but no %s: it looks like a "
                   "data directory made by an older artifactstored. Run once "
                   "with --init to adopt it (that writes %s; nothing else "
                   "changes)", dd->path, DATADIR_DB_FILE, DATADIR_MARKER_FILE,
                   DATADIR_MARKER_FILE);
  }
  return err_set(e, UV_ENOTEMPTY, "%s is not empty (it holds \"%s\") and has "
                 "no %s, so it is not an artifactstored data directory; "
                 "nothing in it was touched. Choose a new or empty directory "
                 "for --data%s", dd->path, s->other, DATADIR_MARKER_FILE,
                 s->blobs ? " (if it is a store whose database was lost, "
                            "restore " DATADIR_DB_FILE " from a backup first)"
                          : "");
}

int datadir_open(const char *dir, enum datadir_use use, struct datadir *dd,
                 struct errbuf *e) {
  struct dd_scan s;
  struct stat st, locked;
  int rc;

  memset(dd, 0, sizeof *dd);
  dd->fd = -1;
  if (dir == NULL || dir[0] == '\0')
    return err_set(e, UV_EINVAL, "no data directory given; pass --data DIR");
  if (stat(dir, &st) != 0) {
    if (errno != ENOENT)
      return err_set(e, -errno, "cannot use data directory %s: %s", dir,
                     strerror(errno));
    if (use == DATADIR_OPERATE)
      return err_set(e, UV_ENOENT, "data directory %s does not exist: is "
                     "--data right?", dir);
    if ((rc = dd_create(dir, e)) != 0)
      return rc;
  } else if (!S_ISDIR(st.st_mode)) {
    return err_set(e, UV_ENOTDIR, "%s is not a directory: choose another "
                   "--data path", dir);
  }
  if ((rc = dd_lock(dir, dd, e)) != 0)
    return rc;
  if (realpath(dir, dd->path) == NULL) {
    rc = err_set(e, -errno, "cannot resolve data directory %s: %s", dir,
                 strerror(errno));
    goto fail;
  }
  /* The path we report and work under must be the directory we locked
   * (a symbolic link swapped in between would split them). */
  if (stat(dd->path, &st) != 0 || fstat(dd->fd, &locked) != 0 ||
      st.st_dev != locked.st_dev || st.st_ino != locked.st_ino) {
    rc = err_set(e, UV_EAGAIN, "data directory %s changed while it was "
                 "being opened (a symbolic link replaced?): start again",
                 dir);
    goto fail;
  }
  if ((rc = dd_scan(dd, &s, e)) != 0)
    goto fail;
  if ((rc = dd_decide(dd, &s, use, e)) != 0)
    goto fail;
  return 0;
fail:
  datadir_close(dd);
  return rc;
}

void datadir_close(struct datadir *dd) {
  if (dd->fd >= 0)
    close(dd->fd); /* releases the flock */
  dd->fd = -1;
}
