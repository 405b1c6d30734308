/*
 * holds.c: legal holds (place, release) and the deletion of a package
 * (abort an open one, expire a finalized one that is due), on the writer
 * thread inside the batch transaction (op.c wraps them as writer jobs).
 * A held package is never deleted; a finalized one only once its
 * expires_at has passed.  Payloads: docs/EVENTS.md.
 */
#include "store/registry/retention.h"

#include <stdlib.h>
#include <string.h>

#include "store/codec/ccbor.h"
#include "store/registry/op.h"
#include "store/registry/views.h"

struct hold_job {
  struct reg_job base;
  struct uuid package_id;
  struct uuid hold_id;          /* release */
  const char *reason;           /* place: after the struct */
};

/* The package's status, when it exists and still has its contents; else
 * 0 with res filled (REG_NO_PACKAGE, REG_PACKAGE_EXPIRED/ABORTED). */
static enum pkg_status hold_package(struct wtx *tx, const struct uuid *id,
                                    struct package **out,
                                    struct reg_result *res) {
  char ids[UUID_STRLEN + 1];
  struct errbuf e = {{0}};
  struct package *p = NULL;
  enum pkg_status status;
  int rc;

  *out = NULL;
  uuid_format(id, ids);
  rc = reg_load_package(tx, id, &p, &e);
  if (rc == UV_ENOENT) {
    reg_err(res, REG_NO_PACKAGE, "package %s does not exist", ids);
    return 0;
  }
  if (rc != 0) {
    reg_internal(res, rc, &e);
    return 0;
  }
  status = p->status;
  if (status == PKG_EXPIRED || status == PKG_ABORTED) {
    reg_err(res, status == PKG_EXPIRED ? REG_PACKAGE_EXPIRED
                                       : REG_PACKAGE_ABORTED,
            "package %s %s: its contents are gone", ids,
            status == PKG_EXPIRED ? "has expired" : "was aborted");
    free(p);
    return 0;
  }
  *out = p;
  return status;
}

/* ---- place --------------------------------------------------------------- */

static int hold_place_run(struct writer_job *wj, struct wtx *tx) {
  struct hold_job *j = container_of(wj, struct hold_job, base.wj);
  struct reg_result *res = &j->base.res;
  struct package *p;
  cbor_item_t *map;
  int64_t now, ms;
  int rc;

  if (!reg_field(res, "reason", j->reason) ||
      hold_package(tx, &j->package_id, &p, res) == 0)
    return reg_job_status(&j->base);
  free(p);
  if ((map = ccbor_map_new(4)) == NULL) {
    reg_err(res, REG_INTERNAL, "out of memory");
    return reg_job_status(&j->base);
  }
  now = reg_now(&ms);
  wtx_new_id(tx, (uint64_t)ms, &res->hold_id);
  res->placed_at = now;
  rc = reg_put_uuid(map, "id", &res->hold_id);
  if (rc == 0)
    rc = reg_put_uuid(map, "package_id", &j->package_id);
  if (rc == 0)
    rc = ccbor_map_put_int(map, "placed_at", now);
  if (rc == 0)
    rc = ccbor_map_put_str(map, "reason", j->reason);
  reg_emit(tx, &j->base, map, rc, EV_HOLD_PLACED, EV_KIND_HOLD,
           &res->hold_id, now);
  return reg_job_status(&j->base);
}

static struct hold_job *hold_job(const struct uuid *package_id,
                                 const char *reason, const char *actor) {
  static const size_t offs[] = {offsetof(struct hold_job, reason),
                                offsetof(struct hold_job, base.actor)};
  const char *src[] = {reason, actor};
  struct hold_job *j = strpack_alloc(sizeof *j, src, offs, 2);

  if (j != NULL)
    j->package_id = *package_id;
  return j;
}

int reg_hold_place(struct writer *w, const struct uuid *package_id,
                   const char *reason, const char *actor, reg_cb cb,
                   void *arg) {
  struct hold_job *j = hold_job(package_id, reason, actor);

  if (j == NULL)
    return UV_ENOMEM;
  return reg_job_submit(w, &j->base, hold_place_run, cb, arg);
}

/* ---- release ------------------------------------------------------------- */

static const char hold_active_sql[] =
    "SELECT 1 FROM holds WHERE id = ?1 AND package_id = ?2 AND "
    "released_seq IS NULL";

static int hold_release_run(struct writer_job *wj, struct wtx *tx) {
  struct hold_job *j = container_of(wj, struct hold_job, base.wj);
  struct reg_result *res = &j->base.res;
  struct evlog_db *db = wtx_db(tx);
  char hid[UUID_STRLEN + 1];
  struct errbuf e = {{0}};
  struct evlog_stmt *st;
  struct package *p;
  cbor_item_t *map;
  int64_t now, ms;
  int rc;

  if (hold_package(tx, &j->package_id, &p, res) == 0)
    return reg_job_status(&j->base);
  free(p);
  if ((rc = evlog_stmt(db, hold_active_sql, &st, &e)) != 0) {
    reg_internal(res, rc, &e);
    return reg_job_status(&j->base);
  }
  rc = evlog_bind_blob(st, 1, j->hold_id.b, UUID_LEN);
  if (rc == 0)
    rc = evlog_bind_blob(st, 2, j->package_id.b, UUID_LEN);
  if (rc == 0)
    rc = evlog_step(st);
  evlog_reset(st);
  if (rc == 0) {
    uuid_format(&j->hold_id, hid);
    reg_err(res, REG_NO_HOLD,
            "the package has no active hold %s (GET .../holds?all=true "
            "lists released ones too)",
            hid);
    return reg_job_status(&j->base);
  }
  if (rc != EVLOG_ROW) {
    reg_internal(res, evlog_fail(db, rc, "reading a hold", &e), &e);
    return reg_job_status(&j->base);
  }
  if ((map = ccbor_map_new(3)) == NULL) {
    reg_err(res, REG_INTERNAL, "out of memory");
    return reg_job_status(&j->base);
  }
  now = reg_now(&ms);
  rc = reg_put_uuid(map, "id", &j->hold_id);
  if (rc == 0)
    rc = reg_put_uuid(map, "package_id", &j->package_id);
  if (rc == 0)
    rc = ccbor_map_put_int(map, "released_at", now);
  reg_emit(tx, &j->base, map, rc, EV_HOLD_RELEASED, EV_KIND_HOLD,
           &j->hold_id, now);
  return reg_job_status(&j->base);
}

int reg_hold_release(struct writer *w, const struct uuid *package_id,
                     const struct uuid *hold_id, const char *actor,
                     reg_cb cb, void *arg) {
  struct hold_job *j = hold_job(package_id, NULL, actor);

  if (j == NULL)
    return UV_ENOMEM;
  j->hold_id = *hold_id;
  return reg_job_submit(w, &j->base, hold_release_run, cb, arg);
}

/* ---- delete a package ---------------------------------------------------- */

static int del_run(struct writer_job *wj, struct wtx *tx) {
  struct hold_job *j = container_of(wj, struct hold_job, base.wj);
  struct reg_result *res = &j->base.res;
  char ids[UUID_STRLEN + 1], ts[TS_STRLEN + 1];
  struct errbuf e = {{0}};
  struct package *p;
  enum pkg_status status;
  int64_t held, expires, now, ms;
  int rc;

  if ((status = hold_package(tx, &j->package_id, &p, res)) == 0)
    return reg_job_status(&j->base);
  expires = p->expires_at;
  free(p);
  uuid_format(&j->package_id, ids);
  if ((held = reg_active_holds(tx, &j->package_id, res)) < 0)
    return reg_job_status(&j->base);
  if (held > 0) {
    reg_err(res, REG_PACKAGE_HELD,
            "package %s has %lld active hold%s: release %s first "
            "(GET .../holds)",
            ids, (long long)held, held == 1 ? "" : "s",
            held == 1 ? "it" : "them");
    return reg_job_status(&j->base);
  }
  now = reg_now(&ms);
  if (status == PKG_FINALIZED && (expires == TS_NONE || expires > now)) {
    res->expires_at = expires;
    if (expires != TS_NONE)
      ts_format(expires, ts);
    reg_err(res, REG_RETENTION_ACTIVE,
            "package %s is finalized and kept %s%s: it cannot be deleted "
            "before it expires",
            ids, expires == TS_NONE ? "forever" : "until ",
            expires == TS_NONE ? "" : ts);
    return reg_job_status(&j->base);
  }
  reg_emit_ended(tx, &j->base, &j->package_id, status == PKG_FINALIZED,
                 expires, "deleted", now);
  if (res->error == REG_OK &&
      (rc = reg_load_package(tx, &j->package_id, &res->package, &e)) != 0)
    reg_internal(res, rc, &e);
  return reg_job_status(&j->base);
}

int reg_package_delete(struct writer *w, const struct uuid *package_id,
                       const char *actor, reg_cb cb, void *arg) {
  struct hold_job *j = hold_job(package_id, NULL, actor);

  if (j == NULL)
    return UV_ENOMEM;
  return reg_job_submit(w, &j->base, del_run, cb, arg);
}
