/*
 * blobrefs.h: the blobs the views reference and the files that use them,
 * for `--verify-log --blobs`.  Unlike query.h these run on the calling
 * thread (an operator command, never the daemon's loop), through one
 * read-only connection inside one read transaction, so every answer comes
 * from the same snapshot of the views.
 */
#ifndef AS_BLOBREFS_H
#define AS_BLOBREFS_H

#include <stddef.h>
#include <stdint.h>

#include "store/codec/digest.h"
#include "store/codec/uuid.h"
#include "util/common.h"

struct blobrefs; /* a read-only connection and its read transaction */

/* A blob the views reference: a `blobs` row with files using it. */
struct blob_ref {
  struct digest_pair digests;
  uint64_t size;
};

/* Called once per file using a blob; path is valid during the call only.
 * Return nonzero to stop. */
typedef int (*blobrefs_user_fn)(const struct uuid *package_id,
                                const char *path, void *arg);

int blobrefs_open(const char *location, struct blobrefs **out,
                  struct errbuf *e);
void blobrefs_close(struct blobrefs *r);
/* Every referenced blob, sorted by BLAKE3 digest (memcmp order), into a
 * malloc'ed array the caller frees. */
int blobrefs_all(struct blobrefs *r, struct blob_ref **out, size_t *count,
                 struct errbuf *e);
/* The files using the blob named blake3, by package id and path. */
int blobrefs_users(struct blobrefs *r, const uint8_t blake3[DIGEST_LEN],
                   blobrefs_user_fn fn, void *arg, struct errbuf *e);

#endif
