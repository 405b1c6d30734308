/*
 * holds.c: legal holds on a package: POST /v1/packages/{id}/holds,
 * GET /v1/packages/{id}/holds[?all=true], DELETE
 * /v1/packages/{id}/holds/{hold_id}.  A held package never expires and
 * cannot be deleted (docs/OPERATOR.md "Retention").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/internal.h"
#include "store/registry/retention.h"

struct hold_req {
  struct conn *c;
  struct uuid package_id;
  char reason[]; /* NUL-ended copy */
};

static void holds_writer_down(struct conn *c, int rc) {
  http_conn_release(c);
  http_problem(c, PROB_WRITER_UNAVAILABLE,
               "the registry is not accepting writes: %s", uv_strerror(rc));
}

/* --- place --- */

static void holds_placed_cb(const struct reg_result *res, void *arg) {
  struct hold_req *h = arg;
  struct conn *c = h->c;
  char id[UUID_STRLEN + 1], pid[UUID_STRLEN + 1], at[TS_STRLEN + 1];
  char loc[128];

  fence_reg_outcome(handlers_app(c), res);
  if (!http_conn_alive(c)) {
    ; /* the client has gone */
  } else if (res->error != REG_OK) {
    handlers_reg_problem(c, res);
  } else {
    uuid_format(&res->hold_id, id);
    uuid_format(&h->package_id, pid);
    ts_format(res->placed_at, at);
    snprintf(loc, sizeof loc, "Location: /v1/packages/%s/holds/%s\r\n", pid,
             id);
    handlers_respond_json(c, 201,
                          json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id,
                                    "package_id", pid, "reason", h->reason,
                                    "placed_at", at, "actor",
                                    handlers_actor(c)),
                          loc);
  }
  http_conn_release(c);
  free(h);
}

void holds_place(struct conn *c, const struct http_req *req) {
  const char *key;
  json_t *body, *val, *reason;
  struct hold_req *h;
  struct uuid id;
  size_t n;
  int rc;

  if (fence_answer(c) || !handlers_package_id(c, &req->params[0], &id) ||
      (body = handlers_json_body(c, req)) == NULL)
    return;
  json_object_foreach(body, key, val) {
    if (strcmp(key, "reason") != 0) {
      http_problem(c, PROB_INVALID_FIELD,
                   "unknown field \"%.64s\"; expected reason", key);
      goto out;
    }
  }
  reason = json_object_get(body, "reason");
  if (reason == NULL || !json_is_string(reason) ||
      (n = json_string_length(reason)) == 0 || n > REG_FIELD_MAX ||
      strlen(json_string_value(reason)) != n) {
    http_problem(c, PROB_INVALID_FIELD,
                 "field \"reason\" is required: a string of 1 to %d bytes "
                 "without NUL (a case number, a ticket)",
                 REG_FIELD_MAX);
    goto out;
  }
  if ((h = malloc(sizeof *h + n + 1)) == NULL) {
    http_problem(c, PROB_INTERNAL, "out of memory");
    goto out;
  }
  h->c = c;
  h->package_id = id;
  memcpy(h->reason, json_string_value(reason), n + 1);
  http_conn_hold(c);
  rc = reg_hold_place(handlers_app(c)->writer, &id, h->reason,
                      handlers_actor(c), holds_placed_cb, h);
  if (rc != 0) {
    free(h);
    holds_writer_down(c, rc);
  }
out:
  json_decref(body);
}

/* --- list --- */

static void holds_list_cb(struct query_result *res, void *arg) {
  struct conn *c = arg;
  json_t *arr;

  if (!http_conn_alive(c)) {
    ; /* the client has gone */
  } else if (res->status != 0) {
    handlers_query_problem(c, res, PROB_UNKNOWN_PACKAGE);
  } else if ((arr = json_loadb((const char *)res->bytes, res->bytes_len, 0,
                               NULL)) == NULL) {
    http_problem(c, PROB_INTERNAL, "the hold list could not be read");
  } else {
    handlers_respond_json(c, 200, json_pack("{s:o}", "holds", arr), NULL);
  }
  query_result_free(res);
  http_conn_release(c);
}

void holds_list(struct conn *c, const struct http_req *req) {
  char v[8];
  size_t n = 0;
  bool all = false;
  struct uuid id;
  int rc;

  if (!handlers_package_id(c, &req->params[0], &id))
    return;
  rc = http_query_value(req, "all", v, sizeof v, &n);
  if (rc == 0 && strcmp(v, "true") == 0) {
    all = true;
  } else if (rc != UV_ENOENT && (rc != 0 || strcmp(v, "false") != 0)) {
    http_problem(c, PROB_INVALID_PARAMETER,
                 "query parameter all must be true or false");
    return;
  }
  http_conn_hold(c);
  rc = query_holds_list(handlers_app(c)->reader, &id, all, holds_list_cb, c);
  if (rc != 0) {
    http_conn_release(c);
    http_problem(c, PROB_DATABASE_UNAVAILABLE, "cannot query: %s",
                 uv_strerror(rc));
  }
}

/* --- release --- */

static void holds_released_cb(const struct reg_result *res, void *arg) {
  struct conn *c = arg;

  fence_reg_outcome(handlers_app(c), res);
  if (!http_conn_alive(c))
    ; /* the client has gone */
  else if (res->error != REG_OK)
    handlers_reg_problem(c, res);
  else
    http_respond(c, 204, NULL, NULL, NULL, 0);
  http_conn_release(c);
}

void holds_release(struct conn *c, const struct http_req *req) {
  struct uuid id, hold;
  int rc;

  if (fence_answer(c) || !handlers_package_id(c, &req->params[0], &id))
    return;
  if (uuid_parse(req->params[1].p, req->params[1].n, &hold) != 0) {
    http_problem(c, PROB_UNKNOWN_HOLD,
                 "hold ids are UUIDs, the \"id\" of POST .../holds");
    return;
  }
  http_conn_hold(c);
  rc = reg_hold_release(handlers_app(c)->writer, &id, &hold,
                        handlers_actor(c), holds_released_cb, c);
  if (rc != 0)
    holds_writer_down(c, rc);
}
