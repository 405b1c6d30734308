/*
 * local_int.h: what the files of the local blob backend share.  store.c
 * owns the store (open, close) and the ops table; ingest.c owns ingest;
 * serve.c owns readers, verify, delete and health; list.c enumerates;
 * trash.c moves collected blobs to trash/ and empties it.
 * Private to those files.
 */
#ifndef AS_BLOB_LOCAL_INT_H
#define AS_BLOB_LOCAL_INT_H

#include <limits.h>

#include "store/blob/blob_impl.h"

#define LOCAL_DIR_MODE 0750
/* A temp file in tmp/ is named by this many random bytes in lowercase hex
 * (ingest.c); start-up removes only names of that form (store.c). */
#define LOCAL_TMP_NAME_BYTES 16

struct local_store {
  struct blob_store base;
  char *root;       /* <data>/blobs */
  char *blobs_dir;  /* <data>/blobs/blake3 */
  char *tmp_dir;    /* <data>/tmp */
  char *trash_dir;  /* <data>/trash */
  int tmp_fd;       /* held for the fstatvfs precheck */
  int fail_next;    /* test hook: injected error for the next write */
  int fail_next_hash; /* test hook: injected error for the next hash */
};

static inline struct local_store *blob_local_store(struct blob_store *s) {
  return container_of(s, struct local_store, base);
}

/* open(O_DIRECTORY) + fsync(2) of dir: 0 or -errno.  Blocking: for pool
 * jobs, and for open before the loop runs. */
int blob_local_fsync_path(const char *dir);

/* <data>/blobs/blake3/<hex[0:2]>/<hex[2:4]>/<hex>: from the digest only. */
void blob_local_path(const struct local_store *s,
                     const uint8_t blake3[DIGEST_LEN], char out[PATH_MAX]);

/* ingest.c: the ingest half of the ops table. */
int blob_local_ingest_start(struct blob_store *bs, uint64_t expected_size,
                            struct blob_ingest **out, struct errbuf *e);
int blob_local_ingest_write(struct blob_ingest *bi, const void *data,
                            size_t len, blob_write_cb cb, void *arg);
int blob_local_ingest_write_take(struct blob_ingest *bi, void *buf,
                                 size_t len, blob_write_cb cb, void *arg);
void *blob_local_ingest_reclaim(struct blob_ingest *bi);
int blob_local_ingest_finish(struct blob_ingest *bi,
                             const struct blob_info *expected,
                             blob_commit_cb cb, void *arg);
void blob_local_ingest_abort(struct blob_ingest *bi);
int blob_local_ingest_keep(struct blob_ingest *bi);
int blob_local_ingest_settle(struct blob_ingest *bi, bool ensure,
                             blob_status_cb cb, void *arg);

/* serve.c: the reading and maintenance half. */
int blob_local_reader_open(struct blob_store *bs,
                           const uint8_t blake3[DIGEST_LEN], blob_open_cb cb,
                           void *arg);
int blob_local_reader_read(struct blob_reader *br, uint64_t off, void *buf,
                           size_t len, blob_read_cb cb, void *arg);
void blob_local_reader_close(struct blob_reader *br);
int blob_local_stat(struct blob_store *bs, const uint8_t blake3[DIGEST_LEN],
                    blob_stat_cb cb, void *arg);
int blob_local_verify(struct blob_store *bs, const struct blob_info *want,
                      blob_verify_cb cb, void *arg);
int blob_local_delete(struct blob_store *bs, const uint8_t blake3[DIGEST_LEN],
                      blob_status_cb cb, void *arg);
int blob_local_health(struct blob_store *bs, blob_health_cb cb, void *arg);

/* list.c: enumeration of the stored blobs. */
int blob_local_list(struct blob_store *bs, blob_list_cb cb, void *arg);

/* trash.c: collected blobs. */
int blob_local_trash(struct blob_store *bs, const uint8_t blake3[DIGEST_LEN],
                     int64_t tag, blob_status_cb cb, void *arg);
int blob_local_trash_empty(struct blob_store *bs, int64_t older_than,
                           blob_trash_cb cb, void *arg);

#endif
