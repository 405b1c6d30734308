/*
 * datadir.h: the data directory: the names inside it, and its lock.  The
 * daemon and the operator commands (--replay, --verify-log) each take an
 * exclusive flock on <data>/lock for as long as they run, so they never
 * work on the same database at once.  (The blob store keeps blobs/ and
 * tmp/ itself: store/blob/blob.h.)
 */
#ifndef AS_DATADIR_H
#define AS_DATADIR_H

#include <stddef.h>

#include "util/common.h"

#define DATADIR_LOCK_FILE "lock"
#define DATADIR_DB_FILE "artifactstore.db" /* the event log and views */

/* Creates dir if missing, then takes the lock without waiting.  0 with *fd
 * holding it; UV_EBUSY (with a message naming the holder's lock file) when
 * another process holds it; other errors with a message. */
int datadir_lock(const char *dir, int *fd, struct errbuf *e);
void datadir_unlock(int fd);
/* "<dir>/<name>" into out.  UV_ENAMETOOLONG when it does not fit. */
int datadir_path(const char *dir, const char *name, char *out, size_t size,
                 struct errbuf *e);

#endif
