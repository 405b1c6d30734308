/* problem.c: the problem table (see problem.h). */
#include "loop/problem.h"

#include <assert.h>

#include "util/common.h"

static const struct problem problems[PROB_COUNT] = {
    [PROB_BAD_REQUEST] = {400, "bad-request", "Bad Request"},
    [PROB_MALFORMED_JSON] = {400, "malformed-json", "Malformed JSON"},
    [PROB_INVALID_FIELD] = {400, "invalid-field", "Invalid Field"},
    [PROB_UNKNOWN_RETENTION_CLASS] = {400, "unknown-retention-class",
                                      "Unknown Retention Class"},
    [PROB_INVALID_PATH] = {400, "invalid-path", "Invalid Path"},
    [PROB_INVALID_DIGEST_HEADER] = {400, "invalid-digest-header",
                                    "Invalid Digest Header"},
    [PROB_DIGEST_MISMATCH] = {400, "digest-mismatch", "Digest Mismatch"},
    [PROB_INVALID_MEDIA_TYPE] = {400, "invalid-media-type",
                                 "Invalid Media Type"},
    [PROB_INVALID_ADDRESS] = {400, "invalid-address",
                              "Invalid Content Address"},
    [PROB_INVALID_PARAMETER] = {400, "invalid-parameter", "Invalid Parameter"},
    [PROB_NO_ROUTE] = {404, "no-route", "Not Found"},
    [PROB_UNKNOWN_PACKAGE] = {404, "unknown-package", "Unknown Package"},
    [PROB_UNKNOWN_FILE] = {404, "unknown-file", "Unknown File"},
    [PROB_UNKNOWN_BLOB] = {404, "unknown-blob", "Unknown Blob"},
    [PROB_METHOD_NOT_ALLOWED] = {405, "method-not-allowed",
                                 "Method Not Allowed"},
    [PROB_REQUEST_TIMEOUT] = {408, "request-timeout", "Request Timeout"},
    [PROB_BODY_TIMEOUT] = {408, "body-timeout", "Request Timeout"},
    [PROB_PACKAGE_FINALIZED] = {409, "package-finalized", "Package Finalized"},
    [PROB_DUPLICATE_PATH] = {409, "duplicate-path", "Duplicate Path"},
    [PROB_ALREADY_FINALIZED] = {409, "already-finalized", "Already Finalized"},
    [PROB_PACKAGE_NOT_FINALIZED] = {409, "package-not-finalized",
                                    "Package Not Finalized"},
    [PROB_CURSOR_AHEAD] = {409, "cursor-ahead", "Cursor Ahead"},
    [PROB_PRECONDITION_FAILED] = {412, "precondition-failed",
                                  "Precondition Failed"},
    [PROB_BODY_TOO_LARGE] = {413, "body-too-large", "Content Too Large"},
    [PROB_URI_TOO_LONG] = {414, "uri-too-long", "URI Too Long"},
    [PROB_UNSUPPORTED_MEDIA_TYPE] = {415, "unsupported-media-type",
                                     "Unsupported Media Type"},
    [PROB_RANGE_NOT_SATISFIABLE] = {416, "range-not-satisfiable",
                                    "Range Not Satisfiable"},
    [PROB_EXPECTATION_FAILED] = {417, "expectation-failed",
                                 "Expectation Failed"},
    [PROB_HEADERS_TOO_LARGE] = {431, "headers-too-large",
                                "Request Header Fields Too Large"},
    [PROB_INTERNAL] = {500, "internal", "Internal Server Error"},
    [PROB_NOT_IMPLEMENTED] = {501, "not-implemented", "Not Implemented"},
    [PROB_VERSION_NOT_SUPPORTED] = {505, "http-version-not-supported",
                                    "HTTP Version Not Supported"},
    [PROB_DATABASE_UNAVAILABLE] = {503, "database-unavailable",
                                   "Service Unavailable"},
    [PROB_WRITER_UNAVAILABLE] = {503, "writer-unavailable",
                                 "Service Unavailable"},
    [PROB_BLOB_STORE_UNAVAILABLE] = {503, "blob-store-unavailable",
                                     "Service Unavailable"},
    [PROB_BLOB_UNAVAILABLE] = {503, "blob-unavailable", "Service Unavailable"},
    [PROB_TOO_MANY_CONNECTIONS] = {503, "too-many-connections",
                                   "Service Unavailable"},
    [PROB_DATABASE_CORRUPT] = {503, "database-corrupt", "Service Unavailable"},
    [PROB_STORE_UNAVAILABLE] = {503, "store-unavailable",
                                "Service Unavailable"},
    [PROB_OUT_OF_DESCRIPTORS] = {503, "out-of-descriptors",
                                 "Service Unavailable"},
    [PROB_INSUFFICIENT_STORAGE] = {507, "insufficient-storage",
                                   "Insufficient Storage"},
};

const struct problem *problem_get(enum problem_id id) {
  assert((unsigned)id < PROB_COUNT && problems[id].slug != NULL);
  return &problems[id];
}
