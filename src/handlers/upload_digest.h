/*
 * upload_digest.h: the digests a producer announces with an upload
 * (Repr-Digest, Content-Digest, X-Content-Address), read once from the
 * request head and merged into the one expectation the blob store checks
 * the received bytes against.
 */
#ifndef AS_UPLOAD_DIGEST_H
#define AS_UPLOAD_DIGEST_H

#include <stdbool.h>

#include "loop/http.h"
#include "store/codec/digest.h"

/* Reads every announcement in req's head.  0 with out holding each
 * announced digest (all-zero where none was announced) and *any telling
 * whether there was one.  Otherwise UV_EINVAL with *prob the problem to
 * answer (invalid-digest-header, digest-mismatch for announcements that
 * disagree or name no content, bad-request for a partial upload) and e
 * saying what is wrong; the body must not be read then. */
int upload_digest_read(const struct http_req *req, struct digest_pair *out,
                       bool *any, enum problem_id *prob, struct errbuf *e);

#endif
