/*
 * common.c: what the resource handlers share: JSON shapes of packages and
 * files (DESIGN.md "Resource shapes"), registry and query outcomes mapped
 * to problem types, and parsing of ids, integers and entity tags.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers/internal.h"
#include "store/codec/caddr.h"
#include "util/sbuf.h"

static json_t *field_ts(int64_t us) {
  char ts[TS_STRLEN + 1];
  if (us == TS_NONE)
    return json_null();
  ts_format(us, ts);
  return json_string(ts);
}

static json_t *field_addr(enum caddr_alg alg, const uint8_t d[DIGEST_LEN]) {
  char a[CADDR_BUFSIZE];
  caddr_format_raw(alg, d, a);
  return json_string(a);
}

static json_t *field_str(const char *s) {
  return s != NULL ? json_string(s) : json_null();
}

const char *handlers_status_name(enum pkg_status s) {
  switch (s) {
  case PKG_OPEN:
    return "open";
  case PKG_FINALIZED:
    return "finalized";
  case PKG_EXPIRED:
    return "expired";
  case PKG_ABORTED:
    return "aborted";
  }
  return "unknown";
}

json_t *handlers_package_json(const struct package *p) {
  char id[UUID_STRLEN + 1];
  json_t *o = json_object(), *meta = NULL, *holds = NULL;

  uuid_format(&p->id, id);
  if (p->metadata_json != NULL)
    meta = json_loads(p->metadata_json, JSON_DECODE_ANY, NULL);
  if (p->holds_json != NULL)
    holds = json_loads(p->holds_json, 0, NULL);
  json_object_set_new(o, "id", json_string(id));
  json_object_set_new(o, "name", field_str(p->name));
  json_object_set_new(o, "producer", field_str(p->producer));
  json_object_set_new(o, "subject", field_str(p->subject));
  json_object_set_new(o, "retention_class", field_str(p->retention_class));
  json_object_set_new(o, "metadata", meta != NULL ? meta : json_object());
  json_object_set_new(o, "status", json_string(handlers_status_name(p->status)));
  json_object_set_new(o, "created_at", field_ts(p->created_at));
  json_object_set_new(o, "finalized_at", field_ts(p->finalized_at));
  json_object_set_new(o, "manifest_digest",
                      p->has_manifest
                          ? field_addr(CADDR_BLAKE3, p->manifest_digest)
                          : json_null());
  json_object_set_new(o, "expires_at", field_ts(p->expires_at));
  json_object_set_new(o, "holds", json_is_array(holds) ? holds : json_array());
  if (holds != NULL && !json_is_array(holds))
    json_decref(holds);
  return o;
}

json_t *handlers_file_json(const struct file_rec *f) {
  char id[UUID_STRLEN + 1], pid[UUID_STRLEN + 1];
  json_t *o = json_object();

  uuid_format(&f->id, id);
  uuid_format(&f->package_id, pid);
  json_object_set_new(o, "id", json_string(id));
  json_object_set_new(o, "package_id", json_string(pid));
  json_object_set_new(o, "path", field_str(f->path));
  json_object_set_new(o, "media_type", field_str(f->media_type));
  json_object_set_new(o, "size", json_integer((json_int_t)f->size));
  json_object_set_new(o, "blake3", field_addr(CADDR_BLAKE3, f->digests.blake3));
  json_object_set_new(o, "sha256", field_addr(CADDR_SHA256, f->digests.sha256));
  return o;
}

/* json_dumps' callback: appends to an sbuf. */
static int common_dump_cb(const char *buf, size_t size, void *data) {
  return sbuf_put(data, buf, size) == 0 ? 0 : -1;
}

void handlers_respond_json(struct conn *c, int status, json_t *o,
                           const char *extra_headers) {
  struct sbuf b = SBUF_INIT;
  /* every JSON body ends with a newline: one line for a terminal, and
   * for tools that read line by line */
  bool ok = o != NULL &&
            json_dump_callback(o, common_dump_cb, &b,
                               JSON_COMPACT | JSON_PRESERVE_ORDER) == 0 &&
            sbuf_put(&b, "\n", 1) == 0;

  json_decref(o);
  if (ok)
    http_respond(c, status, "application/json", extra_headers, b.p,
                 b.len);
  else
    http_problem(c, PROB_INTERNAL, "could not encode the response");
  sbuf_free(&b);
}

/* tchar of RFC 9110 section 5.6.2 */
static bool common_tchar(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         (ch >= '0' && ch <= '9') || (ch != '\0' && strchr("!#$%&'*+-.^_`|~",
                                                          ch) != NULL);
}

/* application/json or application/<x>+json, case-insensitive, before any
 * parameters (RFC 8259 section 11, RFC 6839 section 3.1). */
static bool common_ctype_is_json(const char *ct) {
  static const char app[] = "application/";
  size_t n = strcspn(ct, ";"), an = sizeof app - 1;
  const char *sub = ct + an;
  size_t sn;

  while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
    n--;
  if (n <= an || strncasecmp(ct, app, an) != 0)
    return false;
  sn = n - an;
  for (size_t i = 0; i < sn; i++)
    if (!common_tchar(sub[i]))
      return false;
  return (sn == 4 && strncasecmp(sub, "json", 4) == 0) ||
         (sn > 5 && strncasecmp(sub + sn - 5, "+json", 5) == 0);
}

json_t *handlers_json_body(struct conn *c, const struct http_req *req) {
  const char *ct = http_header(req, "content-type");
  json_error_t jerr;
  json_t *body;

  if (ct != NULL && !common_ctype_is_json(ct)) {
    http_problem(c, PROB_UNSUPPORTED_MEDIA_TYPE,
                 "the body must be JSON sent as Content-Type: "
                 "application/json, not \"%.100s\" (curl -d sends "
                 "application/x-www-form-urlencoded unless given -H "
                 "'Content-Type: application/json')",
                 ct);
    return NULL;
  }
  body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
  if (body == NULL) {
    http_problem(c, PROB_MALFORMED_JSON,
                 "the body is not valid JSON: %s (line %d, column %d)",
                 jerr.text, jerr.line, jerr.column);
    return NULL;
  }
  if (!json_is_object(body)) {
    json_decref(body);
    http_problem(c, PROB_MALFORMED_JSON, "the body must be a JSON object");
    return NULL;
  }
  return body;
}

void handlers_reg_problem(struct conn *c, const struct reg_result *res) {
  const char *msg = res->msg.msg[0] != '\0' ? res->msg.msg : "";

  switch (res->error) {
  case REG_INVALID:
    http_problem(c, PROB_INVALID_FIELD, "%s", msg);
    break;
  case REG_UNKNOWN_RETENTION:
    http_problem(c, PROB_UNKNOWN_RETENTION_CLASS, "%s", msg);
    break;
  case REG_NO_PACKAGE:
    http_problem(c, PROB_UNKNOWN_PACKAGE, "%s", msg);
    break;
  case REG_PACKAGE_FINALIZED:
    http_problem(c, PROB_PACKAGE_FINALIZED, "%s", msg);
    break;
  case REG_DUPLICATE_PATH:
    http_problem(c, PROB_DUPLICATE_PATH, "%s", msg);
    break;
  case REG_ALREADY_FINALIZED:
    http_problem(c, PROB_ALREADY_FINALIZED, "%s", msg);
    break;
  case REG_PACKAGE_EXPIRED:
    http_problem(c, PROB_PACKAGE_EXPIRED, "%s", msg);
    break;
  case REG_PACKAGE_ABORTED:
    http_problem(c, PROB_PACKAGE_ABORTED, "%s", msg);
    break;
  case REG_NOT_FINALIZED:
    http_problem(c, PROB_PACKAGE_NOT_FINALIZED, "%s", msg);
    break;
  case REG_SHORTENING:
    http_problem(c, PROB_RETENTION_SHORTENING_REFUSED, "%s", msg);
    break;
  case REG_RETENTION_ACTIVE:
    http_problem(c, PROB_RETENTION_ACTIVE, "%s", msg);
    break;
  case REG_PACKAGE_HELD:
    http_problem(c, PROB_PACKAGE_HELD, "%s", msg);
    break;
  case REG_NO_HOLD:
    http_problem(c, PROB_UNKNOWN_HOLD, "%s", msg);
    break;
  case REG_CLASS_IN_USE:
    http_problem(c, PROB_RETENTION_CLASS_IN_USE, "%s", msg);
    break;
  default:
    handlers_store_problem(c, res->status, msg);
    break;
  }
}

void handlers_store_problem(struct conn *c, int status, const char *msg) {
  if (fence_db_error(c, status, "writing", msg))
    return;
  switch (status) {
  case 0:
  case UV_ENOMEM:
    http_problem(c, PROB_INTERNAL, "the registry failed: %s", msg);
    break;
  case UV_ENOSPC:
    http_problem(c, PROB_INSUFFICIENT_STORAGE,
                 "the disk holding the database is full (%s); nothing was "
                 "stored: free space, then retry",
                 msg);
    break;
  case UV_EMFILE:
  case UV_ENFILE:
    http_problem_with(c, PROB_OUT_OF_DESCRIPTORS, "Retry-After: 1\r\n",
                      "the daemon ran out of file descriptors (%s); nothing "
                      "was stored: retry",
                      msg);
    break;
  default:
    http_problem(c, PROB_STORE_UNAVAILABLE,
                 "writing the database failed (%s); nothing was stored",
                 msg);
    break;
  }
}

void handlers_query_problem(struct conn *c, const struct query_result *res,
                            enum problem_id not_found) {
  if (res->status == UV_ENOENT)
    http_problem(c, not_found, "%s",
                 res->msg.msg[0] != '\0' ? res->msg.msg : "no such resource");
  else if (fence_db_error(c, res->status, "reading",
                          err_msg(&res->msg, res->status)))
    ; /* answered: database-corrupt */
  else
    http_problem(c, PROB_DATABASE_UNAVAILABLE,
                 "reading the database failed: %s",
                 err_msg(&res->msg, res->status));
}

bool handlers_package_id(struct conn *c, const struct http_span *s,
                         struct uuid *id) {
  if (uuid_parse(s->p, s->n, id) == 0)
    return true;
  http_problem(c, PROB_UNKNOWN_PACKAGE,
               "package ids are UUIDs such as "
               "0190f5e4-8a2b-7cde-8f01-23456789abcd");
  return false;
}

bool handlers_query_int(struct conn *c, const struct http_req *req,
                        const char *key, int64_t min, int64_t max, int64_t *v) {
  char buf[24];
  char *end;
  size_t n;
  long long x;
  int rc;

  rc = http_query_value(req, key, buf, sizeof buf, &n);
  if (rc == UV_ENOENT)
    return true;
  if (rc == UV_EINVAL) {
    http_problem(c, PROB_INVALID_PARAMETER,
                 "query parameter %s is not valid percent-encoding: "
                 "%%XX takes two hex digits, and %%00 is refused",
                 key);
    return false;
  }
  if (rc != 0 || n == 0 || buf[0] < '0' || buf[0] > '9')
    goto bad;
  errno = 0;
  x = strtoll(buf, &end, 10);
  if (*end != '\0' || errno != 0 || x < min || x > max)
    goto bad;
  *v = x;
  return true;
bad:
  http_problem(c, PROB_INVALID_PARAMETER,
               "query parameter %s must be an integer from %lld to %lld", key,
               (long long)min, (long long)max);
  return false;
}
