/*
 * classes.c: retention classes (define, raise, remove) and the extension
 * of one package's retention, on the writer thread inside the batch
 * transaction (op.c wraps them as writer jobs).  Each checks against the
 * views, refuses anything that would make retention shorter, emits its
 * event (docs/EVENTS.md) or none when nothing changes.
 */
#include "store/registry/retention.h"

#include <stdlib.h>
#include <string.h>

#include "store/codec/ccbor.h"
#include "store/registry/op.h"
#include "store/registry/views.h"

struct class_job {
  struct reg_job base;
  const char *name;             /* after the struct */
  int64_t duration;             /* REG_NEVER: never */
};

struct extend_job {
  struct reg_job base;
  struct uuid package_id;
  const char *retention_class;  /* NULL: expires_at */
  int64_t expires_at;
};

int reg_class_name_check(const char *name, struct errbuf *e) {
  size_t n = name != NULL ? strlen(name) : 0;

  if (n == 0 || n > REG_CLASS_NAME_MAX)
    return err_set(e, UV_EINVAL,
                   "a class name is 1 to %d bytes long", REG_CLASS_NAME_MAX);
  for (size_t i = 0; i < n; i++) {
    char ch = name[i];
    bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
    if (!alnum && (i == 0 || (ch != '-' && ch != '.' && ch != '_')))
      return err_set(e, UV_EINVAL,
                     "a class name takes lowercase ASCII letters, digits, "
                     "'-', '.' and '_', and starts with a letter or digit");
  }
  return 0;
}

static void cls_subject(const char *name, struct uuid *out) {
  uint8_t d[DIGEST_LEN];

  digest_blake3(name, strlen(name), d);
  memcpy(out->b, d, UUID_LEN);
}

static const char cls_get_sql[] =
    "SELECT duration_seconds FROM retention_classes WHERE name = ?1";

/* The class's duration (REG_NEVER: never): 0, UV_ENOENT when there is no
 * such class, or an error with res filled. */
static int cls_duration(struct wtx *tx, const char *name, int64_t *dur,
                        struct reg_result *res) {
  struct evlog_db *db = wtx_db(tx);
  struct errbuf e = {{0}};
  struct evlog_stmt *st;
  int rc;

  if ((rc = evlog_stmt(db, cls_get_sql, &st, &e)) != 0) {
    reg_internal(res, rc, &e);
    return rc;
  }
  rc = evlog_bind_str(st, 1, name);
  if (rc == 0)
    rc = evlog_step(st);
  if (rc == EVLOG_ROW) {
    *dur = evlog_col_type(st, 0) == EVLOG_NULL ? REG_NEVER
                                               : evlog_col_int(st, 0);
    rc = 0;
  } else if (rc == 0) {
    rc = UV_ENOENT;
  }
  evlog_reset(st);
  if (rc != 0 && rc != UV_ENOENT) {
    rc = evlog_fail(db, rc, "reading a retention class", &e);
    reg_internal(res, rc, &e);
  }
  return rc;
}

/* a is shorter than b (REG_NEVER is the longest). */
static bool cls_shorter(int64_t a, int64_t b) {
  return a != REG_NEVER && (b == REG_NEVER || a < b);
}

static int cls_put_duration(cbor_item_t *map, const char *key, int64_t d) {
  return d == REG_NEVER ? ccbor_map_put_null(map, key)
                        : ccbor_map_put_int(map, key, d);
}

static int cls_put_ts(cbor_item_t *map, const char *key, int64_t us) {
  return us == TS_NONE ? ccbor_map_put_null(map, key)
                       : ccbor_map_put_int(map, key, us);
}

/* ---- define -------------------------------------------------------------- */

static int cls_define_run(struct writer_job *wj, struct wtx *tx) {
  struct class_job *j = container_of(wj, struct class_job, base.wj);
  struct reg_result *res = &j->base.res;
  struct errbuf e = {{0}};
  cbor_item_t *map;
  struct uuid subject;
  int64_t prev = 0, now, ms;
  int rc;

  if (reg_class_name_check(j->name, &e) != 0) {
    reg_err(res, REG_INVALID, "%s", err_msg(&e, UV_EINVAL));
    return reg_job_status(&j->base);
  }
  if (j->duration != REG_NEVER &&
      (j->duration < 1 || j->duration > REG_DURATION_MAX)) {
    reg_err(res, REG_INVALID,
            "duration_seconds must be from 1 to %lld, or null (never)",
            (long long)REG_DURATION_MAX);
    return reg_job_status(&j->base);
  }
  rc = cls_duration(tx, j->name, &prev, res);
  if (rc != 0 && rc != UV_ENOENT)
    return reg_job_status(&j->base);
  res->created = rc == UV_ENOENT;
  if (!res->created && prev == j->duration)
    return 0; /* the same: nothing to record */
  if (!res->created && cls_shorter(j->duration, prev)) {
    reg_err(res, REG_SHORTENING,
            "class \"%s\" keeps packages %s%lld seconds: a duration can be "
            "raised, never lowered",
            j->name, prev == REG_NEVER ? "forever, not " : "for ",
            (long long)(prev == REG_NEVER ? j->duration : prev));
    return reg_job_status(&j->base);
  }
  if ((map = ccbor_map_new(3)) == NULL) {
    reg_err(res, REG_INTERNAL, "out of memory");
    return reg_job_status(&j->base);
  }
  rc = cls_put_duration(map, "duration_seconds", j->duration);
  if (rc == 0)
    rc = ccbor_map_put_str(map, "name", j->name);
  if (rc == 0 && !res->created)
    rc = cls_put_duration(map, "previous_duration_seconds", prev);
  cls_subject(j->name, &subject);
  now = reg_now(&ms);
  reg_emit(tx, &j->base, map, rc, EV_RETENTION_CLASS_DEFINED, EV_KIND_CLASS,
           &subject, now);
  return reg_job_status(&j->base);
}

static struct class_job *cls_job(const char *name, const char *actor) {
  static const size_t offs[] = {offsetof(struct class_job, name),
                                offsetof(struct class_job, base.actor)};
  const char *src[] = {name, actor};

  return strpack_alloc(sizeof(struct class_job), src, offs, 2);
}

int reg_class_define(struct writer *w, const char *name, int64_t duration,
                     const char *actor, reg_cb cb, void *arg) {
  struct class_job *j = cls_job(name, actor);

  if (j == NULL)
    return UV_ENOMEM;
  j->duration = duration;
  return reg_job_submit(w, &j->base, cls_define_run, cb, arg);
}

/* ---- remove -------------------------------------------------------------- */

static const char cls_seeded_sql[] =
    "SELECT 1 FROM retention_seed WHERE name = ?1";
static const char cls_used_sql[] =
    "SELECT 1 FROM packages WHERE retention_class = ?1 LIMIT 1";

/* Does sql (binding name) find a row?  1, 0, or an error (res filled). */
static int cls_exists(struct wtx *tx, const char *sql, const char *name,
                      struct reg_result *res) {
  struct evlog_db *db = wtx_db(tx);
  struct errbuf e = {{0}};
  struct evlog_stmt *st;
  int rc;

  if ((rc = evlog_stmt(db, sql, &st, &e)) != 0) {
    reg_internal(res, rc, &e);
    return rc;
  }
  rc = evlog_bind_str(st, 1, name);
  if (rc == 0)
    rc = evlog_step(st);
  evlog_reset(st);
  if (rc == EVLOG_ROW)
    return 1;
  if (rc != 0) {
    rc = evlog_fail(db, rc, "checking a retention class", &e);
    reg_internal(res, rc, &e);
  }
  return rc;
}

static int cls_remove_run(struct writer_job *wj, struct wtx *tx) {
  struct class_job *j = container_of(wj, struct class_job, base.wj);
  struct reg_result *res = &j->base.res;
  cbor_item_t *map;
  struct uuid subject;
  int64_t dur, now, ms;
  int rc;

  rc = cls_duration(tx, j->name, &dur, res);
  if (rc == UV_ENOENT)
    reg_err(res, REG_UNKNOWN_RETENTION,
            "there is no retention class \"%.64s\"", j->name);
  if (rc != 0)
    return reg_job_status(&j->base);
  if ((rc = cls_exists(tx, cls_seeded_sql, j->name, res)) == 1)
    reg_err(res, REG_CLASS_IN_USE,
            "class \"%s\" is seeded: it cannot be removed", j->name);
  else if (rc == 0 &&
           (rc = cls_exists(tx, cls_used_sql, j->name, res)) == 1)
    reg_err(res, REG_CLASS_IN_USE,
            "packages use class \"%s\" (expired and aborted ones count: "
            "their rows stay): it cannot be removed",
            j->name);
  if (rc != 0)
    return reg_job_status(&j->base);
  if ((map = ccbor_map_new(1)) == NULL) {
    reg_err(res, REG_INTERNAL, "out of memory");
    return reg_job_status(&j->base);
  }
  rc = ccbor_map_put_str(map, "name", j->name);
  cls_subject(j->name, &subject);
  now = reg_now(&ms);
  reg_emit(tx, &j->base, map, rc, EV_RETENTION_CLASS_REMOVED, EV_KIND_CLASS,
           &subject, now);
  return reg_job_status(&j->base);
}

int reg_class_remove(struct writer *w, const char *name, const char *actor,
                     reg_cb cb, void *arg) {
  struct class_job *j = cls_job(name, actor);

  if (j == NULL)
    return UV_ENOMEM;
  return reg_job_submit(w, &j->base, cls_remove_run, cb, arg);
}

/* ---- extend one package -------------------------------------------------- */

/* The package as it is, when it can still be kept longer; else NULL with
 * res filled. */
static struct package *ext_package(struct wtx *tx, const struct uuid *id,
                                   struct reg_result *res) {
  char ids[UUID_STRLEN + 1];
  struct errbuf e = {{0}};
  struct package *p = NULL;
  int rc;

  uuid_format(id, ids);
  rc = reg_load_package(tx, id, &p, &e);
  if (rc == UV_ENOENT) {
    reg_err(res, REG_NO_PACKAGE, "package %s does not exist", ids);
  } else if (rc != 0) {
    reg_internal(res, rc, &e);
  } else if (p->status == PKG_EXPIRED || p->status == PKG_ABORTED) {
    reg_err(res, p->status == PKG_EXPIRED ? REG_PACKAGE_EXPIRED
                                          : REG_PACKAGE_ABORTED,
            "package %s %s: its contents are gone", ids,
            p->status == PKG_EXPIRED ? "has expired" : "was aborted");
  } else {
    return p;
  }
  free(p);
  return NULL;
}

/* Where the package goes: *cls and *exp; false with res filled when
 * refused.  *same when nothing would change. */
static bool ext_target(struct extend_job *j, struct wtx *tx,
                       const struct package *p, const char **cls,
                       int64_t *exp, bool *same) {
  struct reg_result *res = &j->base.res;
  char ts[TS_STRLEN + 1];
  int64_t cur, dur;
  int rc;

  *cls = p->retention_class;
  *exp = p->expires_at;
  *same = false;
  if (j->retention_class == NULL) { /* a date */
    if (j->expires_at < 0 || j->expires_at >= CCBOR_MAX_INT) {
      reg_err(res, REG_INVALID,
              "expires_at must be from 1970 to 2255 (what an event can "
              "record)");
      return false;
    }
    if (p->status == PKG_OPEN) {
      reg_err(res, REG_NOT_FINALIZED,
              "an open package has no expiry yet (its clock starts at "
              "finalize): change its retention_class instead");
      return false;
    }
    if (p->expires_at == TS_NONE || j->expires_at < p->expires_at) {
      if (p->expires_at != TS_NONE)
        ts_format(p->expires_at, ts);
      reg_err(res, REG_SHORTENING,
              "the package expires %s%s: retention can be extended, never "
              "shortened",
              p->expires_at == TS_NONE ? "never" : "at ",
              p->expires_at == TS_NONE ? "" : ts);
      return false;
    }
    *same = j->expires_at == p->expires_at;
    *exp = j->expires_at;
    return true;
  }
  if ((rc = cls_duration(tx, j->retention_class, &dur, res)) == UV_ENOENT)
    reg_err(res, REG_UNKNOWN_RETENTION,
            "retention_class \"%.64s\" is not known; GET "
            "/v1/retention-classes lists them",
            j->retention_class);
  if (rc != 0 || cls_duration(tx, p->retention_class, &cur, res) != 0)
    return false;
  if (cls_shorter(dur, cur)) {
    reg_err(res, REG_SHORTENING,
            "class \"%s\" keeps packages for less time than \"%s\": "
            "retention can be extended, never shortened",
            j->retention_class, p->retention_class);
    return false;
  }
  *cls = j->retention_class;
  *same = strcmp(*cls, p->retention_class) == 0;
  if (p->status == PKG_OPEN || *same)
    return true; /* an open package's clock starts at finalize */
  if (dur == REG_NEVER) {
    *exp = TS_NONE;
  } else if (p->finalized_at + dur * 1000000 >= CCBOR_MAX_INT) {
    reg_err(res, REG_INVALID,
            "class \"%s\" would keep the package past what an event can "
            "record (year 2255): set expires_at instead",
            j->retention_class);
    return false;
  } else if (p->expires_at != TS_NONE) {
    cur = p->finalized_at + dur * 1000000;
    *exp = cur > p->expires_at ? cur : p->expires_at;
  }
  return true;
}

static int ext_run(struct writer_job *wj, struct wtx *tx) {
  struct extend_job *j = container_of(wj, struct extend_job, base.wj);
  struct reg_result *res = &j->base.res;
  struct errbuf e = {{0}};
  struct package *p;
  const char *cls;
  cbor_item_t *map;
  int64_t exp, now, ms;
  bool same;
  int rc;

  if ((p = ext_package(tx, &j->package_id, res)) == NULL)
    return reg_job_status(&j->base);
  if (!ext_target(j, tx, p, &cls, &exp, &same)) {
    free(p);
    return reg_job_status(&j->base);
  }
  if (same) {
    res->package = p;
    return 0;
  }
  if ((map = ccbor_map_new(5)) == NULL) {
    free(p);
    reg_err(res, REG_INTERNAL, "out of memory");
    return reg_job_status(&j->base);
  }
  rc = cls_put_ts(map, "expires_at", exp);
  if (rc == 0)
    rc = reg_put_uuid(map, "package_id", &p->id);
  if (rc == 0)
    rc = cls_put_ts(map, "previous_expires_at", p->expires_at);
  if (rc == 0)
    rc = ccbor_map_put_str(map, "previous_retention_class",
                           p->retention_class);
  if (rc == 0)
    rc = ccbor_map_put_str(map, "retention_class", cls);
  now = reg_now(&ms);
  reg_emit(tx, &j->base, map, rc, EV_RETENTION_EXTENDED, EV_KIND_PACKAGE,
           &p->id, now);
  free(p);
  if (res->error == REG_OK &&
      (rc = reg_load_package(tx, &j->package_id, &res->package, &e)) != 0)
    reg_internal(res, rc, &e);
  return reg_job_status(&j->base);
}

int reg_retention_extend(struct writer *w, const struct uuid *package_id,
                         const char *retention_class, int64_t expires_at,
                         const char *actor, reg_cb cb, void *arg) {
  static const size_t offs[] = {offsetof(struct extend_job, retention_class),
                                offsetof(struct extend_job, base.actor)};
  const char *src[] = {retention_class, actor};
  struct extend_job *j = strpack_alloc(sizeof *j, src, offs, 2);

  if (j == NULL)
    return UV_ENOMEM;
  j->package_id = *package_id;
  j->expires_at = expires_at;
  return reg_job_submit(w, &j->base, ext_run, cb, arg);
}
