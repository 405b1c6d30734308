/*
 * packages.c: create (POST /v1/packages), list with filters and cursor
 * paging, show, finalize, and delete (abort an open package, expire a
 * finalized one whose expiry has passed).  Writes go to the writer
 * thread; the answer is sent only after the event is committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/internal.h"
#include "store/codec/caddr.h"
#include "store/registry/retention.h"

#define PACKAGES_LIST_DEFAULT 100
#define PACKAGES_LIST_MAX 1000
/* --- replies from the writer and the readers --- */

static void packages_reply(const struct reg_result *res, struct conn *c,
                           bool created) {
  fence_reg_outcome(handlers_app(c), res); /* c is held: still memory */
  if (http_conn_alive(c)) {
    if (res->error != REG_OK || res->package == NULL) {
      handlers_reg_problem(c, res);
    } else {
      char id[UUID_STRLEN + 1], loc[96];
      uuid_format(&res->package->id, id);
      snprintf(loc, sizeof loc, "Location: /v1/packages/%s\r\n", id);
      handlers_respond_json(c, created ? 201 : 200,
                            handlers_package_json(res->package),
                            created ? loc : NULL);
    }
  }
  http_conn_release(c);
}

static void packages_created_cb(const struct reg_result *res, void *arg) {
  packages_reply(res, arg, true);
}

/* A retried finalize: 409 naming the manifest the package has (RFC 9457
 * extension member), so the client that missed the first answer gets it
 * now. */
static void packages_refinalize_cb(struct query_result *res, void *arg) {
  struct conn *c = arg;

  if (!http_conn_alive(c)) {
    ; /* the client has gone */
  } else if (res->status != 0 || !res->package->has_manifest) {
    http_problem(c, PROB_ALREADY_FINALIZED, "the package is already "
                                            "finalized");
  } else {
    char addr[CADDR_BUFSIZE];
    caddr_format_raw(CADDR_BLAKE3, res->package->manifest_digest, addr);
    http_problem_members(c, PROB_ALREADY_FINALIZED,
                         json_pack("{s:s}", "manifest_digest", addr),
                         "the package is already finalized; its manifest "
                         "is %s",
                         addr);
  }
  query_result_free(res);
  http_conn_release(c);
}

static void packages_finalized_cb(const struct reg_result *res, void *arg) {
  struct conn *c = arg;
  const struct http_req *req;
  struct uuid id;

  if (res->error == REG_ALREADY_FINALIZED && http_conn_alive(c)) {
    fence_reg_outcome(handlers_app(c), res);
    /* the request lives until its answer: its {id} was parsed before */
    req = http_conn_req(c);
    if (uuid_parse(req->params[0].p, req->params[0].n, &id) == 0 &&
        query_package_get(handlers_app(c)->reader, &id, packages_refinalize_cb,
                          c) == 0)
      return; /* the hold goes to the query */
    handlers_reg_problem(c, res);
    http_conn_release(c);
    return;
  }
  packages_reply(res, c, false);
}

static void packages_get_cb(struct query_result *res, void *arg) {
  struct conn *c = arg;

  if (http_conn_alive(c)) {
    if (res->status != 0)
      handlers_query_problem(c, res, PROB_UNKNOWN_PACKAGE);
    else
      handlers_respond_json(c, 200, handlers_package_json(res->package), NULL);
  }
  query_result_free(res);
  http_conn_release(c);
}

static void packages_list_cb(struct query_result *res, void *arg) {
  struct conn *c = arg;

  if (http_conn_alive(c)) {
    if (res->status == UV_EINVAL) {
      http_problem(c, PROB_INVALID_PARAMETER, "%s",
                   err_msg(&res->msg, res->status));
    } else if (res->status != 0) {
      handlers_query_problem(c, res, PROB_UNKNOWN_PACKAGE);
    } else {
      json_t *arr = json_array();
      for (size_t i = 0; i < res->count; i++)
        json_array_append_new(arr, handlers_package_json(res->packages[i]));
      handlers_respond_json(c, 200,
                            json_pack("{s:o, s:o}", "packages", arr, "next",
                                      res->next_cursor != NULL
                                          ? json_string(res->next_cursor)
                                          : json_null()),
                            NULL);
    }
  }
  query_result_free(res);
  http_conn_release(c);
}

/* --- create --- */

static const char *packages_str_field(struct conn *c, json_t *body,
                                      const char *key) {
  json_t *v = json_object_get(body, key);
  const char *s;

  if (v == NULL) {
    http_problem(c, PROB_INVALID_FIELD, "field \"%s\" is required", key);
    return NULL;
  }
  if (!json_is_string(v)) {
    http_problem(c, PROB_INVALID_FIELD, "field \"%s\" must be a string", key);
    return NULL;
  }
  s = json_string_value(v);
  /* the registry checks the same limit; this answers early, naming the
   * field */
  if (s[0] == '\0' || json_string_length(v) > REG_FIELD_MAX ||
      strlen(s) != json_string_length(v)) {
    http_problem(c, PROB_INVALID_FIELD,
                 "field \"%s\" must be a non-empty string of at most %d "
                 "bytes without NUL",
                 key, REG_FIELD_MAX);
    return NULL;
  }
  return s;
}

void packages_create(struct conn *c, const struct http_req *req) {
  struct app *app = handlers_app(c);
  struct pkg_create_req pr = {0};
  json_t *body, *meta;
  char *meta_text = NULL;
  const char *key;
  json_t *val;
  int rc;

  if (fence_answer(c))
    return;
  if ((body = handlers_json_body(c, req)) == NULL)
    return;
  json_object_foreach(body, key, val) {
    if (strcmp(key, "name") != 0 && strcmp(key, "producer") != 0 &&
        strcmp(key, "subject") != 0 && strcmp(key, "retention_class") != 0 &&
        strcmp(key, "metadata") != 0) {
      http_problem(c, PROB_INVALID_FIELD,
                   "unknown field \"%.64s\"; expected name, producer, "
                   "subject, retention_class, metadata",
                   key);
      goto out;
    }
  }
  if ((pr.name = packages_str_field(c, body, "name")) == NULL ||
      (pr.producer = packages_str_field(c, body, "producer")) == NULL ||
      (pr.subject = packages_str_field(c, body, "subject")) == NULL ||
      (pr.retention_class = packages_str_field(c, body, "retention_class")) ==
          NULL)
    goto out;
  meta = json_object_get(body, "metadata");
  if (meta != NULL && !json_is_null(meta)) {
    if (!json_is_object(meta)) {
      http_problem(c, PROB_INVALID_FIELD,
                   "field \"metadata\" must be a JSON object");
      goto out;
    }
    meta_text = json_dumps(meta, JSON_COMPACT);
    if (meta_text == NULL) {
      http_problem(c, PROB_INVALID_FIELD,
                   "field \"metadata\" could not be encoded");
      goto out;
    }
  }
  pr.metadata_json = meta_text;
  pr.actor = handlers_actor(c);
  http_conn_hold(c);
  rc = reg_package_create(app->writer, &pr, packages_created_cb, c);
  if (rc != 0) {
    http_conn_release(c);
    http_problem(c, PROB_WRITER_UNAVAILABLE,
                 "the registry is not accepting writes: %s", uv_strerror(rc));
  }
out:
  free(meta_text);
  json_decref(body);
}

/* --- show, list --- */

void packages_get(struct conn *c, const struct http_req *req) {
  struct app *app = handlers_app(c);
  struct uuid id;
  int rc;

  if (!handlers_package_id(c, &req->params[0], &id))
    return;
  http_conn_hold(c);
  rc = query_package_get(app->reader, &id, packages_get_cb, c);
  if (rc != 0) {
    http_conn_release(c);
    http_problem(c, PROB_DATABASE_UNAVAILABLE, "cannot query: %s",
                 uv_strerror(rc));
  }
}

/* A decoded copy of query parameter key, or NULL (absent or bad). */
static char *packages_param(struct conn *c, const struct http_req *req,
                            const char *key, bool *bad) {
  char *out = malloc(req->query.n + 1); /* no decoded value is longer */
  size_t n;
  int rc;

  if (out == NULL) {
    http_problem(c, PROB_INTERNAL, "out of memory");
    *bad = true;
    return NULL;
  }
  rc = http_query_value(req, key, out, req->query.n + 1, &n);
  if (rc != 0) {
    free(out);
    if (rc != UV_ENOENT) {
      http_problem(c, PROB_INVALID_PARAMETER,
                   "query parameter %s is not valid percent-encoding: %%XX "
                   "takes two hex digits, and %%00 is refused",
                   key);
      *bad = true;
    }
    return NULL;
  }
  return out;
}

void packages_list(struct conn *c, const struct http_req *req) {
  static const char *keys[] = {"name", "producer", "subject",
                               "retention_class", "status", "cursor"};
  struct app *app = handlers_app(c);
  struct pkg_filter f = {0};
  char *vals[ARRAY_SIZE(keys)] = {0};
  int64_t limit = PACKAGES_LIST_DEFAULT;
  bool bad = false;
  int rc;

  if (!handlers_query_int(c, req, "limit", 1, PACKAGES_LIST_MAX, &limit))
    return;
  for (size_t i = 0; i < ARRAY_SIZE(keys) && !bad; i++)
    vals[i] = packages_param(c, req, keys[i], &bad);
  if (bad)
    goto out;
  f.name = vals[0];
  f.producer = vals[1];
  f.subject = vals[2];
  f.retention_class = vals[3];
  if (vals[4] != NULL) {
    if (strcmp(vals[4], "open") == 0) {
      f.status = PKG_OPEN;
    } else if (strcmp(vals[4], "finalized") == 0) {
      f.status = PKG_FINALIZED;
    } else if (strcmp(vals[4], "expired") == 0) {
      f.status = PKG_EXPIRED;
    } else if (strcmp(vals[4], "aborted") == 0) {
      f.status = PKG_ABORTED;
    } else {
      http_problem(c, PROB_INVALID_PARAMETER,
                   "status must be open, finalized, expired or aborted");
      goto out;
    }
  }
  f.cursor = vals[5];
  f.limit = (unsigned)limit;
  http_conn_hold(c);
  rc = query_package_list(app->reader, &f, packages_list_cb, c);
  if (rc == UV_EINVAL) {
    http_conn_release(c);
    http_problem(c, PROB_INVALID_PARAMETER,
                 "cursor or filter is not valid: use the next value of a "
                 "previous page");
  } else if (rc != 0) {
    http_conn_release(c);
    http_problem(c, PROB_DATABASE_UNAVAILABLE, "cannot query: %s",
                 uv_strerror(rc));
  }
out:
  for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
    free(vals[i]);
}

/* --- finalize --- */

void packages_finalize(struct conn *c, const struct http_req *req) {
  struct app *app = handlers_app(c);
  struct uuid id;
  int rc;

  if (fence_answer(c) || !handlers_package_id(c, &req->params[0], &id))
    return;
  http_conn_hold(c);
  rc = reg_package_finalize(app->writer, &id, handlers_actor(c),
                            packages_finalized_cb, c);
  if (rc != 0) {
    http_conn_release(c);
    http_problem(c, PROB_WRITER_UNAVAILABLE,
                 "the registry is not accepting writes: %s", uv_strerror(rc));
  }
}

/* --- delete: abort an open package, expire a finalized one that is due --- */

static void packages_deleted_cb(const struct reg_result *res, void *arg) {
  struct conn *c = arg;
  char ts[TS_STRLEN + 1];

  if (res->error == REG_RETENTION_ACTIVE && http_conn_alive(c)) {
    fence_reg_outcome(handlers_app(c), res);
    if (res->expires_at != TS_NONE)
      ts_format(res->expires_at, ts);
    http_problem_members(c, PROB_RETENTION_ACTIVE,
                         json_pack("{s:o}", "expires_at",
                                   res->expires_at == TS_NONE
                                       ? json_null()
                                       : json_string(ts)),
                         "%s", res->msg.msg);
    http_conn_release(c);
    return;
  }
  packages_reply(res, c, false);
}

void packages_delete(struct conn *c, const struct http_req *req) {
  struct uuid id;
  int rc;

  if (fence_answer(c) || !handlers_package_id(c, &req->params[0], &id))
    return;
  http_conn_hold(c);
  rc = reg_package_delete(handlers_app(c)->writer, &id, handlers_actor(c),
                          packages_deleted_cb, c);
  if (rc != 0) {
    http_conn_release(c);
    http_problem(c, PROB_WRITER_UNAVAILABLE,
                 "the registry is not accepting writes: %s", uv_strerror(rc));
  }
}
