/*
 * manifest.c: GET /v1/packages/{id}/manifest.  The stored canonical CBOR
 * bytes as they are (Accept: application/cbor), or their JCS projection
 * (application/json, the default).  The ETag is the manifest address,
 * blake3 of the CBOR bytes, for both representations; it comes stored
 * with the event, and the JCS projection is made on the threadpool, so a
 * large manifest costs the loop nothing but the write.
 */
#include <stdio.h>
#include <stdlib.h>

#include "handlers/internal.h"
#include "store/codec/caddr.h"

static void manifest_cb(struct query_result *res, void *arg) {
  struct conn *c = arg;
  const struct http_req *req = http_conn_req(c);

  if (!http_conn_alive(c))
    goto out;
  if (res->status == UV_EAGAIN) {
    http_problem(c, PROB_PACKAGE_NOT_FINALIZED,
                 "the package has no manifest until it is finalized");
  } else if (res->status != 0) {
    handlers_query_problem(c, res, PROB_UNKNOWN_PACKAGE);
  } else {
    char addr[CADDR_BUFSIZE], etag[CADDR_BUFSIZE + 2], extra[256];

    caddr_format_raw(CADDR_BLAKE3, res->digest, addr);
    snprintf(etag, sizeof etag, "\"%s\"", addr);
    snprintf(extra, sizeof extra,
             "ETag: %s\r\nVary: Accept\r\nX-Content-Address: %s\r\n", etag,
             addr);
    if (handlers_etag_matches(req, etag))
      http_respond(c, 304, NULL, extra, NULL, 0);
    else
      http_respond(c, 200, http_accepts(req, "application/cbor")
                               ? "application/cbor"
                               : "application/json",
                   extra, res->bytes, res->bytes_len);
  }
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
