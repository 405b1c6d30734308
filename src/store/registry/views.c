/*
 * views.c: how each event type changes the views (schema/0001_event_log.sql,
 * payloads in docs/EVENTS.md).
 *
 *   v1.package.created    insert packages (open) and retention_state
 *                         (expires_at = created_at + class duration)
 *   v1.file.ingested      blobs: insert or refcount + 1; insert files
 *   v1.package.finalized  packages: finalized, finalized_at from the
 *                         manifest, manifest_digest = the event's
 *                         payload_digest (the payload is the manifest)
 * views_apply stamps state.last_sequence; callers applying many events
 * in one transaction (replay, the writer's batches) stamp once instead.
 */
#include "store/registry/views.h"

#include <stdlib.h>
#include <string.h>

#include "store/codec/caddr.h"
#include "store/codec/ccbor.h"
#include "store/codec/cview.h"
#include "store/evlog/sqlite/db.h"
#include "store/codec/jcs.h"

enum views_stmt {
  VS_PKG_INSERT,
  VS_RET_INSERT,
  VS_BLOB_UPSERT,
  VS_FILE_INSERT,
  VS_PKG_FINALIZE,
  VS_STATE,
  VS_COUNT
};

static const char *const views_sql[VS_COUNT] = {
    [VS_PKG_INSERT] =
        "INSERT INTO packages (id, name, producer, subject, retention_class, "
        "metadata, status, created_at, created_seq) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8)",
    [VS_RET_INSERT] =
        "INSERT INTO retention_state (package_id, class, expires_at) "
        "SELECT ?1, name, ?2 + duration_days * " "86400000000"
        " FROM retention_classes WHERE name = ?3",
    [VS_BLOB_UPSERT] =
        "INSERT INTO blobs (blake3, sha256, size, refcount) "
        "VALUES (?1, ?2, ?3, 1) "
        "ON CONFLICT (blake3) DO UPDATE SET refcount = refcount + 1",
    [VS_FILE_INSERT] =
        "INSERT INTO files (id, package_id, path, media_type, size, blake3, "
        "sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [VS_PKG_FINALIZE] =
        "UPDATE packages SET status = 2, finalized_at = ?2, "
        "manifest_digest = ?3, finalized_seq = ?4 "
        "WHERE id = ?1 AND status = 1",
    [VS_STATE] = "UPDATE state SET last_sequence = ?1 WHERE id = 1",
};

struct views {
  sqlite3 *db;
  sqlite3_stmt *st[VS_COUNT];
};

int views_open(sqlite3 *db, struct views **out) {
  struct views *v = calloc(1, sizeof *v);

  *out = NULL;
  if (v == NULL)
    return UV_ENOMEM;
  v->db = db;
  *out = v;
  return 0;
}

void views_close(struct views *v) {
  if (v == NULL)
    return;
  for (size_t i = 0; i < VS_COUNT; i++)
    sqlite3_finalize(v->st[i]);
  free(v);
}

static sqlite3_stmt *views_stmt(struct views *v, enum views_stmt which,
                                int *rc) {
  if (v->st[which] == NULL)
    *rc = sqlite3_prepare_v3(v->db, views_sql[which], -1,
                             SQLITE_PREPARE_PERSISTENT, &v->st[which], NULL);
  return v->st[which];
}

/* Steps a statement that returns no rows; 0 or a UV_E* code. */
static int views_run(struct views *v, sqlite3_stmt *st, int rc,
                     const char *what, struct errbuf *e) {
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (st != NULL)
    sqlite3_reset(st);
  if (st != NULL)
    sqlite3_clear_bindings(st);
  return rc == SQLITE_DONE ? 0 : db_err(v->db, rc, what, e);
}

/* ---- payload access ---------------------------------------------------- */

/* Payload fields are read in place (cview.h): no item tree per event. */

struct views_text {
  const char *s;
  size_t n;
};

static int views_bad(const struct event_rec *ev, const char *key,
                     struct errbuf *e) {
  return err_set(e, UV_EPROTO,
                 "event %lld (%s): payload field \"%s\" is missing or has the "
                 "wrong type",
                 (long long)ev->sequence, ev->event_type, key);
}

/* Reads the fields keys[0..n) of map m into out; a malformed map names
 * the event. */
static int views_fields(const struct cview *m, const char *const *keys,
                        size_t n, struct cview *out,
                        const struct event_rec *ev, struct errbuf *e) {
  if (cview_map(m, keys, n, out) != 0)
    return err_set(e, UV_EPROTO,
                   "event %lld (%s): payload is not a canonical CBOR map",
                   (long long)ev->sequence, ev->event_type);
  return 0;
}

static int views_text(const struct cview *v, const char *key,
                      const struct event_rec *ev, struct views_text *out,
                      struct errbuf *e) {
  if (cview_text(v, &out->s, &out->n) != 0)
    return views_bad(ev, key, e);
  return 0;
}

static int views_int(const struct cview *v, const char *key,
                     const struct event_rec *ev, int64_t *out,
                     struct errbuf *e) {
  if (cview_int(v, out) != 0)
    return views_bad(ev, key, e);
  return 0;
}

static int views_uuid(const struct cview *v, const char *key,
                      const struct event_rec *ev, struct uuid *out,
                      struct errbuf *e) {
  struct views_text t;

  if (views_text(v, key, ev, &t, e) != 0 || uuid_parse(t.s, t.n, out) != 0)
    return views_bad(ev, key, e);
  return 0;
}

static int views_digest(const struct cview *v, const char *key,
                        enum caddr_alg alg, const struct event_rec *ev,
                        uint8_t out[DIGEST_LEN], struct errbuf *e) {
  struct views_text t;
  struct caddr a;

  if (views_text(v, key, ev, &t, e) != 0 ||
      caddr_parse(t.s, t.n, &a, NULL) != 0 || a.alg != alg)
    return views_bad(ev, key, e);
  memcpy(out, a.d, DIGEST_LEN);
  return 0;
}

/* The metadata object as JCS text (malloc'd): the one nested value a
 * handler needs whole, decoded strictly. */
static int views_metadata(const struct cview *v, const struct event_rec *ev,
                          char **json, size_t *len, struct errbuf *e) {
  cbor_item_t *meta = NULL;
  int rc;

  if (!cview_is_map(v) || ccbor_decode(v->p, v->n, &meta, NULL) != 0)
    return views_bad(ev, "metadata", e);
  rc = jcs_from_cbor(meta, json, len, e);
  cbor_decref(&meta);
  return rc;
}

static int views_bind_text(sqlite3_stmt *st, int col,
                           const struct views_text *t) {
  return sqlite3_bind_text(st, col, t->s, (int)t->n, SQLITE_STATIC);
}

/* ---- handlers ----------------------------------------------------------- */

static int views_package_created(struct views *v, const struct event_rec *ev,
                                 const struct cview *p, struct errbuf *e) {
  enum { F_ID, F_NAME, F_PRODUCER, F_SUBJECT, F_CLASS, F_CREATED, F_META,
         F_COUNT };
  static const char *const keys[F_COUNT] = {
      "id", "name", "producer", "subject", "retention_class", "created_at",
      "metadata"};
  struct cview f[F_COUNT];
  struct views_text name, producer, subject, cls;
  struct uuid id;
  int64_t created_at;
  char *meta_json = NULL;
  size_t meta_len;
  sqlite3_stmt *st;
  int rc;

  if ((rc = views_fields(p, keys, F_COUNT, f, ev, e)) != 0 ||
      (rc = views_uuid(&f[F_ID], "id", ev, &id, e)) != 0 ||
      (rc = views_text(&f[F_NAME], "name", ev, &name, e)) != 0 ||
      (rc = views_text(&f[F_PRODUCER], "producer", ev, &producer, e)) != 0 ||
      (rc = views_text(&f[F_SUBJECT], "subject", ev, &subject, e)) != 0 ||
      (rc = views_text(&f[F_CLASS], "retention_class", ev, &cls, e)) != 0 ||
      (rc = views_int(&f[F_CREATED], "created_at", ev, &created_at, e)) != 0)
    return rc;
  if ((rc = views_metadata(&f[F_META], ev, &meta_json, &meta_len, e)) != 0)
    return rc;

  rc = SQLITE_OK;
  st = views_stmt(v, VS_PKG_INSERT, &rc);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 1, id.b, UUID_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = views_bind_text(st, 2, &name);
  if (rc == SQLITE_OK)
    rc = views_bind_text(st, 3, &producer);
  if (rc == SQLITE_OK)
    rc = views_bind_text(st, 4, &subject);
  if (rc == SQLITE_OK)
    rc = views_bind_text(st, 5, &cls);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 6, meta_json, (int)meta_len, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int64(st, 7, created_at);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int64(st, 8, ev->sequence);
  rc = views_run(v, st, rc, "inserting a package", e);
  free(meta_json);
  if (rc != 0)
    return rc;

  rc = SQLITE_OK;
  st = views_stmt(v, VS_RET_INSERT, &rc);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 1, id.b, UUID_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int64(st, 2, created_at);
  if (rc == SQLITE_OK)
    rc = views_bind_text(st, 3, &cls);
  if ((rc = views_run(v, st, rc, "inserting retention state", e)) != 0)
    return rc;
  if (sqlite3_changes(v->db) != 1)
    return err_set(e, UV_EPROTO,
                   "event %lld: retention class \"%.*s\" is not known",
                   (long long)ev->sequence, (int)cls.n, cls.s);
  return 0;
}

static int views_file_ingested(struct views *v, const struct event_rec *ev,
                               const struct cview *p, struct errbuf *e) {
  enum { F_ID, F_PKG, F_PATH, F_MEDIA, F_SIZE, F_B3, F_SHA, F_COUNT };
  static const char *const keys[F_COUNT] = {
      "id", "package_id", "path", "media_type", "size", "blake3", "sha256"};
  struct cview f[F_COUNT];
  struct views_text path, media;
  struct uuid id, pkg;
  struct digest_pair d;
  int64_t size;
  sqlite3_stmt *st;
  int rc;

  if ((rc = views_fields(p, keys, F_COUNT, f, ev, e)) != 0 ||
      (rc = views_uuid(&f[F_ID], "id", ev, &id, e)) != 0 ||
      (rc = views_uuid(&f[F_PKG], "package_id", ev, &pkg, e)) != 0 ||
      (rc = views_text(&f[F_PATH], "path", ev, &path, e)) != 0 ||
      (rc = views_text(&f[F_MEDIA], "media_type", ev, &media, e)) != 0 ||
      (rc = views_int(&f[F_SIZE], "size", ev, &size, e)) != 0 ||
      (rc = views_digest(&f[F_B3], "blake3", CADDR_BLAKE3, ev, d.blake3,
                         e)) != 0 ||
      (rc = views_digest(&f[F_SHA], "sha256", CADDR_SHA256, ev, d.sha256,
                         e)) != 0)
    return rc;
  if (size < 0)
    return views_bad(ev, "size", e);

  rc = SQLITE_OK;
  st = views_stmt(v, VS_BLOB_UPSERT, &rc);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 1, d.blake3, DIGEST_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 2, d.sha256, DIGEST_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int64(st, 3, size);
  if ((rc = views_run(v, st, rc, "recording a blob", e)) != 0)
    return rc;

  rc = SQLITE_OK;
  st = views_stmt(v, VS_FILE_INSERT, &rc);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 1, id.b, UUID_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 2, pkg.b, UUID_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = views_bind_text(st, 3, &path);
  if (rc == SQLITE_OK)
    rc = views_bind_text(st, 4, &media);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int64(st, 5, size);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 6, d.blake3, DIGEST_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 7, d.sha256, DIGEST_LEN, SQLITE_STATIC);
  return views_run(v, st, rc, "inserting a file", e);
}

static int views_package_finalized(struct views *v,
                                   const struct event_rec *ev,
                                   const struct cview *p, struct errbuf *e) {
  static const char *const top[] = {"package"};
  static const char *const keys[] = {"id", "finalized_at"};
  struct cview pkg, f[2];
  struct uuid id;
  int64_t finalized_at;
  sqlite3_stmt *st;
  int rc;

  if ((rc = views_fields(p, top, 1, &pkg, ev, e)) != 0)
    return rc;
  if (!cview_is_map(&pkg))
    return views_bad(ev, "package", e);
  if ((rc = views_fields(&pkg, keys, 2, f, ev, e)) != 0 ||
      (rc = views_uuid(&f[0], "id", ev, &id, e)) != 0 ||
      (rc = views_int(&f[1], "finalized_at", ev, &finalized_at, e)) != 0)
    return rc;
  rc = SQLITE_OK;
  st = views_stmt(v, VS_PKG_FINALIZE, &rc);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 1, id.b, UUID_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int64(st, 2, finalized_at);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 3, ev->payload_digest, DIGEST_LEN,
                           SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int64(st, 4, ev->sequence);
  if ((rc = views_run(v, st, rc, "finalizing a package", e)) != 0)
    return rc;
  if (sqlite3_changes(v->db) != 1)
    return err_set(e, UV_EPROTO,
                   "event %lld: finalizes a package that is missing or "
                   "already finalized",
                   (long long)ev->sequence);
  return 0;
}

int views_apply_event(struct views *v, const struct event_rec *ev,
                      struct errbuf *e) {
  struct cview p = {ev->payload, ev->payload_len};

  if (strcmp(ev->event_type, EV_PACKAGE_CREATED) == 0)
    return views_package_created(v, ev, &p, e);
  if (strcmp(ev->event_type, EV_FILE_INGESTED) == 0)
    return views_file_ingested(v, ev, &p, e);
  if (strcmp(ev->event_type, EV_PACKAGE_FINALIZED) == 0)
    return views_package_finalized(v, ev, &p, e);
  return err_set(e, UV_EPROTO,
                 "event %lld has type \"%s\", which this artifactstored does "
                 "not know: run a newer version",
                 (long long)ev->sequence, ev->event_type);
}

int views_stamp(struct views *v, int64_t sequence, struct errbuf *e) {
  sqlite3_stmt *st;
  int rc = SQLITE_OK;

  st = views_stmt(v, VS_STATE, &rc);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int64(st, 1, sequence);
  return views_run(v, st, rc, "stamping the applied sequence", e);
}

int views_applied(sqlite3 *db, int64_t *out, const char *what,
                  struct errbuf *e) {
  sqlite3_stmt *st = NULL;
  int rc;

  rc = sqlite3_prepare_v2(db, "SELECT last_sequence FROM state WHERE id = 1",
                          -1, &st, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
    *out = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  if (rc == SQLITE_DONE)
    return err_set(e, UV_ENOENT, "%s: the state row is missing", what);
  return rc == SQLITE_ROW ? 0 : db_err(db, rc, what, e);
}

int views_apply(struct views *v, const struct event_rec *ev,
                struct errbuf *e) {
  int rc = views_apply_event(v, ev, e);

  return rc != 0 ? rc : views_stamp(v, ev->sequence, e);
}
