/*
 * upload_answer.c: the answers of an upload (files.c) that say what
 * became of the bytes: a blob store failure, a duplicate path, the same
 * file again.
 */
#include <stdio.h>

#include "handlers/internal.h"
#include "handlers/upload_answer.h"
#include "store/codec/caddr.h"

/* A failure of the blob store, with its cause: a full disk and I/O
 * errors also make /health report failing writes (fence.c; app NULL: do
 * not); running out of descriptors is transient. */
void upload_blob_problem(struct app *app, struct conn *c,
                                int status) {
  if (status == UV_EMFILE || status == UV_ENFILE) {
    http_problem_with(c, PROB_OUT_OF_DESCRIPTORS, "Retry-After: 1\r\n",
                      "the daemon ran out of file descriptors for this "
                      "upload (%s); nothing was stored: retry",
                      uv_strerror(status));
    return;
  }
  if (app != NULL && status != UV_ENOMEM && status != UV_ECANCELED)
    fence_write_failed(app, status, "storing a blob failed: %s",
                       uv_strerror(status));
  if (status == UV_ENOSPC)
    http_problem(c, PROB_INSUFFICIENT_STORAGE,
                 "the disk holding the blob store is full; nothing was "
                 "stored: free space, then retry");
  else
    http_problem(c, PROB_BLOB_STORE_UNAVAILABLE,
                 "storing the blob failed (%s); nothing was stored",
                 uv_strerror(status));
}

/* 409 duplicate-path naming the file that is there (RFC 9457 extension
 * members), so a client can tell whether its earlier try got through. */
void upload_duplicate(struct conn *c, const struct file_rec *f,
                             const char *why) {
  char b3[CADDR_BUFSIZE], s2[CADDR_BUFSIZE], id[UUID_STRLEN + 1];

  caddr_format_raw(CADDR_BLAKE3, f->digests.blake3, b3);
  caddr_format_raw(CADDR_SHA256, f->digests.sha256, s2);
  uuid_format(&f->id, id);
  http_problem_members(c, PROB_DUPLICATE_PATH,
                       json_pack("{s:s, s:s, s:s, s:I}", "file_id", id,
                                 "blake3", b3, "sha256", s2, "size",
                                 (json_int_t)f->size),
                       "the package already has a file at this path (%s, "
                       "%llu bytes)%s; nothing was stored",
                       b3, (unsigned long long)f->size, why);
}

/* The same bytes again at the same path: 200 with the file as it is. */
void upload_same(struct conn *c, const struct file_rec *f) {
  char id[UUID_STRLEN + 1], extra[160];

  uuid_format(&f->id, id);
  snprintf(extra, sizeof extra, "Content-Location: /v1/files/%s\r\n", id);
  handlers_respond_json(c, 200, handlers_file_json(f), extra);
}
