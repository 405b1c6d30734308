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

json_t *handlers_package_json(const struct package *p);
json_t *handlers_file_json(const struct file_rec *f);
/* Sends o (consumed) as application/json. */
void handlers_respond_json(struct conn *c, int status, json_t *o,
                           const char *extra_headers);
/* A registry outcome (not REG_OK) as a problem. */
void handlers_reg_problem(struct conn *c, const struct reg_result *res);
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
/* If-None-Match (a list of entity tags or *) matches etag (quoted). */
bool handlers_etag_matches(const struct http_req *req, const char *etag);

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

#endif
