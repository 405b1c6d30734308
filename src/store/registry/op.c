/*
 * op.c: what the registry's operations share (see op.h): the job's life
 * (allocation with its strings, submission, the hand-back on the loop
 * thread) and the building blocks of an operation on the writer thread:
 * field checks, payload building, emitting, reading rows back.
 */
#include "store/registry/op.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store/codec/ccbor.h"
#include "store/codec/jcs.h"
#include "store/registry/rows.h"
#include "store/registry/views.h"
#include "util/utf8.h"

/* ---- the job's life (loop thread) --------------------------------------- */

static void reg_result_clear(struct reg_result *res) {
  free(res->package);
  free(res->file);
  free(res->collected);
  res->package = NULL;
  res->file = NULL;
  res->collected = NULL;
  res->ncollected = 0;
  res->sequence = 0;
}

static void reg_job_done_cb(struct writer_job *wj, int status) {
  struct reg_job *j = container_of(wj, struct reg_job, wj);

  if (status != 0 && j->res.error == REG_OK) {
    /* the writer could not keep what the job did */
    j->res.error = REG_INTERNAL;
    j->res.status = status;
    j->res.msg = wj->msg;
  }
  if (j->res.error != REG_OK)
    reg_result_clear(&j->res);
  j->cb(&j->res, j->arg);
  reg_result_clear(&j->res);
  free(j);
}

int reg_job_submit(struct writer *w, struct reg_job *j, writer_run_cb run,
                   reg_cb cb, void *arg) {
  int rc;

  j->cb = cb;
  j->arg = arg;
  if ((rc = writer_submit(w, &j->wj, run, reg_job_done_cb)) != 0)
    free(j);
  return rc;
}

int reg_job_status(const struct reg_job *j) {
  return j->res.error == REG_OK ? 0 : UV_ECANCELED;
}

/* ---- errors and fields (writer thread) ---------------------------------- */

void reg_err(struct reg_result *res, enum reg_error err, const char *fmt,
             ...) {
  va_list ap;

  res->error = err;
  va_start(ap, fmt);
  vsnprintf(res->msg.msg, sizeof res->msg.msg, fmt, ap);
  va_end(ap);
}

void reg_internal(struct reg_result *res, int rc, const struct errbuf *e) {
  reg_err(res, REG_INTERNAL, "%s", err_msg(e, rc));
  res->status = rc;
}

bool reg_field(struct reg_result *res, const char *name, const char *v) {
  size_t n, ok;

  if (v == NULL || v[0] == '\0') {
    reg_err(res, REG_INVALID, "field \"%s\" is required", name);
    return false;
  }
  n = strlen(v);
  if (n > REG_FIELD_MAX) {
    reg_err(res, REG_INVALID, "field \"%s\" is longer than %d bytes", name,
            REG_FIELD_MAX);
    return false;
  }
  ok = utf8_valid_prefix((const uint8_t *)v, n);
  if (ok != n) {
    reg_err(res, REG_INVALID,
            "field \"%s\" is not valid UTF-8 (bad byte at offset %zu)", name,
            ok);
    return false;
  }
  return true;
}

int64_t reg_now(int64_t *unix_ms) {
  int64_t us = ts_now_us();

  *unix_ms = us / 1000;
  return us;
}

/* ---- payloads ----------------------------------------------------------- */

int reg_put_uuid(cbor_item_t *map, const char *key, const struct uuid *id) {
  char s[UUID_STRLEN + 1];

  uuid_format(id, s);
  return ccbor_map_put_str(map, key, s);
}

int reg_put_caddr(cbor_item_t *map, const char *key, enum caddr_alg alg,
                  const uint8_t *d) {
  char s[CADDR_BUFSIZE];

  caddr_format_raw(alg, d, s);
  return ccbor_map_put_str(map, key, s);
}

int reg_metadata(const char *text, cbor_item_t **out,
                 struct reg_result *res) {
  json_error_t jerr;
  json_t *json;
  struct errbuf e = {{0}};
  int rc;

  *out = NULL;
  if (text == NULL) {
    *out = ccbor_map_new(0);
    if (*out == NULL) {
      reg_err(res, REG_INTERNAL, "out of memory");
      return UV_ENOMEM;
    }
    return 0;
  }
  if (strlen(text) > REG_METADATA_MAX) {
    reg_err(res, REG_INVALID, "metadata is larger than %d bytes",
            REG_METADATA_MAX);
    return UV_EINVAL;
  }
  json = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
  if (json == NULL) {
    reg_err(res, REG_INVALID, "metadata is not valid JSON: %s (line %d)",
            jerr.text, jerr.line);
    return UV_EINVAL;
  }
  if (!json_is_object(json)) {
    json_decref(json);
    reg_err(res, REG_INVALID, "metadata must be a JSON object");
    return UV_EINVAL;
  }
  rc = jcs_json_to_cbor(json, out, &e);
  json_decref(json);
  if (rc != 0)
    reg_err(res, rc == UV_ENOMEM ? REG_INTERNAL : REG_INVALID,
            "metadata: %s", err_msg(&e, rc));
  return rc;
}

void reg_emit(struct wtx *tx, struct reg_job *j, cbor_item_t *map,
              int build_rc, const char *type, const char *kind,
              const struct uuid *subject, int64_t created_at) {
  struct event_rec ev;
  struct errbuf e = {{0}};
  uint8_t *payload = NULL;
  size_t len = 0;
  int rc = build_rc;

  if (rc != 0) {
    cbor_decref(&map);
    reg_err(&j->res, rc == UV_ENOMEM ? REG_INTERNAL : REG_INVALID,
            "could not build the %s event (a field is not valid UTF-8 or "
            "out of range)",
            type);
    return;
  }
  rc = ccbor_encode(map, &payload, &len, &e);
  cbor_decref(&map);
  if (rc != 0) {
    reg_err(&j->res, rc == UV_ENOMEM ? REG_INTERNAL : REG_INVALID, "%s",
            err_msg(&e, rc));
    return;
  }
  memset(&ev, 0, sizeof ev);
  ev.event_type = type;
  ev.subject_kind = kind;
  ev.subject_id = *subject;
  ev.actor = j->actor != NULL && j->actor[0] != '\0' ? j->actor
                                                    : REG_ACTOR_ANONYMOUS;
  ev.created_at = created_at;
  ev.payload = payload;
  ev.payload_len = len;
  rc = wtx_emit(tx, &ev, &e);
  free(payload);
  if (rc != 0) {
    reg_err(&j->res, rc == UV_EINVAL ? REG_INVALID : REG_INTERNAL, "%s",
            err_msg(&e, rc));
    j->res.status = rc;
    return;
  }
  j->res.sequence = wtx_last_sequence(tx);
}

/* ---- rows --------------------------------------------------------------- */

int reg_load_package(struct wtx *tx, const struct uuid *id,
                     struct package **out, struct errbuf *e) {
  return rows_package_get(wtx_db(tx), id, out, e);
}

int reg_load_file(struct wtx *tx, const struct uuid *id,
                  struct file_rec **out, struct errbuf *e) {
  return rows_file_get(wtx_db(tx), id, out, e);
}

static const char reg_status_sql[] = "SELECT status FROM packages WHERE id = ?1";

bool reg_open_package(struct wtx *tx, const struct uuid *id,
                      struct reg_result *res, enum reg_error finalized_err) {
  char ids[UUID_STRLEN + 1];
  struct evlog_db *db = wtx_db(tx);
  struct errbuf e = {{0}};
  struct evlog_stmt *st;
  int64_t status = 0;
  int rc;

  uuid_format(id, ids);
  if ((rc = evlog_stmt(db, reg_status_sql, &st, &e)) != 0) {
    reg_internal(res, rc, &e);
    return false;
  }
  rc = evlog_bind_blob(st, 1, id->b, UUID_LEN);
  if (rc == 0)
    rc = evlog_step(st);
  if (rc == EVLOG_ROW)
    status = evlog_col_int(st, 0);
  evlog_reset(st);
  if (rc == 0) {
    reg_err(res, REG_NO_PACKAGE, "package %s does not exist", ids);
    return false;
  }
  if (rc != EVLOG_ROW) {
    reg_internal(res, evlog_fail(db, rc, "reading a package", &e), &e);
    return false;
  }
  if (status == PKG_EXPIRED || status == PKG_ABORTED) {
    reg_err(res, status == PKG_EXPIRED ? REG_PACKAGE_EXPIRED
                                       : REG_PACKAGE_ABORTED,
            "package %s %s: it takes no more files and cannot be "
            "finalized; create a new package",
            ids, status == PKG_EXPIRED ? "has expired" : "was aborted");
    return false;
  }
  if (status != PKG_OPEN) {
    reg_err(res, finalized_err,
            finalized_err == REG_ALREADY_FINALIZED
                ? "package %s is already finalized"
                : "package %s is finalized: files can no longer be added; "
                  "create a new package",
            ids);
    return false;
  }
  return true;
}

/* ---- the end of a package ------------------------------------------------ */

void reg_emit_ended(struct wtx *tx, struct reg_job *j, const struct uuid *id,
                    bool expired, int64_t expires_at, const char *reason,
                    int64_t as_of) {
  cbor_item_t *map = ccbor_map_new(3);
  int rc;

  if (map == NULL) {
    reg_err(&j->res, REG_INTERNAL, "out of memory");
    return;
  }
  rc = ccbor_map_put_int(map, "as_of", as_of);
  if (rc == 0 && expired)
    rc = ccbor_map_put_int(map, "expires_at", expires_at);
  if (rc == 0)
    rc = reg_put_uuid(map, "package_id", id);
  if (rc == 0 && !expired)
    rc = ccbor_map_put_str(map, "reason", reason);
  reg_emit(tx, j, map, rc, expired ? EV_PACKAGE_EXPIRED : EV_PACKAGE_ABORTED,
           EV_KIND_PACKAGE, id, as_of);
}

static const char reg_holds_sql[] =
    "SELECT count(*) FROM holds WHERE package_id = ?1 AND "
    "released_seq IS NULL";

int64_t reg_active_holds(struct wtx *tx, const struct uuid *id,
                         struct reg_result *res) {
  struct evlog_db *db = wtx_db(tx);
  struct errbuf e = {{0}};
  struct evlog_stmt *st;
  int64_t n = 0;
  int rc;

  if ((rc = evlog_stmt(db, reg_holds_sql, &st, &e)) != 0) {
    reg_internal(res, rc, &e);
    return rc;
  }
  rc = evlog_bind_blob(st, 1, id->b, UUID_LEN);
  if (rc == 0 && (rc = evlog_step(st)) == EVLOG_ROW) {
    n = evlog_col_int(st, 0);
    rc = 0;
  }
  evlog_reset(st);
  if (rc != 0) {
    rc = evlog_fail(db, rc, "counting holds", &e);
    reg_internal(res, rc, &e);
    return rc;
  }
  return n;
}
