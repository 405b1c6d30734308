/*
 * registry.c: the registry operations of DESIGN.md, run on the writer
 * thread inside the batch transaction (writer.c wraps each in a SAVEPOINT).
 * Each validates against the views, chooses ids and timestamps, builds the
 * canonical CBOR payload (docs/EVENTS.md) and emits it; the view handlers
 * (views.c) then take every value from that payload.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store/codec/caddr.h"
#include "store/codec/ccbor.h"
#include "store/evlog/sqlite/db.h"
#include "store/codec/jcs.h"
#include "store/codec/relpath.h"
#include "util/utf8.h"
#include "store/registry/rows.h"
#include "store/registry/views.h"
#include "store/evlog/wtx.h"

#define REGISTRY_FIELD_MAX 1024           /* bytes of name, producer, ... */
#define REGISTRY_METADATA_MAX (64 * 1024) /* bytes of metadata JSON */
#define REGISTRY_DEFAULT_ACTOR "anonymous"
#define REGISTRY_DEFAULT_MEDIA "application/octet-stream"
#define MANIFEST_VERSION 1

static const char registry_package_sql[] = ROWS_PACKAGE_BY_ID;
static const char registry_file_sql[] = ROWS_FILE_BY_ID;

/* The package / file row after the request, from the cached statement. */
static int registry_load_package(struct wtx *tx, const struct uuid *id,
                                 struct package **out, struct errbuf *e) {
  sqlite3_stmt *st;
  int rc;

  *out = NULL;
  st = wtx_stmt(tx, registry_package_sql, &rc);
  if (st == NULL)
    return db_err(wtx_db(tx), rc, "reading a package", e);
  return rows_package_by_id(st, id, out, e);
}

static int registry_load_file(struct wtx *tx, const struct uuid *id,
                              struct file_rec **out, struct errbuf *e) {
  sqlite3_stmt *st;
  int rc;

  *out = NULL;
  st = wtx_stmt(tx, registry_file_sql, &rc);
  if (st == NULL)
    return db_err(wtx_db(tx), rc, "reading a file", e);
  return rows_file_by_id(st, id, out, e);
}

static void registry_err(struct reg_result *res, enum reg_error err,
                         const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void registry_err(struct reg_result *res, enum reg_error err,
                         const char *fmt, ...) {
  va_list ap;

  res->error = err;
  va_start(ap, fmt);
  vsnprintf(res->msg.msg, sizeof res->msg.msg, fmt, ap);
  va_end(ap);
}

static void registry_internal(struct reg_result *res, int rc,
                              const struct errbuf *e) {
  registry_err(res, REG_INTERNAL, "%s", err_msg(e, rc));
}

static bool registry_field(struct reg_result *res, const char *name,
                           const char *v) {
  if (v == NULL || v[0] == '\0') {
    registry_err(res, REG_INVALID, "field \"%s\" is required", name);
    return false;
  }
  size_t n = strlen(v);
  if (n > REGISTRY_FIELD_MAX) {
    registry_err(res, REG_INVALID, "field \"%s\" is longer than %d bytes",
                 name, REGISTRY_FIELD_MAX);
    return false;
  }
  size_t ok = utf8_valid_prefix((const uint8_t *)v, n);
  if (ok != n) {
    registry_err(res, REG_INVALID,
                 "field \"%s\" is not valid UTF-8 (bad byte at offset %zu)",
                 name, ok);
    return false;
  }
  return true;
}

static const char *registry_actor(const struct wjob *j) {
  return j->actor != NULL && j->actor[0] != '\0' ? j->actor
                                                 : REGISTRY_DEFAULT_ACTOR;
}

static int64_t registry_now(int64_t *unix_ms) {
  int64_t us = ts_now_us();
  *unix_ms = us / 1000;
  return us;
}

static int registry_put_uuid(cbor_item_t *map, const char *key,
                             const struct uuid *id) {
  char s[UUID_STRLEN + 1];

  uuid_format(id, s);
  return ccbor_map_put_str(map, key, s);
}

static int registry_put_caddr(cbor_item_t *map, const char *key,
                              enum caddr_alg alg, const uint8_t *d) {
  char s[CADDR_BUFSIZE];

  caddr_format_raw(alg, d, s);
  return ccbor_map_put_str(map, key, s);
}

/* JSON object text (or NULL for {}) to a CBOR map tree. */
static int registry_metadata(const char *text, cbor_item_t **out,
                             struct reg_result *res) {
  json_error_t jerr;
  json_t *json;
  struct errbuf e = {{0}};
  int rc;

  *out = NULL;
  if (text == NULL) {
    *out = ccbor_map_new(0);
    if (*out == NULL) {
      registry_err(res, REG_INTERNAL, "out of memory");
      return UV_ENOMEM;
    }
    return 0;
  }
  if (strlen(text) > REGISTRY_METADATA_MAX) {
    registry_err(res, REG_INVALID, "metadata is larger than %d bytes",
                 REGISTRY_METADATA_MAX);
    return UV_EINVAL;
  }
  json = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
  if (json == NULL) {
    registry_err(res, REG_INVALID, "metadata is not valid JSON: %s (line %d)",
                 jerr.text, jerr.line);
    return UV_EINVAL;
  }
  if (!json_is_object(json)) {
    json_decref(json);
    registry_err(res, REG_INVALID, "metadata must be a JSON object");
    return UV_EINVAL;
  }
  rc = jcs_json_to_cbor(json, out, &e);
  json_decref(json);
  if (rc != 0)
    registry_err(res, rc == UV_ENOMEM ? REG_INTERNAL : REG_INVALID,
                 "metadata: %s", err_msg(&e, rc));
  return rc;
}

/* Encodes map (released here) and emits it. */
static void registry_emit(struct wtx *tx, struct wjob *j, cbor_item_t *map,
                          int build_rc, const char *type, const char *kind,
                          const struct uuid *subject, int64_t created_at) {
  struct errbuf e = {{0}};
  uint8_t *payload = NULL;
  size_t len = 0;
  int rc = build_rc;

  if (rc != 0) {
    cbor_decref(&map);
    registry_err(&j->res, rc == UV_ENOMEM ? REG_INTERNAL : REG_INVALID,
                 "could not build the %s event (a field is not valid "
                 "UTF-8 or out of range)", type);
    return;
  }
  rc = ccbor_encode(map, &payload, &len, &e);
  cbor_decref(&map);
  if (rc != 0) {
    registry_err(&j->res, rc == UV_ENOMEM ? REG_INTERNAL : REG_INVALID,
                 "%s", err_msg(&e, rc));
    return;
  }
  rc = wtx_emit(tx, type, kind, subject, registry_actor(j), created_at,
                payload, len, &e);
  free(payload);
  if (rc != 0) {
    registry_err(&j->res, rc == UV_EINVAL ? REG_INVALID : REG_INTERNAL,
                 "%s", err_msg(&e, rc));
    return;
  }
  j->res.sequence = wtx_last_sequence(tx);
}

/* ---- create -------------------------------------------------------------- */

static const char registry_class_sql[] =
    "SELECT 1 FROM retention_classes WHERE name = ?1";

static void registry_create(struct wtx *tx, struct wjob *j) {
  const struct pkg_create_req *r = &j->create;
  struct reg_result *res = &j->res;
  struct errbuf e = {{0}};
  cbor_item_t *meta, *map;
  sqlite3_stmt *st;
  struct uuid id;
  int64_t now, ms;
  int rc;

  if (!registry_field(res, "name", r->name) ||
      !registry_field(res, "producer", r->producer) ||
      !registry_field(res, "subject", r->subject) ||
      !registry_field(res, "retention_class", r->retention_class))
    return;
  st = wtx_stmt(tx, registry_class_sql, &rc);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 1, r->retention_class, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (st != NULL)
    sqlite3_reset(st);
  if (rc == SQLITE_DONE) {
    registry_err(res, REG_UNKNOWN_RETENTION,
                 "retention_class \"%.64s\" is not known; use one of "
                 "transient, raw-evidence, summary-evidence, "
                 "release-evidence, permanent-record",
                 r->retention_class);
    return;
  }
  if (rc != SQLITE_ROW) {
    registry_internal(res, db_err(wtx_db(tx), rc, "checking the class", &e),
                      &e);
    return;
  }
  if (registry_metadata(r->metadata_json, &meta, res) != 0)
    return;

  now = registry_now(&ms);
  wtx_new_id(tx, (uint64_t)ms, &id);
  map = ccbor_map_new(7);
  if (map == NULL) {
    cbor_decref(&meta);
    registry_err(res, REG_INTERNAL, "out of memory");
    return;
  }
  rc = registry_put_uuid(map, "id", &id);
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
  registry_emit(tx, j, map, rc, EV_PACKAGE_CREATED, EV_KIND_PACKAGE, &id,
                now);
  if (res->error != REG_OK)
    return;
  if ((rc = registry_load_package(tx, &id, &res->package, &e)) != 0)
    registry_internal(res, rc, &e);
}

/* ---- ingest -------------------------------------------------------------- */

static const char registry_status_sql[] =
    "SELECT status FROM packages WHERE id = ?1";
static const char registry_path_sql[] =
    "SELECT 1 FROM files WHERE package_id = ?1 AND path = ?2";

/* REG_OK when the package exists and is open; else fills res. */
static bool registry_open_package(struct wtx *tx, const struct uuid *id,
                                  struct reg_result *res,
                                  enum reg_error finalized_err) {
  char ids[UUID_STRLEN + 1];
  struct errbuf e = {{0}};
  sqlite3_stmt *st;
  int rc, status = 0;

  uuid_format(id, ids);
  st = wtx_stmt(tx, registry_status_sql, &rc);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 1, id->b, UUID_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    status = sqlite3_column_int(st, 0);
  if (st != NULL)
    sqlite3_reset(st);
  if (rc == SQLITE_DONE) {
    registry_err(res, REG_NO_PACKAGE, "package %s does not exist", ids);
    return false;
  }
  if (rc != SQLITE_ROW) {
    registry_internal(res, db_err(wtx_db(tx), rc, "reading a package", &e),
                      &e);
    return false;
  }
  if (status != PKG_OPEN) {
    registry_err(res, finalized_err,
                 finalized_err == REG_ALREADY_FINALIZED
                     ? "package %s is already finalized"
                     : "package %s is finalized: files can no longer be "
                       "added; create a new package",
                 ids);
    return false;
  }
  return true;
}

static void registry_ingest(struct wtx *tx, struct wjob *j) {
  const struct file_ingest_req *r = &j->ingest;
  struct reg_result *res = &j->res;
  const char *media;
  struct errbuf e = {{0}};
  cbor_item_t *map;
  sqlite3_stmt *st;
  struct uuid id;
  int64_t now, ms;
  int rc;

  if (r->path == NULL) {
    registry_err(res, REG_INVALID, "field \"path\" is required");
    return;
  }
  /* The edge checked it already; the log must never hold a bad path. */
  if (relpath_check(r->path, strlen(r->path), &res->msg) != 0) {
    res->error = REG_INVALID;
    return;
  }
  media = r->media_type != NULL && r->media_type[0] != '\0'
              ? r->media_type
              : REGISTRY_DEFAULT_MEDIA;
  if (!registry_field(res, "media_type", media))
    return;
  if (r->size > (uint64_t)CCBOR_MAX_INT) {
    registry_err(res, REG_INVALID, "file size %llu is larger than 2^53 bytes",
                 (unsigned long long)r->size);
    return;
  }
  if (!registry_open_package(tx, &r->package_id, res, REG_PACKAGE_FINALIZED))
    return;
  st = wtx_stmt(tx, registry_path_sql, &rc);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 1, r->package_id.b, UUID_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 2, r->path, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (st != NULL)
    sqlite3_reset(st);
  if (rc == SQLITE_ROW) {
    char ids[UUID_STRLEN + 1];
    uuid_format(&r->package_id, ids);
    registry_err(res, REG_DUPLICATE_PATH,
                 "path \"%.128s\" already exists in package %s", r->path,
                 ids);
    return;
  }
  if (rc != SQLITE_DONE) {
    registry_internal(res, db_err(wtx_db(tx), rc, "checking the path", &e),
                      &e);
    return;
  }

  now = registry_now(&ms);
  wtx_new_id(tx, (uint64_t)ms, &id);
  map = ccbor_map_new(7);
  if (map == NULL) {
    registry_err(res, REG_INTERNAL, "out of memory");
    return;
  }
  rc = registry_put_uuid(map, "id", &id);
  if (rc == 0)
    rc = registry_put_uuid(map, "package_id", &r->package_id);
  if (rc == 0)
    rc = ccbor_map_put_str(map, "path", r->path);
  if (rc == 0)
    rc = ccbor_map_put_str(map, "media_type", media);
  if (rc == 0)
    rc = ccbor_map_put_int(map, "size", (int64_t)r->size);
  if (rc == 0)
    rc = registry_put_caddr(map, "blake3", CADDR_BLAKE3, r->digests.blake3);
  if (rc == 0)
    rc = registry_put_caddr(map, "sha256", CADDR_SHA256, r->digests.sha256);
  registry_emit(tx, j, map, rc, EV_FILE_INGESTED, EV_KIND_FILE, &id, now);
  if (res->error != REG_OK)
    return;
  if ((rc = registry_load_file(tx, &id, &res->file, &e)) != 0)
    registry_internal(res, rc, &e);
}

/* ---- finalize ------------------------------------------------------------ */

static const char registry_count_sql[] =
    "SELECT count(*) FROM files WHERE package_id = ?1";
static const char registry_files_sql[] =
    "SELECT path, media_type, size, blake3, sha256 FROM files "
    "WHERE package_id = ?1 ORDER BY path";

static int registry_manifest_files(struct wtx *tx, const struct uuid *id,
                                   cbor_item_t **out, struct errbuf *e) {
  cbor_item_t *arr = NULL;
  sqlite3_stmt *st;
  int64_t n = 0;
  int rc;

  *out = NULL;
  st = wtx_stmt(tx, registry_count_sql, &rc);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 1, id->b, UUID_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    n = sqlite3_column_int64(st, 0);
    rc = SQLITE_OK;
  }
  if (st != NULL)
    sqlite3_reset(st);
  if (rc != SQLITE_OK)
    return db_err(wtx_db(tx), rc, "counting files", e);
  arr = cbor_new_definite_array((size_t)n);
  if (arr == NULL)
    return err_set(e, UV_ENOMEM, "out of memory building the manifest");

  st = wtx_stmt(tx, registry_files_sql, &rc);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 1, id->b, UUID_LEN, SQLITE_STATIC);
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    cbor_item_t *f = ccbor_map_new(5);
    int brc = f != NULL ? 0 : UV_ENOMEM;
    if (brc == 0)
      brc = ccbor_map_put_str(f, "path",
                              (const char *)sqlite3_column_text(st, 0));
    if (brc == 0)
      brc = ccbor_map_put_str(f, "media_type",
                              (const char *)sqlite3_column_text(st, 1));
    if (brc == 0)
      brc = ccbor_map_put_int(f, "size", sqlite3_column_int64(st, 2));
    if (brc == 0 && sqlite3_column_bytes(st, 3) == DIGEST_LEN &&
        sqlite3_column_bytes(st, 4) == DIGEST_LEN) {
      brc = registry_put_caddr(f, "blake3", CADDR_BLAKE3,
                               sqlite3_column_blob(st, 3));
      if (brc == 0)
        brc = registry_put_caddr(f, "sha256", CADDR_SHA256,
                                 sqlite3_column_blob(st, 4));
    } else if (brc == 0) {
      brc = UV_EPROTO;
    }
    if (brc == 0 && !cbor_array_push(arr, f))
      brc = UV_ENOMEM;
    if (f != NULL)
      cbor_decref(&f);
    if (brc != 0) {
      sqlite3_reset(st);
      cbor_decref(&arr);
      return err_set(e, brc, "could not build the manifest's file list");
    }
    rc = SQLITE_OK;
  }
  if (st != NULL)
    sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    cbor_decref(&arr);
    return db_err(wtx_db(tx), rc, "listing files", e);
  }
  *out = arr;
  return 0;
}

static void registry_finalize(struct wtx *tx, struct wjob *j) {
  struct reg_result *res = &j->res;
  struct package *p = NULL;
  struct errbuf e = {{0}};
  cbor_item_t *map = NULL, *pkg = NULL, *files = NULL, *meta = NULL;
  int64_t now, ms;
  int rc;

  if (!registry_open_package(tx, &j->package_id, res, REG_ALREADY_FINALIZED))
    return;
  if ((rc = registry_load_package(tx, &j->package_id, &p, &e)) != 0) {
    registry_internal(res, rc, &e);
    return;
  }
  if (registry_metadata(p->metadata_json, &meta, res) != 0) {
    free(p);
    return;
  }
  if ((rc = registry_manifest_files(tx, &j->package_id, &files, &e)) != 0) {
    cbor_decref(&meta);
    free(p);
    registry_internal(res, rc, &e);
    return;
  }
  now = registry_now(&ms);
  map = ccbor_map_new(3);
  pkg = ccbor_map_new(8);
  rc = map != NULL && pkg != NULL ? 0 : UV_ENOMEM;
  if (rc == 0)
    rc = registry_put_uuid(pkg, "id", &p->id);
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
    rc = ccbor_map_put_int(pkg, "finalized_at", now);
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
  free(p);
  if (map == NULL) {
    registry_err(res, REG_INTERNAL, "out of memory");
    return;
  }
  registry_emit(tx, j, map, rc, EV_PACKAGE_FINALIZED, EV_KIND_PACKAGE,
                &j->package_id, now);
  if (res->error != REG_OK)
    return;
  if ((rc = registry_load_package(tx, &j->package_id, &res->package,
                                  &e)) != 0)
    registry_internal(res, rc, &e);
}

void registry_run(struct wtx *tx, struct wjob *j) {
  switch (j->kind) {
  case WJOB_CREATE:
    registry_create(tx, j);
    break;
  case WJOB_INGEST:
    registry_ingest(tx, j);
    break;
  case WJOB_FINALIZE:
    registry_finalize(tx, j);
    break;
  }
}
