/*
 * blobs.c: GET/HEAD /v1/files/{id}, /v1/packages/{id}/files/{path} and
 * /v1/blobs/{blake3:..|sha256:..}.  The contents of an expired or aborted
 * package are gone: 410 package-expired / package-aborted before the blob
 * store is asked; by address only bytes a file of an open or finalized
 * package holds are served.
 *
 * The file row (from the readers) gives size, media type and digests; the
 * bytes come from the blob store in DOWNLOAD_CHUNK pieces read on the
 * threadpool, each written with one uv_write before the next read starts:
 * one buffer per download, whatever the size.  Single byte ranges get 206
 * (416 when unsatisfiable); several ranges are served as the whole
 * representation (allowed by RFC 9110).  Conditionals are evaluated in
 * the order of RFC 9110 section 13.2.2: If-Match (412), If-None-Match
 * (304), then If-Range, which keeps the Range only for our strong ETag.
 * Every 206 of at most DOWNLOAD_RANGE_DIGEST_MAX bytes carries the
 * Content-Digest of the part, hashed on the threadpool before its head:
 * a first pass reads the range through the buffer, feeding the hash piece
 * by piece; a range that came in one piece (at most DOWNLOAD_CHUNK) is
 * then sent from the buffer, a larger one read again and streamed as any
 * download.  The digest is of the bytes the first pass read: the second
 * is not hashed again (a blob is immutable; one changed on disk between
 * the passes would be sent with a digest it does not match, which the
 * client then sees).  Bytes are never served as the server's own page:
 * CSP sandbox and Content-Disposition (attachment unless
 * ?disposition=inline); by address they are application/octet-stream, as
 * several files of different types may hold them.  ETag is the BLAKE3
 * address and Repr-Digest the SHA-256 of the whole representation (RFC
 * 9530).  The
 * blob is looked at (and its size checked against the row) before any
 * answer, for HEAD and conditional requests too: missing, unreadable or
 * wrong-size bytes are 503 blob-unavailable whatever the method.  Only an
 * answer with bytes opens a reader; HEAD, 304, 416 and empty bodies ask
 * blob_stat, which holds no descriptor and needs no close.
 */
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/internal.h"
#include "handlers/work.h"
#include "util/logq.h"
#include "store/codec/caddr.h"
#include "store/codec/digest.h"
#include "store/codec/relpath.h"

#define DOWNLOAD_CHUNK (512 * 1024)
#define DOWNLOAD_BLOB_TYPE "application/octet-stream"
/* Content-Digest is sent on a 206 of at most this many bytes (RFC 9530).
 * Its head waits until the whole range has been read and hashed, then the
 * range is read again to be sent: past this bound the first byte would
 * wait too long and the disk read twice for too much, so larger ranges
 * get no Content-Digest (Repr-Digest still names the whole). */
#define DOWNLOAD_RANGE_DIGEST_MAX (64 * 1024 * 1024)
/* the headers: validators, Content-Range, and a Content-Disposition whose
 * file name may take 4 bytes per path byte (ASCII form and filename*) */
#define DOWNLOAD_EXTRA_MAX (640 + 4 * RELPATH_MAX)

struct download {
  struct work w; /* first: references, abort, detach (work.h) */
  struct app *app;
  enum problem_id not_found; /* unknown-file or unknown-blob */
  struct file_rec *file;
  struct blob_reader *reader;
  uint64_t off, end; /* [off, end) still to send */
  char *buf;
  char etag[CADDR_BUFSIZE + 2];
  char extra[DOWNLOAD_EXTRA_MAX];
  int status; /* the answer planned: 200, 206, 304, 412 or 416 */
  bool body;  /* it sends bytes: open a reader (else blob_stat) */
  bool blob;  /* by address: bytes any file may hold, no name or type */
  uv_work_t hash_work; /* a 206: its Content-Digest, off the loop */
  uint8_t range_sha[DIGEST_LEN];
  int hash_rc;
  struct sha256_hasher *sha; /* a large 206: the first pass's hash */
  uint64_t pre;              /* its position; pre_n bytes in buf */
  size_t pre_n;
  bool inline_disp;   /* ?disposition=inline */
};

/* The one way a download is freed (work.h). */
static void download_free_cb(struct work *w) {
  struct download *d = container_of(w, struct download, w);

  if (d->reader != NULL)
    blob_reader_close(d->reader);
  sha256_hasher_free(d->sha);
  free(d->buf);
  free(d->file);
  free(d);
}

/* Every step below runs with a reference held: the callback's own. */

static void download_next(struct download *d);

static void download_written_cb(struct conn *c, int status, void *arg) {
  struct download *d = arg;
  (void)c;

  /* a failed write closes the connection: the abort marks us */
  if (work_live(&d->w) && status == 0)
    download_next(d);
  work_unref(&d->w);
}

/* Sends the first n bytes of buf; download_written_cb goes on. */
static void download_write(struct download *d, size_t n) {
  work_ref(&d->w);
  if (http_resp_write(d->w.c, d->buf, n, download_written_cb, d) != 0) {
    /* out of memory or the socket failed: nothing will call us again, so
     * close the connection ourselves (the client sees truncation) */
    work_unref(&d->w);
    if (work_live(&d->w))
      http_abort(work_end(&d->w));
  }
}

static void download_read_cb(struct blob_reader *r, ssize_t nread, void *arg) {
  struct download *d = arg;
  (void)r;

  if (!work_live(&d->w))
    goto out;
  if (nread <= 0) {
    /* Headers are out: the only honest signal left is closing early. */
    logq_log(LOGQ_ERROR,
             json_pack("{s:s, s:s}", "msg", "blob read failed", "error",
                       nread < 0 ? uv_strerror((int)nread) : "short blob"));
    http_abort(work_end(&d->w)); /* Content-Length unmet: truncation */
    goto out;
  }
  d->off += (uint64_t)nread;
  download_write(d, (size_t)nread);
out:
  work_unref(&d->w);
}

static void download_next(struct download *d) {
  uint64_t left = d->end - d->off;
  size_t n = left < DOWNLOAD_CHUNK ? (size_t)left : DOWNLOAD_CHUNK;

  if (n == 0) {
    http_resp_end(work_end(&d->w));
    return;
  }
  work_ref(&d->w);
  if (blob_reader_read(d->reader, d->off, d->buf, n, download_read_cb, d) !=
      0) {
    work_unref(&d->w);
    http_abort(work_end(&d->w)); /* the head is out; closing is the signal */
  }
}

/* --- a 206 with its Content-Digest --- */

/* The range is hashed (status and hash_rc of the job): sends the head
 * with its Content-Digest.  0 when the body may follow. */
static int download_digest_head(struct download *d, int status) {
  char b64[sodium_base64_ENCODED_LEN(DIGEST_LEN,
                                     sodium_base64_VARIANT_ORIGINAL)];
  size_t n;

  if (status != 0 || d->hash_rc != 0) {
    http_problem(work_end(&d->w), PROB_INTERNAL, "could not hash the range");
    return UV_EIO;
  }
  sodium_bin2base64(b64, sizeof b64, d->range_sha, DIGEST_LEN,
                    sodium_base64_VARIANT_ORIGINAL);
  n = strlen(d->extra);
  snprintf(d->extra + n, sizeof d->extra - n,
           "Content-Digest: sha-256=:%s:\r\n", b64);
  /* if writing the head fails the connection closes: the abort marks us */
  http_resp_head(d->w.c, 206, d->blob ? DOWNLOAD_BLOB_TYPE
                                      : d->file->media_type,
                 d->extra, d->end - d->off);
  return work_live(&d->w) ? 0 : UV_ECANCELED;
}

/* A first pass reads the range through the buffer, piece by piece, each
 * hashed on the threadpool.  Then the head; a range read in one piece is
 * sent from the buffer, a larger one streamed as any download (a second
 * read). */

static void download_pre_read(struct download *d);

/* On the threadpool: the piece in buf into the hash, the last one final. */
static void download_pre_work(uv_work_t *w) {
  struct download *d = container_of(w, struct download, hash_work);

  d->hash_rc = sha256_hasher_update(d->sha, d->buf, d->pre_n);
  if (d->hash_rc == 0 && d->pre + d->pre_n == d->end)
    d->hash_rc = sha256_hasher_final(d->sha, d->range_sha);
}

static void download_pre_done(uv_work_t *w, int status) {
  struct download *d = container_of(w, struct download, hash_work);

  if (!work_live(&d->w))
    goto out;
  d->pre += d->pre_n;
  if (status == 0 && d->hash_rc == 0 && d->pre < d->end) {
    download_pre_read(d);
    goto out;
  }
  if (download_digest_head(d, status) != 0)
    goto out;
  if (d->pre_n != d->end - d->off) {
    download_next(d);
    goto out;
  }
  d->off = d->end; /* all of it is in buf: one write */
  download_write(d, d->pre_n);
out:
  work_unref(&d->w);
}

static void download_pre_cb(struct blob_reader *r, ssize_t nread, void *arg) {
  struct download *d = arg;
  (void)r;

  if (!work_live(&d->w))
    goto out;
  if (nread <= 0) {
    /* nothing is sent yet: the client is told, not cut off */
    http_problem(work_end(&d->w), PROB_BLOB_UNAVAILABLE,
                 "the bytes of this file cannot be read (%s); the operator "
                 "must restore the blob from a backup",
                 nread < 0 ? uv_strerror((int)nread) : "short blob");
    goto out;
  }
  d->pre_n = (size_t)nread;
  work_ref(&d->w); /* the hash job's */
  if (uv_queue_work(d->app->loop, &d->hash_work, download_pre_work,
                    download_pre_done) != 0) {
    work_unref(&d->w);
    http_problem(work_end(&d->w), PROB_INTERNAL, "could not hash the range");
  }
out:
  work_unref(&d->w);
}

static void download_pre_read(struct download *d) {
  uint64_t left = d->end - d->pre;
  size_t n = left < DOWNLOAD_CHUNK ? (size_t)left : DOWNLOAD_CHUNK;

  work_ref(&d->w);
  if (blob_reader_read(d->reader, d->pre, d->buf, n, download_pre_cb, d) !=
      0) {
    work_unref(&d->w);
    http_problem(work_end(&d->w), PROB_BLOB_UNAVAILABLE,
                 "the blob store cannot read this file");
  }
}

/* Decimal digits at p into *v, saturating at UINT64_MAX: a position past
 * any size is simply past the end (RFC 9110 section 14.1.1 has no upper
 * bound).  Returns the end, or NULL when p holds no digit. */
static const char *download_num(const char *p, uint64_t *v) {
  uint64_t x = 0;

  if (*p < '0' || *p > '9')
    return NULL;
  for (; *p >= '0' && *p <= '9'; p++) {
    unsigned d = (unsigned)(*p - '0');
    x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
  }
  *v = x;
  return p;
}

/* Parses "bytes=a-b" / "bytes=a-" / "bytes=-n" against size.  0 with the
 * range, UV_ERANGE when unsatisfiable, UV_EINVAL for what is not a single
 * byte range (several ranges, other units, malformed): RFC 9110 lets the
 * server ignore such a header and send the whole representation. */
static int download_range(const char *h, uint64_t size, uint64_t *from,
                          uint64_t *to) {
  uint64_t a = 0, b = 0;
  const char *p;

  if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
    return UV_EINVAL;
  p = h + 6;
  if (*p == '-') {
    p = download_num(p + 1, &b);
    if (p == NULL || *p != '\0')
      return UV_EINVAL;
    if (b == 0 || size == 0)
      return UV_ERANGE;
    *from = b >= size ? 0 : size - b;
    *to = size;
    return 0;
  }
  p = download_num(p, &a);
  if (p == NULL || *p != '-')
    return UV_EINVAL;
  p++;
  if (*p == '\0') {
    b = UINT64_MAX;
  } else {
    p = download_num(p, &b);
    if (p == NULL || *p != '\0' || b < a)
      return UV_EINVAL;
  }
  if (a >= size)
    return UV_ERANGE;
  if (b >= size)
    b = size - 1;
  *from = a;
  *to = b + 1;
  return 0;
}

/* Appends Content-Disposition (RFC 6266) and the sandbox to the headers
 * of an answer with the bytes, so that a stored text/html or SVG never
 * runs as the server's own page: attachment unless ?disposition=inline
 * was asked, and a CSP sandbox either way.  A file is named by the last
 * segment of its path, as filename*=UTF-8''<percent-encoded> (RFC 8187)
 * and an ASCII filename="..." fallback ('_' for any other byte); a blob
 * has no name of its own. */
static void download_disposition(struct download *d) {
  static const char attr[] = "!#$&+-.^_`|~";
  size_t n = strlen(d->extra), cap = sizeof d->extra;
  const char *name;
  int k;

  k = snprintf(d->extra + n, cap - n,
               "Content-Security-Policy: sandbox\r\n"
               "Content-Disposition: %s",
               d->inline_disp ? "inline" : "attachment");
  n += (size_t)k;
  if (!d->blob && d->file->path != NULL) {
    name = strrchr(d->file->path, '/');
    name = name != NULL ? name + 1 : d->file->path;
    n += (size_t)snprintf(d->extra + n, cap - n, "; filename=\"");
    for (const char *p = name; *p != '\0' && n + 1 < cap; p++) {
      unsigned char ch = (unsigned char)*p;
      d->extra[n++] =
          ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\' ? '_' : (char)ch;
    }
    n += (size_t)snprintf(d->extra + n, cap - n, "\"; filename*=UTF-8''");
    for (const char *p = name; *p != '\0' && n + 4 < cap; p++) {
      unsigned char ch = (unsigned char)*p;
      if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
          (ch >= 'A' && ch <= 'Z') || (ch != '\0' && strchr(attr, ch)))
        d->extra[n++] = (char)ch;
      else
        n += (size_t)snprintf(d->extra + n, cap - n, "%%%02X", ch);
    }
  }
  snprintf(d->extra + n, cap - n, "\r\n");
}

/* The file row is known: conditionals and range decide the answer,
 * before any I/O, so that only an answer with bytes opens the blob. */
static void download_plan(struct download *d, const struct http_req *req) {
  const struct file_rec *f = d->file;
  char b3[CADDR_BUFSIZE], b64[sodium_base64_ENCODED_LEN(
                               DIGEST_LEN, sodium_base64_VARIANT_ORIGINAL)];
  const char *range = http_header(req, "range"), *h;
  uint64_t from = 0, to = f->size;
  int n, rc = UV_EINVAL; /* no Range: the whole representation */

  caddr_format_raw(CADDR_BLAKE3, f->digests.blake3, b3);
  snprintf(d->etag, sizeof d->etag, "\"%s\"", b3);
  sodium_bin2base64(b64, sizeof b64, f->digests.sha256, DIGEST_LEN,
                    sodium_base64_VARIANT_ORIGINAL);
  n = snprintf(d->extra, sizeof d->extra,
               "ETag: %s\r\nRepr-Digest: sha-256=:%s:\r\n"
               "Accept-Ranges: bytes\r\n"
               "Cache-Control: public, max-age=31536000, immutable\r\n",
               d->etag, b64);
  /* RFC 9110 section 13.2.2, in its order (no Last-Modified is sent, so
   * If-Unmodified-Since and If-Modified-Since are never evaluated) */
  if ((h = http_header(req, "if-match")) != NULL &&
      !precond_field_matches(req, "if-match", d->etag, true)) {
    d->status = 412;
    return;
  }
  if ((h = http_header(req, "if-none-match")) != NULL &&
      precond_field_matches(req, "if-none-match", d->etag, false)) {
    d->status = 304;
    return;
  }
  /* If-Range: the range only for the very representation it names */
  if (range != NULL && ((h = http_header(req, "if-range")) == NULL ||
                        precond_if_range(h, d->etag)))
    rc = download_range(range, f->size, &from, &to);
  if (rc == UV_ERANGE) {
    d->status = 416;
    return;
  }
  d->status = 200;
  if (rc == 0) {
    d->status = 206;
    snprintf(d->extra + n, sizeof d->extra - (size_t)n,
             "Content-Range: bytes %llu-%llu/%llu\r\n",
             (unsigned long long)from, (unsigned long long)(to - 1),
             (unsigned long long)f->size);
  }
  download_disposition(d);
  d->off = from;
  d->end = to;
  d->body = !http_is_head(d->w.c) && d->end > d->off;
}

/* The bytes were found as planned (opened when d->body): the answer. */
static void download_respond(struct download *d) {
  const struct file_rec *f = d->file;
  const char *media = d->blob ? DOWNLOAD_BLOB_TYPE : f->media_type;

  if (d->status == 304) {
    http_respond(work_end(&d->w), 304, NULL, d->extra, NULL, 0);
    return;
  }
  if (d->status == 412) {
    http_problem(work_end(&d->w), PROB_PRECONDITION_FAILED,
                 "If-Match does not match the representation %s", d->etag);
    return;
  }
  if (d->status == 416) {
    char extra[64];
    snprintf(extra, sizeof extra, "Content-Range: bytes */%llu\r\n",
             (unsigned long long)f->size);
    http_problem_with(work_end(&d->w), PROB_RANGE_NOT_SATISFIABLE, extra,
                      "the file has %llu bytes", (unsigned long long)f->size);
    return;
  }
  if (!d->body) {
    struct conn *c = work_end(&d->w);
    http_resp_head(c, d->status, media, d->extra, d->end - d->off);
    http_resp_end(c);
    return;
  }
  d->buf = malloc(DOWNLOAD_CHUNK);
  if (d->buf == NULL) {
    http_problem(work_end(&d->w), PROB_INTERNAL, "out of memory");
    return;
  }
  if (d->status == 206 && d->end - d->off <= DOWNLOAD_RANGE_DIGEST_MAX) {
    if (sha256_hasher_new(&d->sha) != 0) {
      http_problem(work_end(&d->w), PROB_INTERNAL, "out of memory");
      return;
    }
    d->pre = d->off;
    download_pre_read(d);
    return;
  }
  /* if writing the head fails the connection closes: the abort marks us */
  http_resp_head(d->w.c, d->status, media, d->extra, d->end - d->off);
  if (work_live(&d->w))
    download_next(d);
}

/* Every answer but an error from the lookup waits for the blob store
 * (blob_reader_open for an answer with bytes, blob_stat for the others):
 * GET, HEAD and conditional requests alike answer 503 when the bytes are
 * missing, unreadable or of the wrong size, so no client is told a file
 * exists that cannot be read. */
static void download_found(struct download *d, int status, uint64_t size) {
  if (status == UV_EMFILE || status == UV_ENFILE) {
    /* transient: the blob is fine, the daemon is short of descriptors */
    http_problem_with(work_end(&d->w), PROB_OUT_OF_DESCRIPTORS,
                      "Retry-After: 1\r\n",
                      "the daemon ran out of file descriptors (%s); retry",
                      uv_strerror(status));
    return;
  }
  if (status != 0 || size != d->file->size) {
    http_problem(work_end(&d->w), PROB_BLOB_UNAVAILABLE,
                 "the bytes of this file cannot be read (%s); the "
                 "operator must restore the blob from a backup",
                 status != 0 ? uv_strerror(status) : "size differs");
    return;
  }
  download_respond(d);
}

static void download_open_cb(struct blob_reader *r, int status, uint64_t size,
                             void *arg) {
  struct download *d = arg;

  d->reader = r;
  if (work_live(&d->w))
    download_found(d, status, size);
  work_unref(&d->w);
}

static void download_stat_cb(int status, uint64_t size, void *arg) {
  struct download *d = arg;

  if (work_live(&d->w))
    download_found(d, status, size);
  work_unref(&d->w);
}

/* The file row is known: plan the answer, then look for its bytes. */
static void download_serve(struct download *d) {
  const uint8_t *b3 = d->file->digests.blake3;
  int rc;

  /* the request (headers) lives until the response is done */
  download_plan(d, http_conn_req(d->w.c));
  work_ref(&d->w);
  if (d->body)
    rc = blob_reader_open(d->app->blobs, b3, download_open_cb, d);
  else
    rc = blob_stat(d->app->blobs, b3, download_stat_cb, d);
  if (rc != 0) {
    work_unref(&d->w);
    http_problem(work_end(&d->w), PROB_BLOB_UNAVAILABLE,
                 "the blob store cannot open this file");
  }
}

static void download_lookup_cb(struct query_result *res, void *arg) {
  struct download *d = arg;

  if (!work_live(&d->w)) {
    ; /* the client has gone */
  } else if (res->status != 0) {
    handlers_query_problem(work_end(&d->w), res, d->not_found);
  } else if (!d->blob && (res->file->package_status == PKG_EXPIRED ||
                          res->file->package_status == PKG_ABORTED)) {
    bool expired = res->file->package_status == PKG_EXPIRED;
    http_problem(work_end(&d->w),
                 expired ? PROB_PACKAGE_EXPIRED : PROB_PACKAGE_ABORTED,
                 "the package of this file %s: its contents are gone (its "
                 "manifest and file list remain)",
                 expired ? "has expired" : "was aborted");
  } else {
    d->file = res->file;
    res->file = NULL;
    download_serve(d);
  }
  query_result_free(res);
  work_unref(&d->w);
}

/* A download whose file row is being looked up, or NULL (answered). */
static struct download *download_new(struct conn *c,
                                     const struct http_req *req,
                                     enum problem_id not_found) {
  char v[16];
  size_t n;
  bool inline_disp = false;
  struct download *d;
  int rc = http_query_value(req, "disposition", v, sizeof v, &n);

  if (rc != UV_ENOENT) {
    if (rc == 0 && n == 6 && memcmp(v, "inline", 6) == 0) {
      inline_disp = true;
    } else if (rc != 0 || n != 10 || memcmp(v, "attachment", 10) != 0) {
      http_problem(c, PROB_INVALID_PARAMETER,
                   "query parameter disposition must be inline or "
                   "attachment");
      return NULL;
    }
  }
  d = calloc(1, sizeof *d);
  if (d == NULL) {
    http_problem(c, PROB_INTERNAL, "out of memory");
    return NULL;
  }
  work_init(&d->w, c, download_free_cb);
  d->app = handlers_app(c);
  d->not_found = not_found;
  d->blob = not_found == PROB_UNKNOWN_BLOB;
  d->inline_disp = inline_disp;
  return d;
}

/* The lookup was asked for (rc from query_*): drops its reference when
 * it did not start, then the starter's. */
static void download_asked(struct download *d, int rc, const char *what) {
  if (rc != 0) {
    work_unref(&d->w);
    http_problem(work_end(&d->w), PROB_DATABASE_UNAVAILABLE,
                 "cannot query the %s", what);
  }
  work_unref(&d->w);
}

void blobs_get_file(struct conn *c, const struct http_req *req) {
  struct download *d;
  struct uuid id;
  int rc;

  if (uuid_parse(req->params[0].p, req->params[0].n, &id) != 0) {
    http_problem(c, PROB_UNKNOWN_FILE, "file ids are UUIDs");
    return;
  }
  if ((d = download_new(c, req, PROB_UNKNOWN_FILE)) == NULL)
    return;
  work_ref(&d->w); /* the lookup's */
  rc = query_file_get(d->app->reader, &id, download_lookup_cb, d);
  download_asked(d, rc, "file");
}

void blobs_get_blob(struct conn *c, const struct http_req *req) {
  struct download *d;
  struct caddr a;
  struct errbuf e = {{0}};
  int rc;

  if (caddr_parse(req->params[0].p, req->params[0].n, &a, &e) != 0) {
    http_problem(c, PROB_INVALID_ADDRESS, "%s", err_msg(&e, UV_EINVAL));
    return;
  }
  if ((d = download_new(c, req, PROB_UNKNOWN_BLOB)) == NULL)
    return;
  work_ref(&d->w); /* the lookup's */
  rc = query_blob_get(d->app->reader, &a, download_lookup_cb, d);
  download_asked(d, rc, "blob");
}

void blobs_get_path(struct conn *c, const struct http_req *req) {
  struct download *d;
  struct errbuf e = {{0}};
  struct uuid id;
  char *path = NULL;
  size_t n = 0;
  int rc;

  if (!handlers_package_id(c, &req->params[0], &id))
    return;
  if (http_pct_decode(req->params[1].p, req->params[1].n, &path, &n) != 0 ||
      relpath_check(path, n, &e) != 0) {
    http_problem(c, PROB_INVALID_PATH, "%s",
                 path == NULL ? "the file path is not valid percent-encoding"
                              : err_msg(&e, UV_EINVAL));
    free(path);
    return;
  }
  if ((d = download_new(c, req, PROB_UNKNOWN_FILE)) == NULL) {
    free(path);
    return;
  }
  work_ref(&d->w); /* the lookup's */
  rc = query_file_at_path(d->app->reader, &id, path, download_lookup_cb, d);
  free(path);
  download_asked(d, rc, "file");
}
