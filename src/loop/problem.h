/*
 * problem.h: every RFC 9457 problem type the API answers with, in one
 * table: id -> HTTP status, type slug, title.  Handlers and the HTTP layer
 * name a problem by its id and add only the detail; the status, slug and
 * title come from here, so the same problem is always spelled the same
 * way.  docs/API.md lists the same table; a test checks they agree.
 */
#ifndef AS_PROBLEM_H
#define AS_PROBLEM_H

enum problem_id {
  /* 400 */
  PROB_BAD_REQUEST,
  PROB_MALFORMED_JSON,
  PROB_INVALID_FIELD,
  PROB_UNKNOWN_RETENTION_CLASS,
  PROB_INVALID_PATH,
  PROB_INVALID_DIGEST_HEADER,
  PROB_DIGEST_MISMATCH,
  PROB_INVALID_MEDIA_TYPE,
  PROB_INVALID_ADDRESS,
  PROB_INVALID_PARAMETER,
  /* 404, 405, 408 */
  PROB_NO_ROUTE,
  PROB_UNKNOWN_PACKAGE,
  PROB_UNKNOWN_FILE,
  PROB_UNKNOWN_BLOB,
  PROB_UNKNOWN_HOLD,
  PROB_UNKNOWN_RETENTION_CLASS_NAME,
  PROB_METHOD_NOT_ALLOWED,
  PROB_REQUEST_TIMEOUT,
  PROB_BODY_TIMEOUT,
  /* 409 */
  PROB_PACKAGE_FINALIZED,
  PROB_DUPLICATE_PATH,
  PROB_ALREADY_FINALIZED,
  PROB_PACKAGE_NOT_FINALIZED,
  PROB_CURSOR_AHEAD,
  PROB_RETENTION_SHORTENING_REFUSED,
  PROB_RETENTION_ACTIVE,
  PROB_PACKAGE_HELD,
  PROB_RETENTION_CLASS_IN_USE,
  /* 410 */
  PROB_PACKAGE_EXPIRED,
  PROB_PACKAGE_ABORTED,
  /* 412, 413, 414, 415, 416, 417, 431 */
  PROB_PRECONDITION_FAILED,
  PROB_BODY_TOO_LARGE,
  PROB_URI_TOO_LONG,
  PROB_UNSUPPORTED_MEDIA_TYPE,
  PROB_RANGE_NOT_SATISFIABLE,
  PROB_EXPECTATION_FAILED,
  PROB_HEADERS_TOO_LARGE,
  /* 5xx */
  PROB_INTERNAL,
  PROB_NOT_IMPLEMENTED,
  PROB_VERSION_NOT_SUPPORTED,
  PROB_DATABASE_UNAVAILABLE,
  PROB_WRITER_UNAVAILABLE,
  PROB_BLOB_STORE_UNAVAILABLE,
  PROB_BLOB_UNAVAILABLE,
  PROB_TOO_MANY_CONNECTIONS,
  PROB_DATABASE_CORRUPT,
  PROB_STORE_UNAVAILABLE,
  PROB_OUT_OF_DESCRIPTORS,
  PROB_INSUFFICIENT_STORAGE,
  PROB_COUNT
};

struct problem {
  int status;        /* HTTP status */
  const char *slug;  /* after HTTP_PROBLEM_BASE */
  const char *title; /* RFC 9457 title: the same for every occurrence */
};

/* The problem base URI (docs/API.md lists every slug). */
#define HTTP_PROBLEM_BASE "https://artifactstored.dev/problems/"

/* The entry of id (never NULL for id < PROB_COUNT). */
const struct problem *problem_get(enum problem_id id);

#endif
