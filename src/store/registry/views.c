/*
 * views.c: how each event type changes the views (schema/NNNN_*.sql,
 * payloads in docs/EVENTS.md).
 *
 *   v1.package.created    insert packages (open) and retention_state
 *                         (no expiry: the clock starts at finalize)
 *   v1.file.ingested      blobs: insert or refcount + 1 (live again:
 *                         candidate and collected marks cleared); insert
 *                         files
 *   v1.package.finalized  packages: finalized, finalized_at from the
 *                         manifest, manifest_digest = the event's
 *                         payload_digest (the payload is the manifest);
 *                         retention_state.expires_at from the class
 *   the retention lifecycle's events: views_retention.c
 * Dispatch is by the table views_apply_table, event type -> function; a
 * new event type adds a row there and its function.  Stamping
 * state.last_sequence is the engine's (the writer once per batch, replay
 * once per rebuild).
 */
#include "store/registry/views_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/codec/caddr.h"
#include "store/codec/ccbor.h"
#include "store/codec/cview.h"
#include "store/codec/jcs.h"
#include "store/codec/uuid.h"

static const char views_pkg_insert_sql[] =
    "INSERT INTO packages (id, name, producer, subject, retention_class, "
    "metadata, status, created_at, created_seq) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8)";
static const char views_ret_insert_sql[] =
    "INSERT INTO retention_state (package_id, class, expires_at) "
    "SELECT ?1, name, NULL FROM retention_classes WHERE name = ?2";
static const char views_blob_upsert_sql[] =
    "INSERT INTO blobs (blake3, sha256, size, refcount) "
    "VALUES (?1, ?2, ?3, 1) "
    "ON CONFLICT (blake3) DO UPDATE SET refcount = refcount + 1, "
    "unref_seq = NULL, unref_at = NULL, collected_seq = NULL";
static const char views_file_insert_sql[] =
    "INSERT INTO files (id, package_id, path, media_type, size, blake3, "
    "sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char views_pkg_finalize_sql[] =
    "UPDATE packages SET status = 2, finalized_at = ?2, "
    "manifest_digest = ?3, finalized_seq = ?4 "
    "WHERE id = ?1 AND status = 1";
/* The clock starts at finalize: finalized_at + the duration of the
 * package's class as it is now (NULL: never). */
static const char views_ret_finalize_sql[] =
    "UPDATE retention_state SET expires_at = ?2 + "
    "(SELECT duration_seconds * 1000000 FROM retention_classes "
    "WHERE name = retention_state.class) WHERE package_id = ?1";

/* ---- handlers ----------------------------------------------------------- */

static int views_package_created(struct evlog_db *db, const struct event_rec *ev,
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
  struct evlog_stmt *st;
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

  if ((rc = evlog_stmt(db, views_pkg_insert_sql, &st, e)) != 0) {
    free(meta_json);
    return rc;
  }
  rc = evlog_bind_blob(st, 1, id.b, UUID_LEN);
  if (rc == 0)
    rc = views_bind_text(st, 2, &name);
  if (rc == 0)
    rc = views_bind_text(st, 3, &producer);
  if (rc == 0)
    rc = views_bind_text(st, 4, &subject);
  if (rc == 0)
    rc = views_bind_text(st, 5, &cls);
  if (rc == 0)
    rc = evlog_bind_text(st, 6, meta_json, meta_len);
  if (rc == 0)
    rc = evlog_bind_int(st, 7, created_at);
  if (rc == 0)
    rc = evlog_bind_int(st, 8, ev->sequence);
  rc = views_run(st, rc, ev, "inserting a package", e);
  free(meta_json);
  if (rc != 0)
    return rc;

  if ((rc = evlog_stmt(db, views_ret_insert_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, id.b, UUID_LEN);
  if (rc == 0)
    rc = views_bind_text(st, 2, &cls);
  if ((rc = views_run(st, rc, ev, "inserting retention state", e)) != 0)
    return rc;
  if (evlog_changes(db) != 1)
    return err_set(e, UV_EPROTO,
                   "event %lld: retention class \"%.*s\" is not known",
                   (long long)ev->sequence, (int)cls.n, cls.s);
  return 0;
}

static int views_file_ingested(struct evlog_db *db, const struct event_rec *ev,
                               const struct cview *p, struct errbuf *e) {
  enum { F_ID, F_PKG, F_PATH, F_MEDIA, F_SIZE, F_B3, F_SHA, F_COUNT };
  static const char *const keys[F_COUNT] = {
      "id", "package_id", "path", "media_type", "size", "blake3", "sha256"};
  struct cview f[F_COUNT];
  struct views_text path, media;
  struct uuid id, pkg;
  struct digest_pair d;
  int64_t size;
  struct evlog_stmt *st;
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
  if ((rc = evlog_stmt(db, views_blob_upsert_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, d.blake3, DIGEST_LEN);
  if (rc == 0)
    rc = evlog_bind_blob(st, 2, d.sha256, DIGEST_LEN);
  if (rc == 0)
    rc = evlog_bind_int(st, 3, size);
  if ((rc = views_run(st, rc, ev, "recording a blob", e)) != 0)
    return rc;

  if ((rc = evlog_stmt(db, views_file_insert_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, id.b, UUID_LEN);
  if (rc == 0)
    rc = evlog_bind_blob(st, 2, pkg.b, UUID_LEN);
  if (rc == 0)
    rc = views_bind_text(st, 3, &path);
  if (rc == 0)
    rc = views_bind_text(st, 4, &media);
  if (rc == 0)
    rc = evlog_bind_int(st, 5, size);
  if (rc == 0)
    rc = evlog_bind_blob(st, 6, d.blake3, DIGEST_LEN);
  if (rc == 0)
    rc = evlog_bind_blob(st, 7, d.sha256, DIGEST_LEN);
  return views_run(st, rc, ev, "inserting a file", e);
}

static int views_package_finalized(struct evlog_db *db,
                                   const struct event_rec *ev,
                                   const struct cview *p, struct errbuf *e) {
  static const char *const top[] = {"package"};
  static const char *const keys[] = {"id", "finalized_at"};
  struct cview pkg, f[2];
  struct uuid id;
  int64_t finalized_at;
  struct evlog_stmt *st;
  int rc;

  if ((rc = views_fields(p, top, 1, &pkg, ev, e)) != 0)
    return rc;
  if (!cview_is_map(&pkg))
    return views_bad(ev, "package", e);
  if ((rc = views_fields(&pkg, keys, 2, f, ev, e)) != 0 ||
      (rc = views_uuid(&f[0], "id", ev, &id, e)) != 0 ||
      (rc = views_int(&f[1], "finalized_at", ev, &finalized_at, e)) != 0)
    return rc;
  if ((rc = evlog_stmt(db, views_pkg_finalize_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, id.b, UUID_LEN);
  if (rc == 0)
    rc = evlog_bind_int(st, 2, finalized_at);
  if (rc == 0)
    rc = evlog_bind_blob(st, 3, ev->payload_digest, DIGEST_LEN);
  if (rc == 0)
    rc = evlog_bind_int(st, 4, ev->sequence);
  if ((rc = views_run(st, rc, ev, "finalizing a package", e)) != 0)
    return rc;
  if (evlog_changes(db) != 1)
    return err_set(e, UV_EPROTO,
                   "event %lld: finalizes a package that is missing or "
                   "already finalized",
                   (long long)ev->sequence);
  if ((rc = evlog_stmt(db, views_ret_finalize_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, id.b, UUID_LEN);
  if (rc == 0)
    rc = evlog_bind_int(st, 2, finalized_at);
  return views_run(st, rc, ev, "starting the retention clock", e);
}

static const struct {
  const char *event_type;
  views_apply_fn apply;
} views_apply_table[] = {
    {EV_PACKAGE_CREATED, views_package_created},
    {EV_FILE_INGESTED, views_file_ingested},
    {EV_PACKAGE_FINALIZED, views_package_finalized},
    {EV_RETENTION_CLASS_DEFINED, views_class_defined},
    {EV_RETENTION_CLASS_REMOVED, views_class_removed},
    {EV_RETENTION_EXTENDED, views_retention_extended},
    {EV_HOLD_PLACED, views_hold_placed},
    {EV_HOLD_RELEASED, views_hold_released},
    {EV_PACKAGE_EXPIRED, views_package_ended},
    {EV_PACKAGE_ABORTED, views_package_ended},
    {EV_BLOB_COLLECTED, views_blob_collected},
};

int views_apply(struct evlog_db *db, const struct event_rec *ev,
                struct errbuf *e) {
  struct cview p = {ev->payload, ev->payload_len};

  for (size_t i = 0; i < ARRAY_SIZE(views_apply_table); i++)
    if (strcmp(ev->event_type, views_apply_table[i].event_type) == 0)
      return views_apply_table[i].apply(db, ev, &p, e);
  return err_set(e, UV_EPROTO,
                 "event %lld has type \"%s\", which this artifactstored does "
                 "not know: run a newer version",
                 (long long)ev->sequence, ev->event_type);
}

/* The derived views in digest order (docs/EVENTS.md, "View digest"); the
 * seeded configuration (retention_classes) is included: both sides of a
 * comparison must agree on it too. */
static const struct evlog_view_table views_tables[] = {
    {"retention_classes", "name"}, {"packages", "id"},
    {"blobs", "blake3"},           {"files", "id"},
    {"retention_state", "package_id"}, {"holds", "id"},
};

const struct evlog_domain views_domain = {
    .apply = views_apply,
    /* children first (foreign keys) */
    .reset_sql = "DELETE FROM holds;"
                 "DELETE FROM files;"
                 "DELETE FROM retention_state;"
                 "DELETE FROM blobs;"
                 "DELETE FROM packages;"
                 "DELETE FROM retention_classes;"
                 "INSERT INTO retention_classes (name, duration_seconds) "
                 "SELECT name, duration_seconds FROM retention_seed;",
    .tables = views_tables,
    .ntables = ARRAY_SIZE(views_tables),
};
