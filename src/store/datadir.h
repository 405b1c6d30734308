/*
 * datadir.h: the data directory: whether it is ours, its marker, its
 * lock, and the names inside it.  (The blob store keeps blobs/ and tmp/
 * itself: store/blob/blob.h.)
 *
 * A directory is ours only when it holds the marker DATADIR_MARKER_FILE,
 * one JSON line written once, when the directory is initialised:
 *
 *   {"format":"artifactstored-data","format_version":1,
 *    "store_id":"<uuid>","created_at":"<RFC 3339 UTC>"}
 *
 * The daemon and the operator commands (--replay, --verify-log) each hold
 * an exclusive flock on the directory itself for as long as they run, so
 * they never work on the same database at once; deleting a file cannot
 * release it.  The lock is taken before anything in the directory is
 * read, created or removed; nothing is created in a directory that is
 * refused.  docs/OPERATOR.md lists every refusal and how to recover.
 */
#ifndef AS_DATADIR_H
#define AS_DATADIR_H

#include <stdbool.h>
#include <stddef.h>

#include "util/common.h"
#include "store/codec/uuid.h"

#define DATADIR_MARKER_FILE "artifactstored.id"
#define DATADIR_DB_FILE "artifactstore.db" /* the event log and views */
#define DATADIR_FORMAT "artifactstored-data"
#define DATADIR_FORMAT_VERSION 1
#define DATADIR_PATH_MAX 4096

enum datadir_use {
  /* The daemon: a missing or empty directory is initialised (first
   * start); a marked one must hold its database. */
  DATADIR_SERVE,
  /* The daemon with --init: also adopts a store made before markers
   * existed, and accepts a marked directory whose database is missing or
   * empty (a new, empty log over the existing blobs).  Never makes a
   * foreign, non-empty directory ours. */
  DATADIR_SERVE_INIT,
  /* --replay, --verify-log: an existing store with its database; nothing
   * is created. */
  DATADIR_OPERATE,
};

struct datadir {
  int fd;                              /* the directory, locked; or -1 */
  char path[DATADIR_PATH_MAX];         /* absolute */
  char store_id[UUID_STRLEN + 1];      /* "" for a store without marker */
  bool created;                        /* this open wrote the marker */
};

/* Decides whether dir may be used as use asks, locks it, and initialises
 * it when the rules above say so.  0 with *dd filled; UV_EBUSY when
 * another process holds the lock; other errors with a message saying
 * what to do (the directory is then left as it was found). */
int datadir_open(const char *dir, enum datadir_use use, struct datadir *dd,
                 struct errbuf *e);
/* Releases the lock. */
void datadir_close(struct datadir *dd);
/* "<dir>/<name>" into out.  UV_ENAMETOOLONG when it does not fit. */
int datadir_path(const char *dir, const char *name, char *out, size_t size,
                 struct errbuf *e);

#endif
