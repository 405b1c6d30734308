/*
 * packages.c: the package operations, create and finalize, run on the
 * writer thread inside the batch transaction (op.c wraps them as writer
 * jobs).  Each validates against the views, chooses ids and timestamps,
 * builds the canonical CBOR payload (docs/EVENTS.md) and emits it; the
 * view functions (views.c) then take every value from that payload.  The
 * payload of v1.package.finalized is the manifest.
 */
#include <stdlib.h>
#include <string.h>

#include "store/codec/ccbor.h"
#include "store/registry/op.h"
#include "store/registry/views.h"

#define MANIFEST_VERSION 1
#define REG_CLASS_LIST_MAX 512 /* bytes of class names in an error */

struct create_job {
  struct reg_job base;
  struct pkg_create_req req; /* strings after the struct */
};

struct finalize_job {
  struct reg_job base;
  struct uuid package_id;
};

/* ---- create -------------------------------------------------------------- */

static const char reg_class_sql[] =
    "SELECT 1 FROM retention_classes WHERE name = ?1";
static const char reg_classes_sql[] =
    "SELECT name FROM retention_classes "
    "ORDER BY duration_seconds IS NULL, duration_seconds, name";

/* The known classes, shortest retention first, for an error message. */
static void reg_class_list(struct evlog_db *db, char *out, size_t size) {
  struct evlog_stmt *st;
  size_t used = 0;
  const char *name;

  out[0] = '\0';
  if (evlog_stmt(db, reg_classes_sql, &st, NULL) != 0)
    return;
  while (evlog_step(st) == EVLOG_ROW &&
         (name = evlog_col_text(st, 0, NULL)) != NULL) {
    size_t n = strlen(name) + (used != 0 ? 2 : 0);
    if (used + n + 1 > size)
      break;
    memcpy(out + used, used != 0 ? ", " : "", used != 0 ? 2 : 0);
    memcpy(out + used + (used != 0 ? 2 : 0), name, strlen(name) + 1);
    used += n;
  }
  evlog_reset(st);
}

/* true when class names a known retention class; else fills res. */
static bool reg_class_known(struct wtx *tx, const char *cls,
                            struct reg_result *res) {
  struct evlog_db *db = wtx_db(tx);
  struct errbuf e = {{0}};
  char list[REG_CLASS_LIST_MAX];
  struct evlog_stmt *st;
  int rc;

  if ((rc = evlog_stmt(db, reg_class_sql, &st, &e)) != 0) {
    reg_internal(res, rc, &e);
    return false;
  }
  rc = evlog_bind_str(st, 1, cls);
  if (rc == 0)
    rc = evlog_step(st);
  evlog_reset(st);
  if (rc == EVLOG_ROW)
    return true;
  if (rc != 0) {
    reg_internal(res, evlog_fail(db, rc, "checking the class", &e), &e);
    return false;
  }
  reg_class_list(db, list, sizeof list);
  if (list[0] == '\0')
    reg_err(res, REG_UNKNOWN_RETENTION,
            "retention_class \"%.64s\" is not known; docs/API.md lists "
            "the classes",
            cls);
  else
    reg_err(res, REG_UNKNOWN_RETENTION,
            "retention_class \"%.64s\" is not known; use one of %s", cls,
            list);
  return false;
}

static int reg_create_run(struct writer_job *wj, struct wtx *tx) {
  struct create_job *j = container_of(wj, struct create_job, base.wj);
  const struct pkg_create_req *r = &j->req;
  struct reg_result *res = &j->base.res;
  struct errbuf e = {{0}};
  cbor_item_t *meta, *map;
  struct uuid id;
  int64_t now, ms;
  int rc;

  if (!reg_field(res, "name", r->name) ||
      !reg_field(res, "producer", r->producer) ||
      !reg_field(res, "subject", r->subject) ||
      !reg_field(res, "retention_class", r->retention_class) ||
      !reg_class_known(tx, r->retention_class, res))
    return reg_job_status(&j->base);
  if (reg_metadata(r->metadata_json, &meta, res) != 0)
    return reg_job_status(&j->base);

  now = reg_now(&ms);
  wtx_new_id(tx, (uint64_t)ms, &id);
  map = ccbor_map_new(7);
  if (map == NULL) {
    cbor_decref(&meta);
    reg_err(res, REG_INTERNAL, "out of memory");
    return reg_job_status(&j->base);
  }
  rc = reg_put_uuid(map, "id", &id);
  if (rc == 0)
    rc = ccbor_map_put_str(map, "name", r->name);
  if (rc == 0)
    rc = ccbor_map_put_str(map, "producer", r->producer);
  if (rc == 0)
    rc = ccbor_map_put_str(map, "subject", r->subject);
  if (rc == 0)
    rc = ccbor_map_put_str(map, "retention_class", r->retention_class);
  if (rc == 0)
    rc = ccbor_map_put(map, "metadata", meta);
  else
    cbor_decref(&meta);
  if (rc == 0)
    rc = ccbor_map_put_int(map, "created_at", now);
  reg_emit(tx, &j->base, map, rc, EV_PACKAGE_CREATED, EV_KIND_PACKAGE, &id,
           now);
  if (res->error == REG_OK &&
      (rc = reg_load_package(tx, &id, &res->package, &e)) != 0)
    reg_internal(res, rc, &e);
  return reg_job_status(&j->base);
}

int reg_package_create(struct writer *w, const struct pkg_create_req *req,
                       reg_cb cb, void *arg) {
  static const size_t offs[] = {
      offsetof(struct create_job, req.name),
      offsetof(struct create_job, req.producer),
      offsetof(struct create_job, req.subject),
      offsetof(struct create_job, req.retention_class),
      offsetof(struct create_job, req.metadata_json),
      offsetof(struct create_job, base.actor)};
  const char *src[] = {req->name, req->producer, req->subject,
                       req->retention_class, req->metadata_json, req->actor};
  struct create_job *j;

  j = strpack_alloc(sizeof *j, src, offs, ARRAY_SIZE(src));
  if (j == NULL)
    return UV_ENOMEM;
  j->req.actor = j->base.actor;
  return reg_job_submit(w, &j->base, reg_create_run, cb, arg);
}

/* ---- finalize ------------------------------------------------------------ */

static const char reg_count_sql[] =
    "SELECT count(*) FROM files WHERE package_id = ?1";
static const char reg_files_sql[] =
    "SELECT path, media_type, size, blake3, sha256 FROM files "
    "WHERE package_id = ?1 ORDER BY path";

/* One entry of the manifest's file list from the current row. */
static int reg_manifest_file(struct evlog_stmt *st, cbor_item_t *arr) {
  cbor_item_t *f = ccbor_map_new(5);
  const void *b3, *sha;
  size_t n3 = 0, n2 = 0;
  int rc = f != NULL ? 0 : UV_ENOMEM;

  b3 = evlog_col_blob(st, 3, &n3);
  sha = evlog_col_blob(st, 4, &n2);
  if (rc == 0)
    rc = ccbor_map_put_str(f, "path", evlog_col_text(st, 0, NULL));
  if (rc == 0)
    rc = ccbor_map_put_str(f, "media_type", evlog_col_text(st, 1, NULL));
  if (rc == 0)
    rc = ccbor_map_put_int(f, "size", evlog_col_int(st, 2));
  if (rc == 0 && (n3 != DIGEST_LEN || n2 != DIGEST_LEN))
    rc = UV_EPROTO;
  if (rc == 0)
    rc = reg_put_caddr(f, "blake3", CADDR_BLAKE3, b3);
  if (rc == 0)
    rc = reg_put_caddr(f, "sha256", CADDR_SHA256, sha);
  if (rc == 0 && !cbor_array_push(arr, f))
    rc = UV_ENOMEM;
  if (f != NULL)
    cbor_decref(&f);
  return rc;
}

static int reg_manifest_files(struct wtx *tx, const struct uuid *id,
                              cbor_item_t **out, struct errbuf *e) {
  struct evlog_db *db = wtx_db(tx);
  cbor_item_t *arr = NULL;
  struct evlog_stmt *st;
  int64_t n = 0;
  int rc;

  *out = NULL;
  if ((rc = evlog_stmt(db, reg_count_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, id->b, UUID_LEN);
  if (rc == 0 && (rc = evlog_step(st)) == EVLOG_ROW) {
    n = evlog_col_int(st, 0);
    rc = 0;
  }
  evlog_reset(st);
  if (rc != 0)
    return evlog_fail(db, rc, "counting files", e);
  arr = cbor_new_definite_array((size_t)n);
  if (arr == NULL)
    return err_set(e, UV_ENOMEM, "out of memory building the manifest");

  if ((rc = evlog_stmt(db, reg_files_sql, &st, e)) != 0) {
    cbor_decref(&arr);
    return rc;
  }
  rc = evlog_bind_blob(st, 1, id->b, UUID_LEN);
  while (rc == 0 && (rc = evlog_step(st)) == EVLOG_ROW) {
    if ((rc = reg_manifest_file(st, arr)) != 0) {
      evlog_reset(st);
      cbor_decref(&arr);
      return err_set(e, rc, "could not build the manifest's file list");
    }
  }
  evlog_reset(st);
  if (rc != 0) {
    cbor_decref(&arr);
    return evlog_fail(db, rc, "listing files", e);
  }
  *out = arr;
  return 0;
}

/* The manifest: {version, package: {...}, files: [...]}. */
static int reg_manifest(const struct package *p, int64_t finalized_at,
                        cbor_item_t *meta, cbor_item_t *files,
                        cbor_item_t **out) {
  cbor_item_t *map = ccbor_map_new(3), *pkg = ccbor_map_new(8);
  int rc = map != NULL && pkg != NULL ? 0 : UV_ENOMEM;

  if (rc == 0)
    rc = reg_put_uuid(pkg, "id", &p->id);
  if (rc == 0)
    rc = ccbor_map_put_str(pkg, "name", p->name);
  if (rc == 0)
    rc = ccbor_map_put_str(pkg, "producer", p->producer);
  if (rc == 0)
    rc = ccbor_map_put_str(pkg, "subject", p->subject);
  if (rc == 0)
    rc = ccbor_map_put_str(pkg, "retention_class", p->retention_class);
  if (rc == 0) {
    rc = ccbor_map_put(pkg, "metadata", meta);
    meta = NULL;
  }
  if (rc == 0)
    rc = ccbor_map_put_int(pkg, "created_at", p->created_at);
  if (rc == 0)
    rc = ccbor_map_put_int(pkg, "finalized_at", finalized_at);
  if (rc == 0)
    rc = ccbor_map_put_int(map, "version", MANIFEST_VERSION);
  if (rc == 0) {
    rc = ccbor_map_put(map, "package", pkg);
    pkg = NULL;
  }
  if (rc == 0) {
    rc = ccbor_map_put(map, "files", files);
    files = NULL;
  }
  if (meta != NULL)
    cbor_decref(&meta);
  if (pkg != NULL)
    cbor_decref(&pkg);
  if (files != NULL)
    cbor_decref(&files);
  *out = map;
  return rc;
}

static int reg_finalize_run(struct writer_job *wj, struct wtx *tx) {
  struct finalize_job *j = container_of(wj, struct finalize_job, base.wj);
  struct reg_result *res = &j->base.res;
  struct package *p = NULL;
  struct errbuf e = {{0}};
  cbor_item_t *map = NULL, *files = NULL, *meta = NULL;
  int64_t now, ms;
  int rc;

  if (!reg_open_package(tx, &j->package_id, res, REG_ALREADY_FINALIZED))
    return reg_job_status(&j->base);
  if ((rc = reg_load_package(tx, &j->package_id, &p, &e)) != 0) {
    reg_internal(res, rc, &e);
    return reg_job_status(&j->base);
  }
  if (reg_metadata(p->metadata_json, &meta, res) != 0) {
    free(p);
    return reg_job_status(&j->base);
  }
  if ((rc = reg_manifest_files(tx, &j->package_id, &files, &e)) != 0) {
    cbor_decref(&meta);
    free(p);
    reg_internal(res, rc, &e);
    return reg_job_status(&j->base);
  }
  now = reg_now(&ms);
  rc = reg_manifest(p, now, meta, files, &map);
  free(p);
  if (map == NULL) {
    reg_err(res, REG_INTERNAL, "out of memory");
    return reg_job_status(&j->base);
  }
  reg_emit(tx, &j->base, map, rc, EV_PACKAGE_FINALIZED, EV_KIND_PACKAGE,
           &j->package_id, now);
  if (res->error == REG_OK &&
      (rc = reg_load_package(tx, &j->package_id, &res->package, &e)) != 0)
    reg_internal(res, rc, &e);
  return reg_job_status(&j->base);
}

int reg_package_finalize(struct writer *w, const struct uuid *package_id,
                         const char *actor, reg_cb cb, void *arg) {
  static const size_t offs[] = {offsetof(struct finalize_job, base.actor)};
  const char *src[] = {actor};
  struct finalize_job *j;

  j = strpack_alloc(sizeof *j, src, offs, 1);
  if (j == NULL)
    return UV_ENOMEM;
  j->package_id = *package_id;
  return reg_job_submit(w, &j->base, reg_finalize_run, cb, arg);
}
