/*
 * internal.h: what the API v1 resource files (one per resource) share,
 * and their entry points for the route table: the caller's identity, JSON
 * rendering of the resource shapes of DESIGN.md, the mapping of store
 * outcomes to problem types (each documented in docs/API.md), and parsing
 * of ids, integers and entity tags.  Nothing outside src/handlers
 * includes this.
 */
#ifndef AS_HANDLERS_INTERNAL_H
#define AS_HANDLERS_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "handlers/handlers.h"
#include "store/blob/blob.h"
#include "store/evlog/evring.h"
#include "store/registry/model.h"
#include "store/registry/query.h"
#include "store/registry/registry.h"

/* Until tokens identify callers, every request is the registry's
 * anonymous actor. */
#define HANDLERS_ACTOR REG_ACTOR_ANONYMOUS

static inline struct app *handlers_app(struct conn *c) {
  return http_server_data(c);
}

/* Who makes the request, for the events it writes; also recorded for the
 * request log.  HANDLERS_ACTOR until tokens identify callers. */
static inline const char *handlers_actor(struct conn *c) {
  http_set_actor(c, HANDLERS_ACTOR);
  return HANDLERS_ACTOR;
}

/* --- shared (common.c) --- */

/* "open", "finalized", "expired", "aborted" */
const char *handlers_status_name(enum pkg_status s);
json_t *handlers_package_json(const struct package *p);
json_t *handlers_file_json(const struct file_rec *f);
/* Sends o (consumed) as application/json. */
void handlers_respond_json(struct conn *c, int status, json_t *o,
                           const char *extra_headers);
/* The request's body as a JSON object, or NULL when answered: 415
 * unsupported-media-type for a Content-Type that is not JSON
 * (application/json or application/<x>+json, any case, parameters
 * allowed; none at all counts as JSON), 400 malformed-json otherwise. */
json_t *handlers_json_body(struct conn *c, const struct http_req *req);
/* A registry outcome (not REG_OK) as a problem. */
void handlers_reg_problem(struct conn *c, const struct reg_result *res);
/* A failed write of the store (status: the UV_E* cause, msg: the
 * sentence) as a problem: 503 database-corrupt (and the fence),
 * 507 insufficient-storage, 503 out-of-descriptors, 503
 * store-unavailable, or 500 for memory. */
void handlers_store_problem(struct conn *c, int status, const char *msg);
/* A failed query (status != 0) as a problem; not_found is used for
 * UV_ENOENT. */
void handlers_query_problem(struct conn *c, const struct query_result *res,
                            enum problem_id not_found);
/* Parses the {id} capture; answers 404 unknown-package and returns false
 * when it is not a package id. */
bool handlers_package_id(struct conn *c, const struct http_span *s,
                         struct uuid *id);
/* Decimal integer in [min, max] from a query parameter; false (and a 400
 * invalid-parameter) when malformed. *v keeps dflt when absent. */
bool handlers_query_int(struct conn *c, const struct http_req *req,
                        const char *key, int64_t min, int64_t max, int64_t *v);

/* --- conditional requests (precond.c, RFC 9110 section 13) --- */

/* Does an If-Match (strong: a weak tag never matches) or If-None-Match
 * (weak comparison) field value, `*` or a list of entity tags, match
 * etag (quoted)?  `*` matches any current representation: call only when
 * there is one.  A malformed value matches nothing. */
bool precond_list_matches(const char *value, const char *etag, bool strong);
/* The same for every line of field name in req (a list split over
 * several lines is one list, RFC 9110 section 5.3); call only when
 * http_header(req, name) is not NULL. */
bool precond_field_matches(const struct http_req *req, const char *name,
                           const char *etag, bool strong);
/* If-Range: true only when value is exactly etag as a strong tag (a weak
 * tag or an HTTP date never is: no Last-Modified is ever sent). */
bool precond_if_range(const char *value, const char *etag);

/* --- the store's state and the write fence (fence.c) --- */

/* From now on every write is refused (the first cause is kept):
 * EVLOG_ECORRUPT or UV_ENODEV, with the detail the problems carry. */
void fence_refuse(struct app *app, int cause, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A write failed for a reason of the disk (cause: UV_ENOSPC, UV_EIO, ...);
 * /health reports it until fence_write_ok. */
void fence_write_failed(struct app *app, int cause, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fence_write_ok(struct app *app);
/* Writes are refused: answers the 503 and returns true.  Every write
 * handler calls it before doing any work; an upload also checks
 * app->fence again before it records what it received. */
bool fence_answer(struct conn *c);
/* A database error of a read (what, why: for the detail): when it says
 * the file is damaged, fences writes, answers 503 database-corrupt and
 * returns true. */
bool fence_db_error(struct conn *c, int status, const char *what,
                    const char *why);
/* Records what a registry outcome says of the store (success clears a
 * failing state; a disk error sets it; damage fences).  Call it for every
 * outcome, whether or not the client is still there. */
void fence_reg_outcome(struct app *app, const struct reg_result *res);

/* --- per resource, for routes.c --- */

void health_get(struct conn *c, const struct http_req *req);
void packages_create(struct conn *c, const struct http_req *req);
void packages_list(struct conn *c, const struct http_req *req);
void packages_get(struct conn *c, const struct http_req *req);
void packages_finalize(struct conn *c, const struct http_req *req);
void files_list(struct conn *c, const struct http_req *req);
extern const struct http_stream_ops files_upload_ops;
void blobs_get_file(struct conn *c, const struct http_req *req);
void blobs_get_blob(struct conn *c, const struct http_req *req);
void manifest_get(struct conn *c, const struct http_req *req);
void events_get(struct conn *c, const struct http_req *req);
void packages_delete(struct conn *c, const struct http_req *req);
void blobs_get_path(struct conn *c, const struct http_req *req);
void retention_classes_list(struct conn *c, const struct http_req *req);
void retention_classes_define(struct conn *c, const struct http_req *req);
void retention_classes_remove(struct conn *c, const struct http_req *req);
void retention_extend(struct conn *c, const struct http_req *req);
void holds_place(struct conn *c, const struct http_req *req);
void holds_list(struct conn *c, const struct http_req *req);
void holds_release(struct conn *c, const struct http_req *req);

#endif
