/*
 * retention.c: retention classes (GET, POST /v1/retention-classes,
 * DELETE /v1/retention-classes/{name}) and the extension of one package's
 * retention (POST /v1/packages/{id}/retention).  Writes go to the writer
 * thread; the answer is sent only after the event is committed.  Nothing
 * here makes retention shorter (docs/OPERATOR.md "Retention").
 */
#include <stdlib.h>
#include <string.h>

#include "handlers/internal.h"
#include "store/registry/retention.h"

/* Every field of body is one of keys (n of them, listed in expected);
 * else answers 400 and returns false. */
static bool ret_known_fields(struct conn *c, json_t *body,
                             const char *const *keys, size_t n,
                             const char *expected) {
  const char *key;
  json_t *val;

  json_object_foreach(body, key, val) {
    size_t i = 0;
    while (i < n && strcmp(key, keys[i]) != 0)
      i++;
    if (i == n) {
      http_problem(c, PROB_INVALID_FIELD,
                   "unknown field \"%.64s\"; expected %s", key, expected);
      return false;
    }
  }
  return true;
}

static void ret_writer_down(struct conn *c, int rc) {
  http_conn_release(c);
  http_problem(c, PROB_WRITER_UNAVAILABLE,
               "the registry is not accepting writes: %s", uv_strerror(rc));
}

/* --- GET /v1/retention-classes --- */

static void ret_list_cb(struct query_result *res, void *arg) {
  struct conn *c = arg;
  json_t *arr;

  if (!http_conn_alive(c)) {
    ; /* the client has gone */
  } else if (res->status != 0) {
    handlers_query_problem(c, res, PROB_NO_ROUTE);
  } else if ((arr = json_loadb((const char *)res->bytes, res->bytes_len, 0,
                               NULL)) == NULL) {
    http_problem(c, PROB_INTERNAL, "the class list could not be read");
  } else {
    handlers_respond_json(c, 200, json_pack("{s:o}", "retention_classes",
                                            arr),
                          NULL);
  }
  query_result_free(res);
  http_conn_release(c);
}

void retention_classes_list(struct conn *c, const struct http_req *req) {
  int rc;

  (void)req;
  http_conn_hold(c);
  rc = query_classes_list(handlers_app(c)->reader, ret_list_cb, c);
  if (rc != 0) {
    http_conn_release(c);
    http_problem(c, PROB_DATABASE_UNAVAILABLE, "cannot query: %s",
                 uv_strerror(rc));
  }
}

/* --- POST /v1/retention-classes --- */

struct ret_define {
  struct conn *c;
  int64_t duration;
  char name[REG_CLASS_NAME_MAX + 1];
};

static void ret_defined_cb(const struct reg_result *res, void *arg) {
  struct ret_define *d = arg;
  struct conn *c = d->c;

  fence_reg_outcome(handlers_app(c), res);
  if (!http_conn_alive(c))
    ; /* the client has gone */
  else if (res->error != REG_OK)
    handlers_reg_problem(c, res);
  else
    handlers_respond_json(
        c, res->created ? 201 : 200,
        json_pack("{s:s, s:o}", "name", d->name, "duration_seconds",
                  d->duration == REG_NEVER ? json_null()
                                           : json_integer(d->duration)),
        NULL);
  http_conn_release(c);
  free(d);
}

/* duration_seconds: a whole number of seconds in range, or null. */
static bool ret_duration(struct conn *c, json_t *v, int64_t *out) {
  if (json_is_null(v)) {
    *out = REG_NEVER;
    return true;
  }
  if (!json_is_integer(v) || json_integer_value(v) < 1 ||
      json_integer_value(v) > REG_DURATION_MAX) {
    http_problem(c, PROB_INVALID_FIELD,
                 "field \"duration_seconds\" must be an integer from 1 to "
                 "%lld (seconds), or null for a class that never expires",
                 (long long)REG_DURATION_MAX);
    return false;
  }
  *out = json_integer_value(v);
  return true;
}

void retention_classes_define(struct conn *c, const struct http_req *req) {
  static const char *const keys[] = {"name", "duration_seconds"};
  struct ret_define *d = NULL;
  struct errbuf e = {{0}};
  json_t *body, *name, *dur;
  int rc;

  if (fence_answer(c) || (body = handlers_json_body(c, req)) == NULL)
    return;
  if (!ret_known_fields(c, body, keys, 2, "name, duration_seconds"))
    goto out;
  name = json_object_get(body, "name");
  dur = json_object_get(body, "duration_seconds");
  if (name == NULL || dur == NULL) {
    http_problem(c, PROB_INVALID_FIELD,
                 "fields \"name\" and \"duration_seconds\" are required "
                 "(null: never expires)");
    goto out;
  }
  if (!json_is_string(name) ||
      strlen(json_string_value(name)) != json_string_length(name) ||
      reg_class_name_check(json_string_value(name), &e) != 0) {
    http_problem(c, PROB_INVALID_FIELD, "field \"name\": %s",
                 json_is_string(name) ? err_msg(&e, UV_EINVAL)
                                      : "must be a string");
    goto out;
  }
  if ((d = calloc(1, sizeof *d)) == NULL) {
    http_problem(c, PROB_INTERNAL, "out of memory");
    goto out;
  }
  if (!ret_duration(c, dur, &d->duration)) {
    free(d);
    goto out;
  }
  d->c = c;
  memcpy(d->name, json_string_value(name), json_string_length(name) + 1);
  http_conn_hold(c);
  rc = reg_class_define(handlers_app(c)->writer, d->name, d->duration,
                        handlers_actor(c), ret_defined_cb, d);
  if (rc != 0) {
    free(d);
    ret_writer_down(c, rc);
  }
out:
  json_decref(body);
}

/* --- DELETE /v1/retention-classes/{name} --- */

static void ret_removed_cb(const struct reg_result *res, void *arg) {
  struct conn *c = arg;

  fence_reg_outcome(handlers_app(c), res);
  if (!http_conn_alive(c))
    ; /* the client has gone */
  else if (res->error == REG_UNKNOWN_RETENTION)
    http_problem(c, PROB_UNKNOWN_RETENTION_CLASS_NAME, "%s", res->msg.msg);
  else if (res->error != REG_OK)
    handlers_reg_problem(c, res);
  else
    http_respond(c, 204, NULL, NULL, NULL, 0);
  http_conn_release(c);
}

void retention_classes_remove(struct conn *c, const struct http_req *req) {
  struct errbuf e = {{0}};
  char *name = NULL;
  size_t n = 0;
  int rc;

  if (fence_answer(c))
    return;
  if (http_pct_decode(req->params[0].p, req->params[0].n, &name, &n) != 0 ||
      strlen(name) != n || reg_class_name_check(name, &e) != 0) {
    http_problem(c, PROB_UNKNOWN_RETENTION_CLASS_NAME,
                 "there is no retention class with this name (GET "
                 "/v1/retention-classes lists them)");
    free(name);
    return;
  }
  http_conn_hold(c);
  rc = reg_class_remove(handlers_app(c)->writer, name, handlers_actor(c),
                        ret_removed_cb, c);
  free(name);
  if (rc != 0)
    ret_writer_down(c, rc);
}

/* --- POST /v1/packages/{id}/retention --- */

static void ret_extended_cb(const struct reg_result *res, void *arg) {
  struct conn *c = arg;

  fence_reg_outcome(handlers_app(c), res);
  if (!http_conn_alive(c))
    ; /* the client has gone */
  else if (res->error != REG_OK || res->package == NULL)
    handlers_reg_problem(c, res);
  else
    handlers_respond_json(c, 200, handlers_package_json(res->package), NULL);
  http_conn_release(c);
}

void retention_extend(struct conn *c, const struct http_req *req) {
  static const char *const keys[] = {"retention_class", "expires_at"};
  const char *cls = NULL;
  json_t *body, *vc, *ve;
  int64_t at = TS_NONE;
  struct uuid id;
  int rc;

  if (fence_answer(c) || !handlers_package_id(c, &req->params[0], &id) ||
      (body = handlers_json_body(c, req)) == NULL)
    return;
  if (!ret_known_fields(c, body, keys, 2, "retention_class or expires_at"))
    goto out;
  vc = json_object_get(body, "retention_class");
  ve = json_object_get(body, "expires_at");
  if ((vc == NULL) == (ve == NULL)) {
    http_problem(c, PROB_INVALID_FIELD,
                 "give exactly one of \"retention_class\" and "
                 "\"expires_at\"");
    goto out;
  }
  if (vc != NULL) {
    if (!json_is_string(vc) || json_string_length(vc) == 0 ||
        json_string_length(vc) > REG_FIELD_MAX ||
        strlen(json_string_value(vc)) != json_string_length(vc)) {
      http_problem(c, PROB_INVALID_FIELD,
                   "field \"retention_class\" must be the name of a class");
      goto out;
    }
    cls = json_string_value(vc);
  } else if (!json_is_string(ve) ||
             ts_parse(json_string_value(ve), json_string_length(ve), &at) !=
                 0) {
    http_problem(c, PROB_INVALID_FIELD,
                 "field \"expires_at\" must be an RFC 3339 UTC time such as "
                 "2027-06-01T00:00:00Z (offset Z, at most 6 fractional "
                 "digits)");
    goto out;
  }
  http_conn_hold(c);
  rc = reg_retention_extend(handlers_app(c)->writer, &id, cls, at,
                            handlers_actor(c), ret_extended_cb, c);
  if (rc != 0)
    ret_writer_down(c, rc);
out:
  json_decref(body);
}
