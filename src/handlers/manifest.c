/*
 * manifest.c: GET /v1/packages/{id}/manifest.  The stored canonical CBOR
 * bytes as they are (Accept: application/cbor), or their JCS projection
 * (application/json, the default).  The ETag is the manifest address,
 * blake3 of the CBOR bytes, for both representations.
 */
#include <stdio.h>
#include <stdlib.h>

#include "handlers/handlers.h"
#include "store/caddr.h"
#include "store/jcs.h"

static void manifest_cb(struct query_result *res, void *arg) {
  struct conn *c = arg;
  const struct http_req *req = http_conn_req(c);

  if (!http_conn_alive(c))
    goto out;
  if (res->status == UV_EAGAIN) {
    http_problem(c, 409, "package-not-finalized", "Package Not Finalized",
                 "the package has no manifest until it is finalized");
  } else if (res->status != 0) {
    hx_query_problem(c, res, "unknown-package");
  } else {
    uint8_t d[DIGEST_LEN];
    char addr[CADDR_BUFSIZE], etag[CADDR_BUFSIZE + 2], extra[256];
    bool cbor = http_accepts(req, "application/cbor");

    digest_blake3(res->bytes, res->bytes_len, d); /* small: one manifest */
    caddr_format_raw(CADDR_BLAKE3, d, addr);
    snprintf(etag, sizeof etag, "\"%s\"", addr);
    snprintf(extra, sizeof extra,
             "ETag: %s\r\nVary: Accept\r\nX-Content-Address: %s\r\n", etag,
             addr);
    if (hx_etag_matches(req, etag)) {
      http_respond(c, 304, NULL, extra, NULL, 0);
    } else if (cbor) {
      http_respond(c, 200, "application/cbor", extra, res->bytes,
                   res->bytes_len);
    } else {
      char *text = NULL;
      size_t n = 0;
      struct errbuf e = {{0}};
      int rc = jcs_from_cbor_bytes(res->bytes, res->bytes_len, &text, &n, &e);
      if (rc != 0)
        http_problem(c, 500, "internal", "Internal Server Error",
                     "the stored manifest does not convert to JSON: %s",
                     err_msg(&e, rc));
      else
        http_respond(c, 200, "application/json", extra, text, n);
      free(text);
    }
  }
out:
  query_result_free(res);
  http_conn_release(c);
}

void manifest_get(struct conn *c, const struct http_req *req) {
  struct uuid id;

  if (!hx_package_id(c, &req->params[0], &id))
    return;
  http_conn_hold(c);
  if (query_manifest_get(handlers_app(c)->reader, &id, manifest_cb, c) != 0) {
    http_conn_release(c);
    http_problem(c, 503, "database-unavailable", "Service Unavailable",
                 "cannot query the manifest");
  }
}
