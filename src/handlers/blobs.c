/*
 * blobs.c: GET/HEAD /v1/files/{id} and /v1/blobs/{blake3:..|sha256:..}.
 *
 * The file row (from the readers) gives size, media type and digests; the
 * bytes come from the blob store in DOWNLOAD_CHUNK pieces read on the
 * threadpool, each written with one uv_write before the next read starts:
 * one buffer per download, whatever the size.  Single byte ranges get 206
 * (416 when unsatisfiable); several ranges are served as the whole
 * representation (allowed by RFC 9110).  ETag is the BLAKE3 address and
 * Repr-Digest the SHA-256 of the whole representation (RFC 9530).
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/handlers.h"
#include "util/logq.h"
#include "store/codec/caddr.h"

#define DOWNLOAD_CHUNK (512 * 1024)
#define DOWNLOAD_EXTRA_MAX 512

struct download {
  struct conn *c;
  struct app *app;
  struct file_rec *file;
  struct blob_reader *reader;
  uint64_t off, end; /* [off, end) still to send */
  char *buf;
  bool busy, aborted;
  char etag[CADDR_BUFSIZE + 2];
  char extra[DOWNLOAD_EXTRA_MAX];
  int status;
};

static void download_free(struct download *d) {
  if (d->reader != NULL)
    blob_reader_close(d->reader);
  free(d->buf);
  free(d->file);
  http_conn_release(d->c);
  free(d);
}

static void download_abort_cb(struct conn *c, void *ctx) {
  struct download *d = ctx;
  (void)c;
  d->aborted = true;
  if (!d->busy)
    download_free(d);
}

static void download_next(struct download *d);

static void download_written_cb(struct conn *c, int status, void *arg) {
  struct download *d = arg;
  (void)c;
  d->busy = false;
  if (d->aborted) {
    download_free(d);
    return;
  }
  if (status != 0)
    return; /* the connection closes; abort_cb frees */
  download_next(d);
}

static void download_read_cb(struct blob_reader *r, ssize_t nread, void *arg) {
  struct download *d = arg;
  (void)r;

  d->busy = false;
  if (d->aborted) {
    download_free(d);
    return;
  }
  if (nread <= 0) {
    /* Headers are out: the only honest signal left is closing early. */
    logq_json(json_pack("{s:s, s:s}", "msg", "blob read failed", "error",
                        nread < 0 ? uv_strerror((int)nread) : "short blob"));
    http_set_ctx(d->c, NULL, NULL);
    http_abort(d->c); /* Content-Length unmet: the client sees truncation */
    download_free(d);
    return;
  }
  d->off += (uint64_t)nread;
  d->busy = true;
  if (http_resp_write(d->c, d->buf, (size_t)nread, download_written_cb, d) !=
      0) {
    /* out of memory or the socket failed: nothing will call us again, so
     * close the connection ourselves (the client sees truncation) */
    d->busy = false;
    if (d->aborted) {
      download_free(d);
      return;
    }
    http_set_ctx(d->c, NULL, NULL);
    http_abort(d->c);
    download_free(d);
  }
}

static void download_next(struct download *d) {
  uint64_t left = d->end - d->off;
  size_t n = left < DOWNLOAD_CHUNK ? (size_t)left : DOWNLOAD_CHUNK;

  if (n == 0) {
    struct conn *c = d->c;
    http_set_ctx(c, NULL, NULL);
    http_conn_hold(c);
    download_free(d);
    http_resp_end(c);
    http_conn_release(c);
    return;
  }
  d->busy = true;
  if (blob_reader_read(d->reader, d->off, d->buf, n, download_read_cb, d) !=
      0) {
    d->busy = false;
    http_set_ctx(d->c, NULL, NULL);
    http_abort(d->c); /* the head is out; closing is the signal */
    download_free(d);
  }
}

static void download_open_cb(struct blob_reader *r, int status, uint64_t size,
                             void *arg) {
  struct download *d = arg;

  d->busy = false;
  d->reader = r;
  if (d->aborted) {
    download_free(d);
    return;
  }
  if (status != 0 || size != d->file->size) {
    struct conn *c = d->c;
    http_set_ctx(c, NULL, NULL);
    http_problem(c, PROB_BLOB_UNAVAILABLE,
                 "the bytes of this file cannot be read (%s); the "
                 "operator must restore the blob from a backup",
                 status != 0 ? uv_strerror(status) : "size differs");
    download_free(d);
    return;
  }
  /* busy across the head: if writing it fails the connection closes and
   * abort_cb only marks us, so we free here, once */
  d->busy = true;
  http_resp_head(d->c, d->status, d->file->media_type, d->extra,
                 d->end - d->off);
  d->busy = false;
  if (d->aborted) {
    download_free(d);
    return;
  }
  download_next(d);
}

/* Parses "bytes=a-b" / "bytes=a-" / "bytes=-n" against size.  0 with the
 * range, AS_AGAIN to ignore the header (several ranges, other units,
 * malformed), UV_ERANGE when unsatisfiable. */
static int download_range(const char *h, uint64_t size, uint64_t *from,
                          uint64_t *to) {
  unsigned long long a = 0, b = 0;
  const char *p;
  char *end;

  if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
    return AS_AGAIN;
  p = h + 6;
  errno = 0;
  if (*p == '-') {
    if (p[1] < '0' || p[1] > '9')
      return AS_AGAIN;
    b = strtoull(p + 1, &end, 10);
    if (*end != '\0' || errno != 0)
      return AS_AGAIN;
    if (b == 0 || size == 0)
      return UV_ERANGE;
    *from = b >= size ? 0 : size - b;
    *to = size;
    return 0;
  }
  if (*p < '0' || *p > '9')
    return AS_AGAIN;
  a = strtoull(p, &end, 10);
  if (*end != '-' || errno != 0)
    return AS_AGAIN;
  p = end + 1;
  if (*p == '\0') {
    b = size == 0 ? 0 : size - 1;
  } else {
    if (*p < '0' || *p > '9')
      return AS_AGAIN;
    b = strtoull(p, &end, 10);
    if (*end != '\0' || errno != 0 || b < a)
      return AS_AGAIN;
  }
  if (a >= size)
    return UV_ERANGE;
  if (b >= size)
    b = size - 1;
  *from = a;
  *to = b + 1;
  return 0;
}

/* The file row is known: headers, conditionals, range, then the bytes. */
static void download_serve(struct conn *c, const struct http_req *req,
                           struct file_rec *f) {
  struct download *d = calloc(1, sizeof *d);
  char b3[CADDR_BUFSIZE], b64[sodium_base64_ENCODED_LEN(
                               DIGEST_LEN, sodium_base64_VARIANT_ORIGINAL)];
  const char *range = http_header(req, "range");
  uint64_t from = 0, to = f->size;
  int n, rc = AS_AGAIN;

  if (d == NULL) {
    free(f);
    http_problem(c, PROB_INTERNAL, "out of memory");
    return;
  }
  d->c = c;
  d->app = handlers_app(c);
  d->file = f;
  caddr_format_raw(CADDR_BLAKE3, f->digests.blake3, b3);
  snprintf(d->etag, sizeof d->etag, "\"%s\"", b3);
  sodium_bin2base64(b64, sizeof b64, f->digests.sha256, DIGEST_LEN,
                    sodium_base64_VARIANT_ORIGINAL);
  n = snprintf(d->extra, sizeof d->extra,
               "ETag: %s\r\nRepr-Digest: sha-256=:%s:\r\n"
               "Accept-Ranges: bytes\r\n"
               "Cache-Control: public, max-age=31536000, immutable\r\n",
               d->etag, b64);
  http_conn_hold(c);
  if (hx_etag_matches(req, d->etag)) {
    http_respond(c, 304, NULL, d->extra, NULL, 0);
    download_free(d);
    return;
  }
  if (range != NULL)
    rc = download_range(range, f->size, &from, &to);
  if (rc == UV_ERANGE) {
    char extra[64];
    snprintf(extra, sizeof extra, "Content-Range: bytes */%llu\r\n",
             (unsigned long long)f->size);
    http_problem_with(c, PROB_RANGE_NOT_SATISFIABLE, extra,
                      "the file has %llu bytes", (unsigned long long)f->size);
    download_free(d);
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
  d->off = from;
  d->end = to;
  if (http_is_head(c) || d->end == d->off) {
    http_resp_head(c, d->status, f->media_type, d->extra, d->end - d->off);
    http_resp_end(c);
    download_free(d);
    return;
  }
  d->buf = malloc(DOWNLOAD_CHUNK);
  if (d->buf == NULL) {
    http_problem(c, PROB_INTERNAL, "out of memory");
    download_free(d);
    return;
  }
  http_set_ctx(c, d, download_abort_cb);
  d->busy = true;
  if (blob_reader_open(d->app->blobs, f->digests.blake3, download_open_cb, d) !=
      0) {
    d->busy = false;
    http_set_ctx(c, NULL, NULL);
    http_problem(c, PROB_BLOB_UNAVAILABLE,
                 "the blob store cannot open this file");
    download_free(d);
  }
}

static void download_lookup(struct query_result *res, struct conn *c,
                            enum problem_id not_found) {
  if (http_conn_alive(c)) {
    if (res->status != 0) {
      hx_query_problem(c, res, not_found);
    } else {
      struct file_rec *f = res->file;
      res->file = NULL;
      /* the request (headers) lives until the response is done */
      download_serve(c, http_conn_req(c), f);
    }
  }
  query_result_free(res);
  http_conn_release(c);
}

static void download_file_cb(struct query_result *res, void *arg) {
  download_lookup(res, arg, PROB_UNKNOWN_FILE);
}

static void download_blob_cb(struct query_result *res, void *arg) {
  download_lookup(res, arg, PROB_UNKNOWN_BLOB);
}

void blobs_get_file(struct conn *c, const struct http_req *req) {
  struct uuid id;

  if (uuid_parse(req->params[0].p, req->params[0].n, &id) != 0) {
    http_problem(c, PROB_UNKNOWN_FILE, "file ids are UUIDs");
    return;
  }
  http_conn_hold(c);
  if (query_file_get(handlers_app(c)->reader, &id, download_file_cb, c) !=
      0) {
    http_conn_release(c);
    http_problem(c, PROB_DATABASE_UNAVAILABLE, "cannot query the file");
  }
}

void blobs_get_blob(struct conn *c, const struct http_req *req) {
  struct caddr a;
  struct errbuf e = {{0}};

  if (caddr_parse(req->params[0].p, req->params[0].n, &a, &e) != 0) {
    http_problem(c, PROB_INVALID_ADDRESS, "%s", err_msg(&e, UV_EINVAL));
    return;
  }
  http_conn_hold(c);
  if (query_blob_get(handlers_app(c)->reader, &a, download_blob_cb, c) != 0) {
    http_conn_release(c);
    http_problem(c, PROB_DATABASE_UNAVAILABLE, "cannot query the blob");
  }
}
