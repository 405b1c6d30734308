/*
 * blob.c: the blob store SPI (blob.h).  Checks arguments, dispatches to
 * the backend's struct blob_ops (blob_impl.h) and holds the bookkeeping
 * every backend shares: the in-flight counter and the meaning of
 * "expected" digests.  No I/O happens here.
 */
#include "store/blob/blob_impl.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void blob_store_init(struct blob_store *s, const struct blob_ops *ops,
                     uv_loop_t *loop) {
  s->ops = ops;
  s->loop = loop;
  s->live = 0;
}

void blob_store_hold(struct blob_store *s) {
  s->live++;
}

void blob_store_release(struct blob_store *s) {
  assert(s->live > 0);
  s->live--;
}

static int digest_given(const uint8_t d[DIGEST_LEN]) {
  static const uint8_t zero[DIGEST_LEN];

  return memcmp(d, zero, DIGEST_LEN) != 0;
}

int blob_expected_check(const struct blob_info *expected,
                        const struct blob_info *got) {
  if (expected == NULL)
    return 0;
  if (expected->size != BLOB_SIZE_UNKNOWN && expected->size != got->size)
    return UV_EBADMSG;
  if (digest_given(expected->digests.blake3) &&
      memcmp(expected->digests.blake3, got->digests.blake3, DIGEST_LEN) != 0)
    return UV_EBADMSG;
  if (digest_given(expected->digests.sha256) &&
      memcmp(expected->digests.sha256, got->digests.sha256, DIGEST_LEN) != 0)
    return UV_EBADMSG;
  return 0;
}

void blob_store_close(struct blob_store *s) {
  if (s == NULL)
    return;
  assert(s->live == 0);
  s->ops->store_close(s);
}

int blob_ingest_start(struct blob_store *s, uint64_t expected_size,
                      struct blob_ingest **out, struct errbuf *e) {
  if (s == NULL || out == NULL)
    return err_set(e, UV_EINVAL, "blob_ingest_start: no store");
  *out = NULL;
  return s->ops->ingest_start(s, expected_size, out, e);
}

int blob_ingest_write(struct blob_ingest *in, const void *data, size_t len,
                      blob_write_cb cb, void *arg) {
  if (in == NULL || cb == NULL || (data == NULL && len > 0))
    return UV_EINVAL;
  return in->store->ops->ingest_write(in, data, len, cb, arg);
}

int blob_ingest_write_take(struct blob_ingest *in, void *buf, size_t len,
                           blob_write_cb cb, void *arg) {
  int rc;

  if (in == NULL || cb == NULL || (buf == NULL && len > 0)) {
    free(buf);
    return UV_EINVAL;
  }
  if (in->store->ops->ingest_write_take != NULL)
    return in->store->ops->ingest_write_take(in, buf, len, cb, arg);
  rc = in->store->ops->ingest_write(in, buf, len, cb, arg);
  free(buf); /* copied, or refused */
  return rc;
}

void *blob_ingest_reclaim(struct blob_ingest *in) {
  if (in == NULL || in->store->ops->ingest_reclaim == NULL)
    return NULL;
  return in->store->ops->ingest_reclaim(in);
}

int blob_ingest_finish(struct blob_ingest *in, const struct blob_info *expected,
                       blob_commit_cb cb, void *arg) {
  if (in == NULL || cb == NULL)
    return UV_EINVAL;
  return in->store->ops->ingest_finish(in, expected, cb, arg);
}

void blob_ingest_abort(struct blob_ingest *in) {
  if (in != NULL)
    in->store->ops->ingest_abort(in);
}

int blob_ingest_keep(struct blob_ingest *in) {
  if (in == NULL)
    return UV_EINVAL;
  if (in->store->ops->ingest_keep == NULL)
    return UV_ENOTSUP;
  return in->store->ops->ingest_keep(in);
}

int blob_ingest_settle(struct blob_ingest *in, bool ensure, blob_status_cb cb,
                       void *arg) {
  if (in == NULL || cb == NULL || in->store->ops->ingest_settle == NULL)
    return UV_EINVAL; /* a backend without keep has no kept ingest */
  return in->store->ops->ingest_settle(in, ensure, cb, arg);
}

int blob_reader_open(struct blob_store *s, const uint8_t blake3[DIGEST_LEN],
                     blob_open_cb cb, void *arg) {
  if (s == NULL || blake3 == NULL || cb == NULL)
    return UV_EINVAL;
  return s->ops->reader_open(s, blake3, cb, arg);
}

int blob_reader_read(struct blob_reader *r, uint64_t off, void *buf, size_t len,
                     blob_read_cb cb, void *arg) {
  if (r == NULL || cb == NULL || (buf == NULL && len > 0))
    return UV_EINVAL;
  return r->store->ops->reader_read(r, off, buf, len, cb, arg);
}

void blob_reader_close(struct blob_reader *r) {
  if (r != NULL)
    r->store->ops->reader_close(r);
}

int blob_stat(struct blob_store *s, const uint8_t blake3[DIGEST_LEN],
              blob_stat_cb cb, void *arg) {
  if (s == NULL || blake3 == NULL || cb == NULL)
    return UV_EINVAL;
  return s->ops->stat(s, blake3, cb, arg);
}

int blob_verify(struct blob_store *s, const struct blob_info *want,
                blob_verify_cb cb, void *arg) {
  if (s == NULL || want == NULL || cb == NULL)
    return UV_EINVAL;
  return s->ops->verify(s, want, cb, arg);
}

int blob_list(struct blob_store *s, blob_list_cb cb, void *arg) {
  if (s == NULL || cb == NULL)
    return UV_EINVAL;
  if (s->ops->list == NULL)
    return UV_ENOTSUP;
  return s->ops->list(s, cb, arg);
}

int blob_delete(struct blob_store *s, const uint8_t blake3[DIGEST_LEN],
                blob_status_cb cb, void *arg) {
  if (s == NULL || blake3 == NULL || cb == NULL)
    return UV_EINVAL;
  return s->ops->remove(s, blake3, cb, arg);
}

int blob_health(struct blob_store *s, blob_health_cb cb, void *arg) {
  if (s == NULL || cb == NULL)
    return UV_EINVAL;
  return s->ops->health(s, cb, arg);
}

int blob_trash(struct blob_store *s, const uint8_t blake3[DIGEST_LEN],
               int64_t tag, blob_status_cb cb, void *arg) {
  if (s == NULL || blake3 == NULL || cb == NULL || tag < 0)
    return UV_EINVAL;
  if (s->ops->trash == NULL)
    return UV_ENOTSUP;
  return s->ops->trash(s, blake3, tag, cb, arg);
}

int blob_trash_empty(struct blob_store *s, int64_t older_than,
                     blob_trash_cb cb, void *arg) {
  if (s == NULL || cb == NULL)
    return UV_EINVAL;
  if (s->ops->trash_empty == NULL)
    return UV_ENOTSUP;
  return s->ops->trash_empty(s, older_than, cb, arg);
}
