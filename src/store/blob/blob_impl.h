/*
 * blob_impl.h: what a blob store backend fills in (internal to src/store).
 *
 * blob.c owns the public entry points of blob.h: it checks arguments and
 * dispatches through the backend's struct blob_ops.  A backend embeds
 * struct blob_store, struct blob_ingest and struct blob_reader as the first
 * member of its own structs and keeps everything else private.  The
 * `live` counter is the shared bookkeeping: backends hold one count per
 * ingest, reader and request in flight, so blob_store_close can assert
 * that nothing outlives the store.
 */
#ifndef AS_BLOB_IMPL_H
#define AS_BLOB_IMPL_H

#include "store/blob/blob.h"

struct blob_ops {
  void (*store_close)(struct blob_store *s);
  int (*ingest_start)(struct blob_store *s, uint64_t expected_size,
                      struct blob_ingest **out, struct errbuf *e);
  int (*ingest_write)(struct blob_ingest *in, const void *data, size_t len,
                      blob_write_cb cb, void *arg);
  /* Optional, both: without them blob.c copies through ingest_write and
   * nothing is reclaimed. */
  int (*ingest_write_take)(struct blob_ingest *in, void *buf, size_t len,
                           blob_write_cb cb, void *arg);
  void *(*ingest_reclaim)(struct blob_ingest *in);
  int (*ingest_finish)(struct blob_ingest *in,
                       const struct blob_info *expected, blob_commit_cb cb,
                       void *arg);
  void (*ingest_abort)(struct blob_ingest *in);
  /* Optional, all four: without them the calls fail with UV_ENOTSUP. */
  int (*ingest_keep)(struct blob_ingest *in);
  int (*ingest_settle)(struct blob_ingest *in, bool ensure, blob_status_cb cb,
                       void *arg);
  int (*trash)(struct blob_store *s, const uint8_t blake3[DIGEST_LEN],
               int64_t tag, blob_status_cb cb, void *arg);
  int (*trash_empty)(struct blob_store *s, int64_t older_than,
                     blob_trash_cb cb, void *arg);
  int (*reader_open)(struct blob_store *s, const uint8_t blake3[DIGEST_LEN],
                     blob_open_cb cb, void *arg);
  int (*reader_read)(struct blob_reader *r, uint64_t off, void *buf,
                     size_t len, blob_read_cb cb, void *arg);
  void (*reader_close)(struct blob_reader *r);
  int (*stat)(struct blob_store *s, const uint8_t blake3[DIGEST_LEN],
              blob_stat_cb cb, void *arg);
  int (*verify)(struct blob_store *s, const struct blob_info *want,
                blob_verify_cb cb, void *arg);
  int (*list)(struct blob_store *s, blob_list_cb cb, void *arg);
  int (*remove)(struct blob_store *s, const uint8_t blake3[DIGEST_LEN],
                blob_status_cb cb, void *arg);
  int (*health)(struct blob_store *s, blob_health_cb cb, void *arg);
};

struct blob_store {
  const struct blob_ops *ops;
  uv_loop_t *loop;
  unsigned live; /* ingests + readers + requests not yet completed */
};

struct blob_ingest {
  struct blob_store *store;
};

struct blob_reader {
  struct blob_store *store;
};

void blob_store_init(struct blob_store *s, const struct blob_ops *ops,
                     uv_loop_t *loop);
void blob_store_hold(struct blob_store *s);
void blob_store_release(struct blob_store *s);

/* Compares what was received with what the client announced (see
 * blob_ingest_finish in blob.h for which fields count as given): 0 or
 * UV_EBADMSG. */
int blob_expected_check(const struct blob_info *expected,
                        const struct blob_info *got);

#endif
