/*
 * views_retention.c: how the retention lifecycle's events change the views
 * (schema/0002_retention.sql, payloads in docs/EVENTS.md).
 *
 *   v1.retention_class.defined  retention_classes upserted; a raised
 *                               duration moves the expiry of the class's
 *                               finalized live packages later (never
 *                               earlier: max of the two)
 *   v1.retention_class.removed  retention_classes row deleted
 *   v1.retention.extended       packages.retention_class and
 *                               retention_state (class, expires_at)
 *   v1.hold.placed              holds row inserted (active)
 *   v1.hold.released            the hold's released_* set
 *   v1.package.expired          packages.status 3 (from finalized)
 *   v1.package.aborted          packages.status 4 (from open)
 *                               both: retention_state.ended_*; every
 *                               blob a file of the package holds loses
 *                               that reference, and one left with none
 *                               becomes a candidate (unref_seq, unref_at)
 *   v1.blob.collected           blobs.collected_seq (an orphan, with no
 *                               row, changes no view)
 * Every value comes from the payload or the event row (sequence, actor,
 * created_at), never from the clock.
 */
#include "store/registry/views_int.h"

#include "store/registry/registry.h"

#include <string.h>

#include "store/registry/model.h"

/* Runs st with its binds done (rc) and checks it changed exactly one row:
 * an event about something the views lack is UV_EPROTO. */
static int views_run_one(struct evlog_db *db, struct evlog_stmt *st, int rc,
                         const struct event_rec *ev, const char *what,
                         struct errbuf *e) {
  if ((rc = views_run(st, rc, ev, what, e)) != 0)
    return rc;
  if (evlog_changes(db) != 1)
    return err_set(e, UV_EPROTO,
                   "event %lld (%s) does not fit the views: %s changed "
                   "nothing; run --verify-log",
                   (long long)ev->sequence, ev->event_type, what);
  return 0;
}

/* ---- classes ------------------------------------------------------------- */

static const char views_class_upsert_sql[] =
    "INSERT INTO retention_classes (name, duration_seconds, defined_seq) "
    "VALUES (?1, ?2, ?3) ON CONFLICT (name) DO UPDATE SET "
    "duration_seconds = excluded.duration_seconds, "
    "defined_seq = excluded.defined_seq";
static const char views_class_raise_sql[] =
    "UPDATE retention_state SET expires_at = CASE WHEN ?2 IS NULL THEN NULL "
    "ELSE max(expires_at, (SELECT finalized_at FROM packages "
    "WHERE id = retention_state.package_id) + ?2 * 1000000) END "
    "WHERE class = ?1 AND ended_seq IS NULL AND expires_at IS NOT NULL";
static const char views_class_delete_sql[] =
    "DELETE FROM retention_classes WHERE name = ?1";

int views_class_defined(struct evlog_db *db, const struct event_rec *ev,
                        const struct cview *p, struct errbuf *e) {
  enum { F_NAME, F_DURATION, F_COUNT };
  static const char *const keys[F_COUNT] = {"name", "duration_seconds"};
  struct cview f[F_COUNT];
  struct views_text name;
  int64_t dur;
  bool never;
  struct evlog_stmt *st;
  int rc;

  if ((rc = views_fields(p, keys, F_COUNT, f, ev, e)) != 0 ||
      (rc = views_text(&f[F_NAME], "name", ev, &name, e)) != 0 ||
      (rc = views_opt_int(&f[F_DURATION], "duration_seconds", ev, &dur,
                          &never, e)) != 0)
    return rc;
  if (!never && (dur < 0 || dur > REG_DURATION_MAX))
    return views_bad(ev, "duration_seconds", e);
  if ((rc = evlog_stmt(db, views_class_upsert_sql, &st, e)) != 0)
    return rc;
  rc = views_bind_text(st, 1, &name);
  if (rc == 0)
    rc = views_bind_opt_int(st, 2, dur, never);
  if (rc == 0)
    rc = evlog_bind_int(st, 3, ev->sequence);
  if ((rc = views_run(st, rc, ev, "defining a retention class", e)) != 0)
    return rc;
  if ((rc = evlog_stmt(db, views_class_raise_sql, &st, e)) != 0)
    return rc;
  rc = views_bind_text(st, 1, &name);
  if (rc == 0)
    rc = views_bind_opt_int(st, 2, dur, never);
  return views_run(st, rc, ev, "moving expiry for a raised class", e);
}

int views_class_removed(struct evlog_db *db, const struct event_rec *ev,
                        const struct cview *p, struct errbuf *e) {
  static const char *const keys[] = {"name"};
  struct cview f[1];
  struct views_text name;
  struct evlog_stmt *st;
  int rc;

  if ((rc = views_fields(p, keys, 1, f, ev, e)) != 0 ||
      (rc = views_text(&f[0], "name", ev, &name, e)) != 0)
    return rc;
  if ((rc = evlog_stmt(db, views_class_delete_sql, &st, e)) != 0)
    return rc;
  rc = views_bind_text(st, 1, &name);
  return views_run_one(db, st, rc, ev, "removing a retention class", e);
}

/* ---- one package's retention -------------------------------------------- */

static const char views_pkg_class_sql[] =
    "UPDATE packages SET retention_class = ?2 WHERE id = ?1 AND status IN "
    "(1, 2)";
static const char views_ret_extend_sql[] =
    "UPDATE retention_state SET class = ?2, expires_at = ?3 "
    "WHERE package_id = ?1";

int views_retention_extended(struct evlog_db *db, const struct event_rec *ev,
                             const struct cview *p, struct errbuf *e) {
  enum { F_PKG, F_CLASS, F_EXPIRES, F_COUNT };
  static const char *const keys[F_COUNT] = {"package_id", "retention_class",
                                            "expires_at"};
  struct cview f[F_COUNT];
  struct views_text cls;
  struct uuid id;
  int64_t expires;
  bool never;
  struct evlog_stmt *st;
  int rc;

  if ((rc = views_fields(p, keys, F_COUNT, f, ev, e)) != 0 ||
      (rc = views_uuid(&f[F_PKG], "package_id", ev, &id, e)) != 0 ||
      (rc = views_text(&f[F_CLASS], "retention_class", ev, &cls, e)) != 0 ||
      (rc = views_opt_int(&f[F_EXPIRES], "expires_at", ev, &expires, &never,
                          e)) != 0)
    return rc;
  if ((rc = evlog_stmt(db, views_pkg_class_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, id.b, UUID_LEN);
  if (rc == 0)
    rc = views_bind_text(st, 2, &cls);
  if ((rc = views_run_one(db, st, rc, ev, "changing a package's class", e)))
    return rc;
  if ((rc = evlog_stmt(db, views_ret_extend_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, id.b, UUID_LEN);
  if (rc == 0)
    rc = views_bind_text(st, 2, &cls);
  if (rc == 0)
    rc = views_bind_opt_int(st, 3, expires, never);
  return views_run_one(db, st, rc, ev, "extending retention", e);
}

/* ---- holds --------------------------------------------------------------- */

static const char views_hold_insert_sql[] =
    "INSERT INTO holds (id, package_id, reason, actor, placed_at, "
    "placed_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char views_hold_release_sql[] =
    "UPDATE holds SET released_at = ?3, released_by = ?4, released_seq = ?5 "
    "WHERE id = ?1 AND package_id = ?2 AND released_seq IS NULL";

int views_hold_placed(struct evlog_db *db, const struct event_rec *ev,
                      const struct cview *p, struct errbuf *e) {
  enum { F_ID, F_PKG, F_REASON, F_AT, F_COUNT };
  static const char *const keys[F_COUNT] = {"id", "package_id", "reason",
                                            "placed_at"};
  struct cview f[F_COUNT];
  struct views_text reason;
  struct uuid id, pkg;
  int64_t at;
  struct evlog_stmt *st;
  int rc;

  if ((rc = views_fields(p, keys, F_COUNT, f, ev, e)) != 0 ||
      (rc = views_uuid(&f[F_ID], "id", ev, &id, e)) != 0 ||
      (rc = views_uuid(&f[F_PKG], "package_id", ev, &pkg, e)) != 0 ||
      (rc = views_text(&f[F_REASON], "reason", ev, &reason, e)) != 0 ||
      (rc = views_int(&f[F_AT], "placed_at", ev, &at, e)) != 0)
    return rc;
  if ((rc = evlog_stmt(db, views_hold_insert_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, id.b, UUID_LEN);
  if (rc == 0)
    rc = evlog_bind_blob(st, 2, pkg.b, UUID_LEN);
  if (rc == 0)
    rc = views_bind_text(st, 3, &reason);
  if (rc == 0)
    rc = evlog_bind_str(st, 4, ev->actor);
  if (rc == 0)
    rc = evlog_bind_int(st, 5, at);
  if (rc == 0)
    rc = evlog_bind_int(st, 6, ev->sequence);
  return views_run(st, rc, ev, "placing a hold", e);
}

int views_hold_released(struct evlog_db *db, const struct event_rec *ev,
                        const struct cview *p, struct errbuf *e) {
  enum { F_ID, F_PKG, F_AT, F_COUNT };
  static const char *const keys[F_COUNT] = {"id", "package_id",
                                            "released_at"};
  struct cview f[F_COUNT];
  struct uuid id, pkg;
  int64_t at;
  struct evlog_stmt *st;
  int rc;

  if ((rc = views_fields(p, keys, F_COUNT, f, ev, e)) != 0 ||
      (rc = views_uuid(&f[F_ID], "id", ev, &id, e)) != 0 ||
      (rc = views_uuid(&f[F_PKG], "package_id", ev, &pkg, e)) != 0 ||
      (rc = views_int(&f[F_AT], "released_at", ev, &at, e)) != 0)
    return rc;
  if ((rc = evlog_stmt(db, views_hold_release_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, id.b, UUID_LEN);
  if (rc == 0)
    rc = evlog_bind_blob(st, 2, pkg.b, UUID_LEN);
  if (rc == 0)
    rc = evlog_bind_int(st, 3, at);
  if (rc == 0)
    rc = evlog_bind_str(st, 4, ev->actor);
  if (rc == 0)
    rc = evlog_bind_int(st, 5, ev->sequence);
  return views_run_one(db, st, rc, ev, "releasing a hold", e);
}

/* ---- expiry and abort ---------------------------------------------------- */

static const char views_pkg_end_sql[] =
    "UPDATE packages SET status = ?2 WHERE id = ?1 AND status = ?3";
static const char views_ret_end_sql[] =
    "UPDATE retention_state SET ended_at = ?2, ended_seq = ?3, "
    "end_reason = ?4 WHERE package_id = ?1";
/* Each file of the package drops one reference to its blob. */
static const char views_blob_unref_sql[] =
    "UPDATE blobs SET refcount = refcount - (SELECT count(*) FROM files f "
    "WHERE f.package_id = ?1 AND f.blake3 = blobs.blake3) "
    "WHERE blake3 IN (SELECT blake3 FROM files WHERE package_id = ?1)";
static const char views_blob_candidate_sql[] =
    "UPDATE blobs SET unref_seq = ?2, unref_at = ?3 "
    "WHERE refcount = 0 AND unref_seq IS NULL AND blake3 IN "
    "(SELECT blake3 FROM files WHERE package_id = ?1)";

int views_package_ended(struct evlog_db *db, const struct event_rec *ev,
                        const struct cview *p, struct errbuf *e) {
  enum { F_PKG, F_AS_OF, F_REASON, F_COUNT };
  static const char *const keys[F_COUNT] = {"package_id", "as_of",
                                            "reason"};
  bool expired = strcmp(ev->event_type, EV_PACKAGE_EXPIRED) == 0;
  struct cview f[F_COUNT];
  struct views_text reason = {"expired", 7};
  struct uuid id;
  int64_t as_of;
  struct evlog_stmt *st;
  int rc;

  if ((rc = views_fields(p, keys, F_COUNT, f, ev, e)) != 0 ||
      (rc = views_uuid(&f[F_PKG], "package_id", ev, &id, e)) != 0 ||
      (rc = views_int(&f[F_AS_OF], "as_of", ev, &as_of, e)) != 0 ||
      (!expired &&
       (rc = views_text(&f[F_REASON], "reason", ev, &reason, e)) != 0))
    return rc;
  if ((rc = evlog_stmt(db, views_pkg_end_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, id.b, UUID_LEN);
  if (rc == 0)
    rc = evlog_bind_int(st, 2, expired ? PKG_EXPIRED : PKG_ABORTED);
  if (rc == 0)
    rc = evlog_bind_int(st, 3, expired ? PKG_FINALIZED : PKG_OPEN);
  if ((rc = views_run_one(db, st, rc, ev,
                          expired ? "expiring a finalized package"
                                  : "aborting an open package",
                          e)) != 0)
    return rc;
  if ((rc = evlog_stmt(db, views_ret_end_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, id.b, UUID_LEN);
  if (rc == 0)
    rc = evlog_bind_int(st, 2, as_of);
  if (rc == 0)
    rc = evlog_bind_int(st, 3, ev->sequence);
  if (rc == 0)
    rc = views_bind_text(st, 4, &reason);
  if ((rc = views_run_one(db, st, rc, ev, "ending retention", e)) != 0)
    return rc;
  if ((rc = evlog_stmt(db, views_blob_unref_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, id.b, UUID_LEN);
  if ((rc = views_run(st, rc, ev, "dropping blob references", e)) != 0)
    return rc;
  if ((rc = evlog_stmt(db, views_blob_candidate_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, id.b, UUID_LEN);
  if (rc == 0)
    rc = evlog_bind_int(st, 2, ev->sequence);
  if (rc == 0)
    rc = evlog_bind_int(st, 3, ev->created_at);
  return views_run(st, rc, ev, "marking collection candidates", e);
}

/* ---- collection ---------------------------------------------------------- */

static const char views_blob_collect_sql[] =
    "UPDATE blobs SET collected_seq = ?2 WHERE blake3 = ?1 AND refcount = 0";

int views_blob_collected(struct evlog_db *db, const struct event_rec *ev,
                         const struct cview *p, struct errbuf *e) {
  enum { F_B3, F_UNREF, F_COUNT };
  static const char *const keys[F_COUNT] = {"blake3", "unreferenced_seq"};
  struct cview f[F_COUNT];
  uint8_t b3[DIGEST_LEN];
  int64_t unref;
  bool orphan;
  struct evlog_stmt *st;
  int rc;

  if ((rc = views_fields(p, keys, F_COUNT, f, ev, e)) != 0 ||
      (rc = views_digest(&f[F_B3], "blake3", CADDR_BLAKE3, ev, b3, e)) != 0 ||
      (rc = views_opt_int(&f[F_UNREF], "unreferenced_seq", ev, &unref,
                          &orphan, e)) != 0)
    return rc;
  if ((rc = evlog_stmt(db, views_blob_collect_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, b3, DIGEST_LEN);
  if (rc == 0)
    rc = evlog_bind_int(st, 2, ev->sequence);
  if (orphan)
    return views_run(st, rc, ev, "collecting an orphan blob", e);
  return views_run_one(db, st, rc, ev, "collecting an unreferenced blob", e);
}
