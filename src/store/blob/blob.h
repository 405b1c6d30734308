/*
 * blob.h: the blob store SPI (DESIGN.md invariant 5).
 *
 * Handlers and the registry talk to this interface only; no handler builds
 * or touches a blob path.  The local filesystem is the first backend
 * (blob_store_open_local); an S3-compatible one can follow behind the same
 * calls.  Blobs are named by BLAKE3 digest only: the store derives every
 * path itself, so client input can never reach the filesystem.
 *
 * All calls are made on the loop thread and complete on the loop thread
 * through their callback.  Disk I/O and hashing run on the uv threadpool.
 * Ingest takes one piece at a time, copied (blob_ingest_write) or handed
 * over without a copy (blob_ingest_write_take, then blob_ingest_reclaim to
 * reuse the buffer); the local backend hashes and writes a piece on two
 * pool jobs side by side, so an upload uses at most two pool threads.
 *
 * Local layout:
 *   <data>/blobs/blake3/<hex[0:2]>/<hex[2:4]>/<hex>   immutable blob files
 *   <data>/tmp/<random>                               uploads in progress,
 *                                                     and kept names
 *                                                     (blob_ingest_keep)
 *   <data>/trash/<hex>.<tag>                          collected blobs
 *                                                     (blob_trash)
 * A blob is written to tmp/, fsynced, renamed into place and its directory
 * fsynced.  When the blob already exists, the new copy (hashed on the way
 * in) replaces it: an existing file is never trusted, so an upload of the
 * same bytes heals a damaged one.
 */
#ifndef AS_BLOB_H
#define AS_BLOB_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "util/common.h"
#include "store/codec/digest.h"

#define BLOB_SIZE_UNKNOWN UINT64_MAX

/* libuv < 1.46 has no UV_EBADMSG; its value there is -EBADMSG on Unix. */
#ifndef UV_EBADMSG
#define UV_EBADMSG (-EBADMSG)
#endif

struct blob_store;
struct blob_ingest;
struct blob_reader;

struct blob_info {
  struct digest_pair digests;
  uint64_t size;
  int existed; /* 1 when a file for these bytes was already stored (it
                * is replaced by the verified new copy: dedupe) */
};

/* One stored blob, as blob_list finds it. */
struct blob_entry {
  uint8_t blake3[DIGEST_LEN]; /* the name it is stored under */
  uint64_t size;              /* bytes on disk */
  int64_t mtime;              /* last modification, seconds since the
                               * epoch: when it was (re)placed */
};

/* What blob_trash_empty removed and what it left in the trash. */
struct blob_trash_stats {
  uint64_t removed, removed_bytes; /* entries removed, their bytes */
  uint64_t files, bytes;           /* entries left, their bytes */
};

/* Opens (creating when needed) the local backend rooted at data_dir and
 * removes leftovers in <data>/tmp: our temp files only.  0 with e->msg
 * set (a warning; clear it before) when tmp/ holds anything else, which
 * is left alone.  Synchronous: call before the loop runs. */
int blob_store_open_local(uv_loop_t *loop, const char *data_dir,
                          struct blob_store **out, struct errbuf *e);
/* Closes the store; every ingest, reader and request must have completed. */
void blob_store_close(struct blob_store *s);

/* --- ingest: a stream of chunks, hashed and written on the threadpool --- */

typedef void (*blob_write_cb)(struct blob_ingest *in, int status, void *arg);
typedef void (*blob_commit_cb)(struct blob_ingest *in, int status,
                               const struct blob_info *info, void *arg);

/* Starts an upload.  expected_size may be BLOB_SIZE_UNKNOWN; when it is
 * known and larger than the free space, fails with UV_ENOSPC before
 * writing anything. */
int blob_ingest_start(struct blob_store *s, uint64_t expected_size,
                      struct blob_ingest **out, struct errbuf *e);
/* Queues len bytes.  The bytes are copied, so the caller may reuse data at
 * once.  At most one write may be pending; cb runs when it is hashed and on
 * disk (status 0) or failed.  A failed ingest must still be aborted. */
int blob_ingest_write(struct blob_ingest *in, const void *data, size_t len,
                      blob_write_cb cb, void *arg);
/* Like blob_ingest_write, but hands buf over instead of copying it: buf
 * must come from malloc() and belongs to the store from this call on,
 * whatever it returns (also on UV_EBUSY or an error).  The caller must
 * not touch it again unless blob_ingest_reclaim gives it back; the store
 * frees it otherwise.  buf may be NULL when len is 0. */
int blob_ingest_write_take(struct blob_ingest *in, void *buf, size_t len,
                           blob_write_cb cb, void *arg);
/* Gives back the buffer of the last blob_ingest_write_take once that
 * write has completed (typically from its callback), so a caller can
 * fill it again instead of allocating: ownership returns to the caller.
 * NULL when there is none (already reclaimed, or a write is pending). */
void *blob_ingest_reclaim(struct blob_ingest *in);
/* Finishes: final digests, fsync, rename into place (or drop as duplicate),
 * fsync directory.  When expected (non-NULL) is given, the digests are
 * compared first and a mismatch fails with UV_EBADMSG, storing nothing.
 * In expected, a digest that is all zero bytes and a size of
 * BLOB_SIZE_UNKNOWN mean "not given" and are not compared; `existed` is
 * ignored.  cb gets info with the digests and size actually received
 * (also on UV_EBADMSG, for the error message).  After cb (any status) the
 * ingest is released.  Returns UV_EBUSY while a write is pending, or the
 * write error when the ingest has failed (then abort it). */
int blob_ingest_finish(struct blob_ingest *in, const struct blob_info *expected,
                       blob_commit_cb cb, void *arg);
/* Drops an unfinished upload: waits for the pending write, removes the temp
 * file and releases the ingest.  Never fails; the caller forgets `in`.
 * The pending write's callback is not called after an abort.  Also after
 * blob_ingest_keep (no kept name exists before finish); not after a
 * finish (a kept ingest is settled instead). */
void blob_ingest_abort(struct blob_ingest *in);

typedef void (*blob_status_cb)(int status, void *arg);

/* Asks a later successful blob_ingest_finish to keep a second name of
 * the stored bytes (a hard link, made before the rename into place, in
 * the backend's temp area, named like a temp file, so the clean-up at
 * open removes it after a crash) and NOT to release the ingest after
 * the commit callback: the caller must then call blob_ingest_settle
 * exactly once (from the commit callback or later).  For uploads whose
 * registry commit may race a collection of the same blob.  Call before
 * blob_ingest_finish, at most once; a write may be pending.  A failed
 * finish (any status != 0 in the commit callback) releases the ingest
 * as without keep and leaves no kept name.  0, UV_EBUSY once finish was
 * called, the write error when the ingest has failed (then abort it), or
 * UV_ENOTSUP when the backend cannot keep. */
int blob_ingest_keep(struct blob_ingest *in);
/* Ends a kept ingest (after a successful finish with blob_ingest_keep),
 * on the threadpool.  ensure true: when the blob file is missing from its
 * place (collected meanwhile), links the kept copy into place (creating
 * the fan-out directories) and fsyncs the blob's directory; status 0
 * when the blob is in place afterwards, an error otherwise.  ensure
 * false: status 0, the blob file is not looked at.  Either way the kept
 * name is then removed and the ingest released; cb gets the status on
 * the loop thread, and `in` is gone after it.  Returns 0, or UV_EINVAL
 * (nothing done) when `in` is not a finished kept ingest or cb is NULL. */
int blob_ingest_settle(struct blob_ingest *in, bool ensure, blob_status_cb cb,
                       void *arg);

/* --- serve: byte ranges of a stored blob --- */

typedef void (*blob_open_cb)(struct blob_reader *r, int status, uint64_t size,
                             void *arg);
typedef void (*blob_read_cb)(struct blob_reader *r, ssize_t nread, void *arg);

/* Opens the blob named by its BLAKE3 digest; UV_ENOENT when absent. On
 * failure cb gets r == NULL. */
int blob_reader_open(struct blob_store *s, const uint8_t blake3[DIGEST_LEN],
                     blob_open_cb cb, void *arg);
/* Reads up to len bytes at off into buf (owned by the caller until cb). */
int blob_reader_read(struct blob_reader *r, uint64_t off, void *buf, size_t len,
                     blob_read_cb cb, void *arg);
/* Closes the reader once no read is pending. */
void blob_reader_close(struct blob_reader *r);

/* status 0 with the size on disk, or an error with BLOB_SIZE_UNKNOWN. */
typedef void (*blob_stat_cb)(int status, uint64_t size, void *arg);

/* Says whether the blob named by its BLAKE3 digest could be opened for
 * reading now, and its size on disk, without opening it: for answers
 * that send no bytes (HEAD, 304, 416), so they fail exactly when a
 * reader would (UV_ENOENT when absent, UV_EACCES when unreadable,
 * UV_EINVAL when not a regular file) at a fraction of the cost.  The
 * size is what is stored, right or wrong: comparing it is the caller's. */
int blob_stat(struct blob_store *s, const uint8_t blake3[DIGEST_LEN],
              blob_stat_cb cb, void *arg);

/* --- maintenance --- */

typedef void (*blob_health_cb)(int status, uint64_t free_bytes, void *arg);
/* found: the size on disk (BLOB_SIZE_UNKNOWN when absent) and, when the
 * bytes were read to the end, both digests (zero otherwise). */
typedef void (*blob_verify_cb)(int status, const struct blob_info *found,
                               void *arg);
/* One batch of stored blobs, in no particular order (entries valid during
 * the call only).  last is true on the final call, which may carry no
 * entries; status != 0 (then last) when listing failed.  Return nonzero to
 * stop early: no further call comes. */
typedef int (*blob_list_cb)(int status, const struct blob_entry *entries,
                            size_t n, bool last, void *arg);

/* Rehashes the stored bytes of want->digests.blake3 with both digests:
 * 0 when they match want (sha256 and size are compared when given, as in
 * blob_ingest_finish's expected), UV_EBADMSG when the stored bytes differ
 * (damaged: wrong size or content), UV_ENOENT when absent. */
int blob_verify(struct blob_store *s, const struct blob_info *want,
                blob_verify_cb cb, void *arg);
/* Enumerates every stored blob, in batches, off the loop thread: for
 * scrubs and the orphan report of --verify-log --blobs.  Names that are
 * not of the store's own form are skipped. */
int blob_list(struct blob_store *s, blob_list_cb cb, void *arg);
/* Removes a blob (0, or UV_ENOENT). */
int blob_delete(struct blob_store *s, const uint8_t blake3[DIGEST_LEN],
                blob_status_cb cb, void *arg);
/* Free bytes for blobs; status != 0 when the data directory is unusable. */
int blob_health(struct blob_store *s, blob_health_cb cb, void *arg);

/* --- trash: where collected blobs wait before they are removed --- */

/* st (valid during the call only) is all zero when status != 0. */
typedef void (*blob_trash_cb)(int status, const struct blob_trash_stats *st,
                              void *arg);

/* Moves the blob file named by blake3 into the trash, off the loop
 * thread: local backend: renames it to <data>/trash/<hex>.<tag>
 * (replacing an entry of that very name), sets its modification time to
 * now, so the trash TTL counts from the move, and fsyncs trash/ and the
 * blob's directory.  tag (>= 0, else UV_EINVAL) is the sequence of the
 * event that collected the blob.  Status 0; UV_ENOENT when the blob file
 * is absent (nothing moved); another error when the move or what follows
 * it failed (the file may then be in the trash already).  Fan-out
 * directories are left in place. */
int blob_trash(struct blob_store *s, const uint8_t blake3[DIGEST_LEN],
               int64_t tag, blob_status_cb cb, void *arg);
/* Removes, off the loop thread, the trash entries (regular files named
 * <64 lowercase hex>.<decimal tag>; anything else is neither removed nor
 * counted) whose modification time is <= older_than (seconds since the
 * epoch; INT64_MIN removes nothing and only counts), and reports what it
 * removed and what is left: st->files and st->bytes also serve the trash
 * figures of GET /v1/stats. */
int blob_trash_empty(struct blob_store *s, int64_t older_than,
                     blob_trash_cb cb, void *arg);

#endif
