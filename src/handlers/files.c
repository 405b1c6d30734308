/*
 * files.c: PUT /v1/packages/{id}/files/{path...} (streaming upload) and
 * GET /v1/packages/{id}/files.
 *
 * An upload is checked before its body is read (path, digest headers,
 * package open, path free, enough space), which is also when
 * `Expect: 100-continue` is answered.  The body then streams into the
 * blob store with one write in flight: the connection stages the next
 * piece meanwhile and stops reading when that is full, so memory per
 * upload is two stage buffers (see UPLOAD_STAGE_MAX) whatever the size.
 * At the end the blob is made durable (checked against the digests the
 * head announced: upload_digest.h), the v1.file.ingested event is
 * committed, and only then 201.  A kept second name of the bytes puts
 * them back if a collection moved the blob away meanwhile (keep/settle;
 * docs/ARCHITECTURE.md "Retention"); every end settles it, then answers.
 * A client that goes away before the end aborts the ingest: the temp file
 * is removed and no event is written.  A path that has a file already is
 * a retry when the bytes are the same: the body is read against that
 * file's digests, and the answer is 200 with the file (nothing recorded)
 * or 409 naming it (other bytes; the blob store keeps nothing).
 * The listing is in files_list.c.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/internal.h"
#include "handlers/upload_answer.h"
#include "handlers/upload_digest.h"
#include "handlers/work.h"
#include "retention/retention.h"
#include "store/codec/caddr.h"
#include "store/codec/relpath.h"
#include "util/logq.h"

#define MEDIA_TYPE_MAX 255
/* Body bytes are staged while the previous piece is hashed and written on
 * the threadpool, so network reads and disk writes overlap.  A write is
 * issued once UPLOAD_FLUSH bytes are staged, handing the stage buffer to
 * the store (no copy) and starting a new one; reading stops at
 * UPLOAD_STAGE_MAX.  A stage is allocated once at its final size: up to
 * UPLOAD_STAGE_MAX plus one more body piece (one read, UPLOAD_READ_SLACK),
 * and taken back (blob_ingest_reclaim) once written, so an upload
 * alternates between two stages (about 2.1 MiB), the one filling and the
 * one the store is writing, without allocating per piece. */
#define UPLOAD_FLUSH (256 * 1024)
#define UPLOAD_STAGE_MAX (1024 * 1024)
#define UPLOAD_READ_SLACK (64 * 1024)

struct upload {
  struct work w; /* first: references, abort, detach (work.h) */
  struct app *app;
  const char *actor;
  struct uuid pkg;
  char *path;
  size_t path_len;
  char media[MEDIA_TYPE_MAX + 1];
  uint64_t expected_size;
  uint64_t received; /* body bytes so far */
  bool has_expected;
  struct blob_info expected;
  struct blob_ingest *in;
  struct file_rec *existing; /* the file at the path: a retry, if same */
  struct blob_ingest *kept;  /* finished, kept: settle before answering */
  void (*then)(struct upload *u, int status); /* after the settle */
  struct reg_result reg;     /* the registry's refusal (no pointers) */
  json_t *created;           /* the 201 body, once the blob is in place */
  char created_id[UUID_STRLEN + 1];
  int rc;
  struct digest_pair got;    /* what the body turned out to be */
  char *stage;
  size_t stage_len, stage_cap;
  char *spare;            /* a written stage, given back by the store */
  size_t spare_cap, out_cap; /* its size; the size of the one handed over */
  bool write_pending, body_ended, keep;
};

/* The one way an upload is freed (work.h): an unfinished ingest is
 * dropped, which removes its temp file. */
static void upload_settled_cb(int status, void *arg) {
  (void)status, (void)arg;
}

static void upload_free_cb(struct work *w) {
  struct upload *u = container_of(w, struct upload, w);

  if (u->in != NULL)
    blob_ingest_abort(u->in);
  if (u->kept != NULL) /* never: every path settles; but leak no name */
    blob_ingest_settle(u->kept, false, upload_settled_cb, NULL);
  json_decref(u->created);
  free(u->path);
  free(u->existing);
  free(u->stage);
  free(u->spare);
  free(u);
}

/* --- headers --- */

static bool upload_media_ok(const char *m) {
  size_t n = strlen(m);
  if (n == 0 || n > MEDIA_TYPE_MAX || strchr(m, '/') == NULL)
    return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)m[i] < 0x20 || (unsigned char)m[i] > 0x7e)
      return false;
  return true;
}

/* --- the steps, in order --- */

/* Every step runs with a reference held (work.h): a callback's own, or
 * the one a stream callback takes; ending the upload answers and leaves
 * the free to the last work_unref(). */

static void upload_fail_blob(struct upload *u, int status) {
  upload_blob_problem(u->app, work_end(&u->w), status);
}

static void upload_begin_body(struct upload *u) {
  struct errbuf e = {{0}};
  int rc = blob_ingest_start(u->app->blobs, u->expected_size, &u->in, &e);

  if (rc != 0) {
    u->in = NULL;
    /* no room for the announced size: refused before a byte was
     * written, the disk did not fail */
    upload_blob_problem(rc == UV_ENOSPC ? NULL : u->app, work_end(&u->w),
                        rc);
    return;
  }
  http_body_continue(u->w.c);
}

/* --- retries: the path has a file already --- */

static bool upload_digest_set(const uint8_t d[DIGEST_LEN]) {
  for (size_t i = 0; i < DIGEST_LEN; i++)
    if (d[i] != 0)
      return true;
  return false;
}

/* The path has file f: refuse at once what the head already says differs
 * (size, an announced digest), else read the body against f's digests:
 * the commit answers 200 when it is the same (upload_commit_cb). */
static void upload_retry(struct upload *u, struct file_rec *f) {
  const struct digest_pair *a = &u->expected.digests;

  if ((u->expected_size != BLOB_SIZE_UNKNOWN && u->expected_size != f->size) ||
      (upload_digest_set(a->blake3) &&
       memcmp(a->blake3, f->digests.blake3, DIGEST_LEN) != 0) ||
      (upload_digest_set(a->sha256) &&
       memcmp(a->sha256, f->digests.sha256, DIGEST_LEN) != 0)) {
    upload_duplicate(work_end(&u->w), f, "");
    free(f);
    return;
  }
  u->existing = f;
  u->expected.digests = f->digests;
  u->expected.size = f->size;
  u->has_expected = true;
  upload_begin_body(u);
}

/* If-Match and If-None-Match against the file at the path (f, or NULL
 * when there is none), RFC 9110 section 13.2.2 order; false when it
 * answered 412.  The file's entity tag is its download's: the BLAKE3
 * address. */
static bool upload_preconditions(struct upload *u, const struct file_rec *f) {
  const struct http_req *req = http_conn_req(u->w.c);
  const char *im = http_header(req, "if-match");
  const char *inm = http_header(req, "if-none-match");
  char etag[CADDR_BUFSIZE + 2], b3[CADDR_BUFSIZE];

  if (f == NULL) {
    if (im == NULL)
      return true; /* If-None-Match cannot match what does not exist */
    http_problem(work_end(&u->w), PROB_PRECONDITION_FAILED,
                 "If-Match: the package has no file at this path; nothing "
                 "was stored");
    return false;
  }
  caddr_format_raw(CADDR_BLAKE3, f->digests.blake3, b3);
  snprintf(etag, sizeof etag, "\"%s\"", b3);
  if (im != NULL && !precond_field_matches(req, "if-match", etag, true)) {
    http_problem(work_end(&u->w), PROB_PRECONDITION_FAILED,
                 "If-Match does not match the file at this path (%s); "
                 "nothing was stored",
                 etag);
    return false;
  }
  if (inm != NULL && precond_field_matches(req, "if-none-match", etag, false)) {
    http_problem(work_end(&u->w), PROB_PRECONDITION_FAILED,
                 "If-None-Match: the package already has a file at this "
                 "path (%s); nothing was stored",
                 etag);
    return false;
  }
  return true;
}

static void upload_path_cb(struct query_result *res, void *arg) {
  struct upload *u = arg;

  if (!work_live(&u->w))
    ; /* the client has gone */
  else if (res->status != 0 && res->status != UV_ENOENT)
    handlers_query_problem(work_end(&u->w), res, PROB_UNKNOWN_PACKAGE);
  else if (!upload_preconditions(u, res->status == 0 ? res->file : NULL))
    ; /* answered: 412 */
  else if (res->status == 0) {
    upload_retry(u, res->file);
    res->file = NULL;
  } else {
    upload_begin_body(u);
  }
  query_result_free(res);
  work_unref(&u->w);
}

static void upload_package_cb(struct query_result *res, void *arg) {
  struct upload *u = arg;
  int rc;

  if (!work_live(&u->w)) {
    ; /* the client has gone */
  } else if (res->status != 0) {
    handlers_query_problem(work_end(&u->w), res, PROB_UNKNOWN_PACKAGE);
  } else if (res->package->status != PKG_OPEN) {
    enum pkg_status st = res->package->status; /* 410 once gone */
    http_problem(work_end(&u->w),
                 st == PKG_EXPIRED   ? PROB_PACKAGE_EXPIRED
                 : st == PKG_ABORTED ? PROB_PACKAGE_ABORTED
                                     : PROB_PACKAGE_FINALIZED,
                 "the package is %s: it takes no more files",
                 handlers_status_name(st));
  } else {
    work_ref(&u->w);
    rc = query_file_at_path(u->app->reader, &u->pkg, u->path, upload_path_cb,
                            u);
    if (rc != 0) {
      work_unref(&u->w);
      http_problem(work_end(&u->w), PROB_DATABASE_UNAVAILABLE,
                   "cannot query: %s", uv_strerror(rc));
    }
  }
  query_result_free(res);
  work_unref(&u->w);
}

/* Another upload took the path while this body came: the same bytes are
 * the same file (200), else 409 naming it. */
static void upload_raced_cb(struct query_result *res, void *arg) {
  struct upload *u = arg;

  if (!work_live(&u->w))
    ; /* the client has gone */
  else if (res->status != 0)
    http_problem(work_end(&u->w), PROB_DUPLICATE_PATH,
                 "the package already has a file at this path");
  else if (memcmp(&res->file->digests, &u->got, sizeof u->got) == 0)
    upload_same(work_end(&u->w), res->file);
  else
    upload_duplicate(work_end(&u->w), res->file,
                     ", stored by another upload meanwhile");
  query_result_free(res);
  work_unref(&u->w);
}

/* --- the kept ingest: settled once, then the answer --- */

static void upload_settle_cb(int status, void *arg) {
  struct upload *u = arg;

  u->then(u, status);
  work_unref(&u->w);
}

/* Ends the kept ingest (ensure: put the kept copy in place when the blob
 * file is missing), then then(u, status); at once when nothing is kept
 * (a retry, or a backend that cannot keep). */
static void upload_settle(struct upload *u, bool ensure,
                          void (*then)(struct upload *u, int status)) {
  struct blob_ingest *k = u->kept;
  int rc;

  u->kept = NULL;
  if (k == NULL) {
    then(u, 0);
    return;
  }
  u->then = then;
  work_ref(&u->w);
  if ((rc = blob_ingest_settle(k, ensure, upload_settle_cb, u)) != 0) {
    work_unref(&u->w);
    then(u, rc);
  }
}

static void upload_then_fence(struct upload *u, int status) {
  (void)status;
  if (work_live(&u->w))
    fence_answer(work_end(&u->w));
}

static void upload_then_same(struct upload *u, int status) {
  (void)status;
  if (work_live(&u->w))
    upload_same(work_end(&u->w), u->existing);
}

static void upload_then_queue_failed(struct upload *u, int status) {
  (void)status;
  if (work_live(&u->w))
    http_problem(work_end(&u->w), PROB_WRITER_UNAVAILABLE,
                 "the registry is not accepting writes: %s",
                 uv_strerror(u->rc));
}

/* The registry refused (u->reg): another upload took the path while this
 * body came (then 200 or 409 naming it), or a plain refusal. */
static void upload_then_refused(struct upload *u, int status) {
  (void)status;
  if (!work_live(&u->w))
    return;
  if (u->reg.error == REG_DUPLICATE_PATH) {
    work_ref(&u->w);
    if (query_file_at_path(u->app->reader, &u->pkg, u->path, upload_raced_cb,
                           u) == 0)
      return;
    work_unref(&u->w);
  }
  handlers_reg_problem(work_end(&u->w), &u->reg);
}

static void upload_then_created(struct upload *u, int status) {
  char b3[CADDR_BUFSIZE], extra[160];

  if (status != 0) {
    caddr_format_raw(CADDR_BLAKE3, u->got.blake3, b3);
    logq_json(json_pack("{s:s, s:s, s:s, s:s}", "level", "error", "msg",
                        "cannot put a collected blob back in place",
                        "blake3", b3, "error", uv_strerror(status)));
    if (work_live(&u->w))
      http_problem(work_end(&u->w), PROB_BLOB_UNAVAILABLE,
                   "the file was recorded, but its blob %s, being collected, "
                   "could not be put back (%s): upload it again", b3,
                   uv_strerror(status));
    return;
  }
  if (work_live(&u->w)) {
    snprintf(extra, sizeof extra, "Location: /v1/files/%s\r\n",
             u->created_id);
    handlers_respond_json(work_end(&u->w), 201, u->created, extra);
    u->created = NULL;
  }
}

/* No trash move of the digest is in flight any more: the blob file is
 * in place, or the kept copy goes there. */
static void upload_moved_cb(void *arg) {
  struct upload *u = arg;

  upload_settle(u, true, upload_then_created);
  work_unref(&u->w);
}

static void upload_reg_cb(const struct reg_result *res, void *arg) {
  struct upload *u = arg;
  int rc;

  fence_reg_outcome(u->app, res);
  if (res->error != REG_OK || res->file == NULL) {
    u->reg = *res;
    u->reg.package = NULL;
    u->reg.file = NULL;
    u->reg.collected = NULL;
    if (u->reg.error == REG_OK) {
      u->reg.error = REG_INTERNAL;
      snprintf(u->reg.msg.msg, sizeof u->reg.msg.msg,
               "the registry recorded no file");
    }
    upload_settle(u, false, upload_then_refused);
    work_unref(&u->w);
    return;
  }
  u->created = handlers_file_json(res->file);
  uuid_format(&res->file->id, u->created_id);
  /* Referenced from here on: wait for trash moves of it still in flight
   * (live before or not: another upload's re-link may be pending), then
   * make sure the file is in place before answering. */
  work_ref(&u->w);
  rc = retention_after_moves(u->app->retention, res->file->digests.blake3,
                             upload_moved_cb, u);
  if (rc != 0) {
    work_unref(&u->w);
    logq_msg(LOGQ_ERROR, "cannot wait for a trash move", uv_strerror(rc));
    upload_settle(u, true, upload_then_created);
  }
  work_unref(&u->w);
}

static void upload_commit_fail(struct upload *u, int status,
                               const struct blob_info *info) {
  struct conn *c = work_end(&u->w);

  if (status == UV_EBADMSG && u->existing != NULL) {
    upload_duplicate(c, u->existing, " and the bytes sent differ");
  } else if (status == UV_EBADMSG) {
    char b3[CADDR_BUFSIZE], s2[CADDR_BUFSIZE];
    caddr_format_raw(CADDR_BLAKE3, info->digests.blake3, b3);
    caddr_format_raw(CADDR_SHA256, info->digests.sha256, s2);
    http_problem(c, PROB_DIGEST_MISMATCH,
                 "the received bytes are %s and %s, not what "
                 "Repr-Digest / Content-Digest / X-Content-Address "
                 "announced; nothing was stored",
                 b3, s2);
  } else {
    upload_blob_problem(u->app, c, status);
  }
}

static void upload_commit_cb(struct blob_ingest *in, int status,
                             const struct blob_info *info, void *arg) {
  struct upload *u = arg;
  struct file_ingest_req fr;
  int rc;

  if (status != 0) {
    /* the store released the ingest: nothing is kept */
    if (work_live(&u->w))
      upload_commit_fail(u, status, info);
    goto out;
  }
  u->kept = u->keep ? in : NULL; /* settled exactly once from here on */
  if (u->app->fence.refused != 0) {
    /* fenced while the body came: the head passed the check, but the
     * event would go into a store that is damaged or gone (fence.c) */
    upload_settle(u, false, upload_then_fence);
    goto out;
  }
  if (u->existing != NULL) {
    /* a retry: the very bytes of the file at the path, which the store
     * had already; nothing to record */
    upload_settle(u, false, upload_then_same);
    goto out;
  }
  u->got = info->digests;
  /* The blob is durable: record it even if the client has gone, so what
   * was fully received is never an orphan. */
  memset(&fr, 0, sizeof fr);
  fr.package_id = u->pkg;
  fr.path = u->path;
  fr.media_type = u->media;
  fr.size = info->size;
  fr.digests = info->digests;
  fr.actor = u->actor;
  work_ref(&u->w);
  rc = reg_file_ingest(u->app->writer, &fr, upload_reg_cb, u);
  if (rc != 0) {
    work_unref(&u->w);
    u->rc = rc;
    upload_settle(u, false, upload_then_queue_failed);
  }
out:
  work_unref(&u->w);
}

static void upload_finish(struct upload *u) {
  struct blob_ingest *in = u->in;
  int rc;

  /* keep a second name of the bytes until the registry has answered
   * (not for a retry: its file holds the blob already) */
  u->keep = u->existing == NULL;
  rc = u->keep ? blob_ingest_keep(in) : 0;
  if (rc == UV_ENOTSUP)
    u->keep = false, rc = 0;
  if (rc != 0) {
    upload_fail_blob(u, rc);
    return;
  }
  u->in = NULL; /* released by the store after the callback, or settled */
  work_ref(&u->w);
  rc = blob_ingest_finish(in, u->has_expected ? &u->expected : NULL,
                          upload_commit_cb, u);
  if (rc != 0) {
    work_unref(&u->w);
    u->in = in;
    upload_fail_blob(u, rc);
  }
}

/* Hands the stage buffer over to the store, which frees it. */
static int upload_flush(struct upload *u);

static void upload_write_cb(struct blob_ingest *in, int status, void *arg) {
  struct upload *u = arg;

  u->write_pending = false;
  if (!work_live(&u->w))
    goto out; /* the client has gone, or the upload failed meanwhile */
  if (status != 0) {
    upload_fail_blob(u, status);
    goto out;
  }
  if (u->spare == NULL) {
    u->spare = blob_ingest_reclaim(in);
    u->spare_cap = u->spare != NULL ? u->out_cap : 0;
  }
  if (u->stage_len >= UPLOAD_FLUSH || (u->body_ended && u->stage_len > 0)) {
    if (upload_flush(u) != 0)
      goto out;
  } else if (u->body_ended) {
    upload_finish(u);
    goto out;
  }
  if (!u->body_ended)
    http_body_continue(u->w.c); /* no-op unless reading was paused */
out:
  work_unref(&u->w);
}

static int upload_flush(struct upload *u) {
  char *piece = u->stage;
  size_t len = u->stage_len;
  int rc;

  u->stage = NULL; /* the store's now, whatever happens */
  u->out_cap = u->stage_cap;
  u->stage_len = u->stage_cap = 0;
  work_ref(&u->w);
  rc = blob_ingest_write_take(u->in, piece, len, upload_write_cb, u);
  if (rc != 0) {
    work_unref(&u->w);
    upload_fail_blob(u, rc);
    return rc;
  }
  u->write_pending = true;
  return 0;
}

/* Room for len more bytes in the stage.  A new stage gets its final size
 * at once (see UPLOAD_READ_SLACK), or less when the announced size says
 * fewer bytes remain; it only grows when a piece is larger than a read. */
static int upload_stage_room(struct upload *u, size_t len) {
  size_t need = u->stage_len + len, cap = u->stage_cap;
  char *p;

  if (need <= cap)
    return 0;
  if (cap == 0 && u->spare != NULL) {
    u->stage = u->spare;
    u->stage_cap = cap = u->spare_cap;
    u->spare = NULL;
    u->spare_cap = 0;
    if (need <= cap)
      return 0;
  }
  if (cap == 0) {
    cap = UPLOAD_STAGE_MAX + UPLOAD_READ_SLACK;
    if (u->expected_size != BLOB_SIZE_UNKNOWN &&
        u->expected_size >= u->received &&
        u->expected_size - u->received < cap)
      cap = (size_t)(u->expected_size - u->received);
  } else {
    cap *= 2;
  }
  if (cap < need)
    cap = need;
  p = realloc(u->stage, cap);
  if (p == NULL)
    return UV_ENOMEM;
  u->stage = p;
  u->stage_cap = cap;
  return 0;
}

/* --- stream ops --- */

/* Everything checkable from the head; false when it answered. */
static bool upload_check_head(struct upload *u, const struct http_req *req) {
  struct errbuf e = {{0}};
  enum problem_id prob;
  const char *h;

  if (http_pct_decode(req->params[1].p, req->params[1].n, &u->path,
                      &u->path_len) != 0) {
    http_problem(work_end(&u->w), PROB_INVALID_PATH,
                 "the file path is not valid percent-encoding");
    return false;
  }
  if (relpath_check(u->path, u->path_len, &e) != 0) {
    http_problem(work_end(&u->w), PROB_INVALID_PATH, "%s",
                 err_msg(&e, UV_EINVAL));
    return false;
  }
  if (upload_digest_read(req, &u->expected.digests, &u->has_expected,
                         &prob, &e) != 0) {
    http_problem(work_end(&u->w), prob, "%s", err_msg(&e, UV_EINVAL));
    return false;
  }
  u->expected.size = BLOB_SIZE_UNKNOWN;
  h = http_header(req, "content-type");
  if (h == NULL)
    h = "application/octet-stream";
  if (!upload_media_ok(h)) {
    http_problem(work_end(&u->w), PROB_INVALID_MEDIA_TYPE,
                 "Content-Type must be a printable type/subtype of at most "
                 "%d bytes",
                 MEDIA_TYPE_MAX);
    return false;
  }
  snprintf(u->media, sizeof u->media, "%s", h);
  u->expected_size = req->chunked ? BLOB_SIZE_UNKNOWN : req->content_length;
  return true;
}

static void upload_start(struct conn *c, const struct http_req *req) {
  struct upload *u;
  struct uuid pkg;
  int rc;

  if (fence_answer(c) || !handlers_package_id(c, &req->params[0], &pkg))
    return;
  u = calloc(1, sizeof *u);
  if (u == NULL) {
    http_problem(c, PROB_INTERNAL, "out of memory");
    return;
  }
  work_init(&u->w, c, upload_free_cb);
  u->app = handlers_app(c);
  u->actor = handlers_actor(c);
  u->pkg = pkg;
  if (upload_check_head(u, req)) {
    work_ref(&u->w);
    rc = query_package_get(u->app->reader, &u->pkg, upload_package_cb, u);
    if (rc != 0) {
      work_unref(&u->w);
      http_problem(work_end(&u->w), PROB_DATABASE_UNAVAILABLE,
                   "cannot query: %s", uv_strerror(rc));
    }
  }
  work_unref(&u->w);
}

/* 0 to go on, AS_AGAIN while the stage is full. */
static int upload_take(struct upload *u, const char *data, size_t len) {
  if (u->in == NULL)
    return 0;
  if (upload_stage_room(u, len) != 0) {
    upload_fail_blob(u, UV_ENOMEM);
    return 0;
  }
  memcpy(u->stage + u->stage_len, data, len);
  u->stage_len += len;
  u->received += len;
  if (!u->write_pending && u->stage_len >= UPLOAD_FLUSH &&
      upload_flush(u) != 0)
    return 0;
  return u->stage_len >= UPLOAD_STAGE_MAX ? AS_AGAIN : 0;
}

static int upload_body(struct conn *c, const char *data, size_t len) {
  struct work *w = http_ctx(c);
  int rc;

  if (w == NULL)
    return 0; /* answered already */
  work_ref(w);
  rc = upload_take(container_of(w, struct upload, w), data, len);
  work_unref(w);
  return rc;
}

static void upload_end(struct conn *c) {
  struct work *w = http_ctx(c);
  struct upload *u;

  if (w == NULL)
    return; /* answered already */
  u = container_of(w, struct upload, w);
  work_ref(w);
  if (u->in != NULL) {
    u->body_ended = true;
    if (u->write_pending)
      ; /* upload_write_cb goes on */
    else if (u->stage_len > 0)
      upload_flush(u);
    else
      upload_finish(u);
  }
  work_unref(w);
}

const struct http_stream_ops files_upload_ops = {upload_start, upload_body,
                                                 upload_end};
