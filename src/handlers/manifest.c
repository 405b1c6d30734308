/*
 * manifest.c: GET /v1/packages/{id}/manifest.  The stored canonical CBOR
 * bytes as they are (Accept: application/cbor), or their JCS projection
 * (application/json, the default).  The two are different bytes, so they
 * have different strong ETags: the CBOR form's is the manifest address
 * (blake3 of the CBOR bytes, stored with the event), the JSON form's the
 * same address with "+json" appended; X-Content-Address is the manifest
 * address for both.  The JCS projection is made on the threadpool.  A
 * sealed manifest never changes: Cache-Control says immutable, Vary says
 * the form follows Accept, and Repr-Digest is the SHA-256 of the bytes
 * sent, computed here on the loop thread (SHA-256 runs at several hundred
 * MB/s, a manifest is a few hundred bytes per file).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "handlers/internal.h"
#include "store/codec/caddr.h"
#include "store/codec/digest.h"

#define MANIFEST_JSON_TAG "+json"

static void manifest_answer(struct conn *c, const struct http_req *req,
                            const struct query_result *res) {
  bool cbor = http_accepts(req, "application/cbor");
  char addr[CADDR_BUFSIZE], etag[CADDR_BUFSIZE + sizeof MANIFEST_JSON_TAG + 2];
  char b64[sodium_base64_ENCODED_LEN(DIGEST_LEN,
                                     sodium_base64_VARIANT_ORIGINAL)];
  char extra[512];
  uint8_t sha[DIGEST_LEN];
  const char *h;
  int n;

  caddr_format_raw(CADDR_BLAKE3, res->digest, addr);
  snprintf(etag, sizeof etag, "\"%s%s\"", addr, cbor ? "" : MANIFEST_JSON_TAG);
  n = snprintf(extra, sizeof extra,
               "ETag: %s\r\nVary: Accept\r\nX-Content-Address: %s\r\n"
               "Cache-Control: public, max-age=31536000, immutable\r\n",
               etag, addr);
  /* RFC 9110 section 13.2.2 order: If-Match, then If-None-Match */
  if ((h = http_header(req, "if-match")) != NULL &&
      !precond_field_matches(req, "if-match", etag, true)) {
    http_problem(c, PROB_PRECONDITION_FAILED,
                 "If-Match does not match the representation %s", etag);
    return;
  }
  if ((h = http_header(req, "if-none-match")) != NULL &&
      precond_field_matches(req, "if-none-match", etag, false)) {
    http_respond(c, 304, NULL, extra, NULL, 0);
    return;
  }
  if (digest_sha256(res->bytes, res->bytes_len, sha) != 0) {
    http_problem(c, PROB_INTERNAL, "could not hash the manifest");
    return;
  }
  sodium_bin2base64(b64, sizeof b64, sha, DIGEST_LEN,
                    sodium_base64_VARIANT_ORIGINAL);
  snprintf(extra + n, sizeof extra - (size_t)n,
           "Repr-Digest: sha-256=:%s:\r\n", b64);
  http_respond(c, 200, cbor ? "application/cbor" : "application/json", extra,
               res->bytes, res->bytes_len);
}

static void manifest_cb(struct query_result *res, void *arg) {
  struct conn *c = arg;

  if (!http_conn_alive(c))
    goto out;
  if (res->status == UV_EAGAIN)
    http_problem(c, PROB_PACKAGE_NOT_FINALIZED,
                 "the package has no manifest until it is finalized");
  else if (res->status != 0)
    handlers_query_problem(c, res, PROB_UNKNOWN_PACKAGE);
  else
    manifest_answer(c, http_conn_req(c), res);
out:
  query_result_free(res);
  http_conn_release(c);
}

void manifest_get(struct conn *c, const struct http_req *req) {
  struct uuid id;
  int rc;

  if (!handlers_package_id(c, &req->params[0], &id))
    return;
  http_conn_hold(c);
  rc = http_accepts(req, "application/cbor")
           ? query_manifest_get(handlers_app(c)->reader, &id, manifest_cb, c)
           : query_manifest_json(handlers_app(c)->reader, &id, manifest_cb, c);
  if (rc != 0) {
    http_conn_release(c);
    http_problem(c, PROB_DATABASE_UNAVAILABLE, "cannot query the manifest");
  }
}
