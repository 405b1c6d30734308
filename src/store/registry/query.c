/*
 * query.c: the reads of query.h, each a job of the read pool
 * (store/evlog/reader.h) with its own run function.  A result is built on
 * the pool thread, inside one read transaction, and handed to the caller's
 * callback on the loop thread.
 *
 * Package paging: rows in id order (UUIDv7, so roughly creation order);
 * the cursor is base64url (no padding) of 0x01 || the last id returned.
 */
#include "store/registry/query.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/codec/jcs.h"
#include "store/evlog/log.h"
#include "store/registry/rows.h"
#include "util/strpack.h"

#define QUERY_LIST_MAX 1000 /* rows per page */
#define QUERY_CURSOR_VERSION 0x01
#define QUERY_CURSOR_LEN (1 + UUID_LEN)

struct qjob {
  struct reader_job rj;
  struct uuid id;
  struct caddr addr;
  struct pkg_filter filter; /* strings point after the struct */
  const char *path;         /* query_file_at_path: after the struct */
  bool json;                /* query_manifest_json; holds: all */
  int64_t since;
  unsigned limit;
  query_cb cb;
  void *arg;
  struct query_result *res;
};

void query_result_free(struct query_result *res) {
  if (res == NULL)
    return;
  free(res->package);
  for (size_t i = 0; res->packages != NULL && i < res->count; i++)
    free(res->packages[i]);
  free(res->packages);
  free(res->file);
  for (size_t i = 0; res->files != NULL && i < res->count; i++)
    free(res->files[i]);
  free(res->files);
  for (size_t i = 0; res->events != NULL && i < res->count; i++)
    free(res->events[i]);
  free(res->events);
  free(res->next_cursor);
  free(res->bytes);
  free(res);
}

/* ---- building results (pool threads) ------------------------------------- */

typedef int (*qrow_fn)(struct evlog_stmt *st, void **out);

static int q_package_row(struct evlog_stmt *st, void **out) {
  return rows_package(st, (struct package **)out);
}

static int q_file_row(struct evlog_stmt *st, void **out) {
  return rows_file(st, (struct file_rec **)out);
}

/* Steps st (already bound; reset here), collecting up to max rows; *more
 * (may be NULL) says whether a further row exists. */
static int q_collect(struct evlog_db *db, struct evlog_stmt *st, qrow_fn conv, size_t max,
                     void ***out, size_t *count, bool *more,
                     struct errbuf *e) {
  void **v = NULL;
  size_t n = 0, cap = 0;
  int rc;

  *out = NULL;
  *count = 0;
  if (more != NULL)
    *more = false;
  while ((rc = evlog_step(st)) == EVLOG_ROW) {
    if (n == max) {
      if (more != NULL)
        *more = true;
      rc = 0;
      break;
    }
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      void **nv = realloc(v, ncap * sizeof *nv);
      if (nv == NULL) {
        rc = err_set(e, UV_ENOMEM, "out of memory");
        goto fail;
      }
      v = nv;
      cap = ncap;
    }
    if ((rc = conv(st, &v[n])) != 0) {
      err_set(e, rc, rc == UV_ENOMEM ? "out of memory"
                                     : "database: malformed row in a view");
      goto fail;
    }
    n++;
  }
  if (rc != 0) {
    evlog_fail(db, rc, "reading", e);
    goto fail;
  }
  evlog_reset(st);
  *out = v;
  *count = n;
  return 0;
fail:
  evlog_reset(st);
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
  return rc;
}

static int q_cursor_parse(const char *s, struct uuid *out, struct errbuf *e) {
  uint8_t bin[QUERY_CURSOR_LEN];
  size_t n = 0;

  if (sodium_base642bin(bin, sizeof bin, s, strlen(s), NULL, &n, NULL,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      n != sizeof bin || bin[0] != QUERY_CURSOR_VERSION)
    return err_set(e, UV_EINVAL,
                   "cursor \"%.64s\" is not one this server issued: use the "
                   "\"next\" value of the previous page, or omit it",
                   s);
  memcpy(out->b, bin + 1, UUID_LEN);
  return 0;
}

static char *q_cursor_make(const struct uuid *last) {
  uint8_t bin[QUERY_CURSOR_LEN];
  size_t len = sodium_base64_ENCODED_LEN(
      QUERY_CURSOR_LEN, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  char *s = malloc(len);

  if (s == NULL)
    return NULL;
  bin[0] = QUERY_CURSOR_VERSION;
  memcpy(bin + 1, last->b, UUID_LEN);
  sodium_bin2base64(s, len, bin, sizeof bin,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return s;
}

/* ---- the queries (pool threads) ------------------------------------------ */

static struct qjob *q_of(struct reader_job *rj) {
  return container_of(rj, struct qjob, rj);
}

static int q_package_get(struct reader_job *rj, struct evlog_db *db,
                         struct errbuf *e) {
  struct qjob *j = q_of(rj);

  return rows_package_get(db, &j->id, &j->res->package, e);
}

static int q_file_get(struct reader_job *rj, struct evlog_db *db,
                      struct errbuf *e) {
  struct qjob *j = q_of(rj);

  return rows_file_get(db, &j->id, &j->res->file, e);
}

static const char q_package_list_sql[] =
    ROWS_PACKAGE_SELECT "WHERE (?1 IS NULL OR p.name = ?1) "
                        "AND (?2 IS NULL OR p.producer = ?2) "
                        "AND (?3 IS NULL OR p.subject = ?3) "
                        "AND (?4 IS NULL OR p.retention_class = ?4) "
                        "AND (?5 = 0 OR p.status = ?5) "
                        "AND p.id > ?6 ORDER BY p.id LIMIT ?7";

static int q_package_list(struct reader_job *rj, struct evlog_db *db,
                          struct errbuf *e) {
  struct qjob *j = q_of(rj);
  const struct pkg_filter *f = &j->filter;
  struct query_result *res = j->res;
  const char *text[] = {f->name, f->producer, f->subject, f->retention_class};
  struct evlog_stmt *st;
  struct uuid after;
  void **v;
  bool more;
  int rc;

  if (f->limit < 1 || f->limit > QUERY_LIST_MAX)
    return err_set(e, UV_EINVAL, "limit must be from 1 to %d",
                   QUERY_LIST_MAX);
  if (f->status < 0 || f->status > PKG_ABORTED)
    return err_set(e, UV_EINVAL,
                   "status must be open, finalized, expired or aborted");
  memset(&after, 0, sizeof after);
  if (f->cursor != NULL && (rc = q_cursor_parse(f->cursor, &after, e)) != 0)
    return rc;
  if ((rc = evlog_stmt(db, q_package_list_sql, &st, e)) != 0)
    return rc;
  for (int i = 0; i < 4 && rc == 0; i++)
    rc = evlog_bind_str(st, i + 1, text[i]);
  if (rc == 0)
    rc = evlog_bind_int(st, 5, f->status);
  if (rc == 0)
    rc = evlog_bind_blob(st, 6, after.b, UUID_LEN);
  if (rc == 0)
    rc = evlog_bind_int(st, 7, (int64_t)f->limit + 1);
  if (rc != 0) {
    evlog_reset(st);
    return evlog_fail(db, rc, "binding", e);
  }
  rc = q_collect(db, st, q_package_row, f->limit, &v, &res->count, &more, e);
  if (rc != 0)
    return rc;
  res->packages = (struct package **)v;
  if (more && res->count > 0) {
    res->next_cursor = q_cursor_make(&res->packages[res->count - 1]->id);
    if (res->next_cursor == NULL)
      return err_set(e, UV_ENOMEM, "out of memory");
  }
  return 0;
}

static const char q_package_exists_sql[] =
    "SELECT 1 FROM packages WHERE id = ?1";
static const char q_files_sql[] =
    ROWS_FILE_SELECT "WHERE f.package_id = ?1 ORDER BY f.path";

static int q_files_list(struct reader_job *rj, struct evlog_db *db,
                        struct errbuf *e) {
  struct qjob *j = q_of(rj);
  struct evlog_stmt *st;
  void **v;
  int rc;

  if ((rc = evlog_stmt(db, q_package_exists_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, j->id.b, UUID_LEN);
  if (rc == 0)
    rc = evlog_step(st);
  evlog_reset(st);
  if (rc == 0)
    return UV_ENOENT;
  if (rc != EVLOG_ROW)
    return evlog_fail(db, rc, "reading", e);
  if ((rc = evlog_stmt(db, q_files_sql, &st, e)) != 0)
    return rc;
  if ((rc = evlog_bind_blob(st, 1, j->id.b, UUID_LEN)) != 0) {
    evlog_reset(st);
    return evlog_fail(db, rc, "binding", e);
  }
  rc = q_collect(db, st, q_file_row, SIZE_MAX, &v, &j->res->count, NULL, e);
  if (rc == 0)
    j->res->files = (struct file_rec **)v;
  return rc;
}

/* The first file row st finds becomes the result; UV_ENOENT when none. */
static int q_first_file(struct qjob *j, struct evlog_db *db,
                        struct evlog_stmt *st, struct errbuf *e) {
  void **v;
  size_t n;
  int rc = q_collect(db, st, q_file_row, 1, &v, &n, NULL, e);

  if (rc != 0)
    return rc;
  if (n == 0) {
    free(v);
    return UV_ENOENT;
  }
  j->res->file = v[0];
  free(v);
  return 0;
}

static const char q_file_at_path_sql[] =
    ROWS_FILE_SELECT "WHERE f.package_id = ?1 AND f.path = ?2";

/* A point lookup on the (package_id, path) unique index: an upload asks
 * this before reading its body, whatever the size of the package. */
static int q_file_at_path(struct reader_job *rj, struct evlog_db *db,
                          struct errbuf *e) {
  struct qjob *j = q_of(rj);
  struct evlog_stmt *st;
  int rc;

  if ((rc = evlog_stmt(db, q_file_at_path_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, j->id.b, UUID_LEN);
  if (rc == 0)
    rc = evlog_bind_str(st, 2, j->path);
  if (rc != 0) {
    evlog_reset(st);
    return evlog_fail(db, rc, "binding", e);
  }
  return q_first_file(j, db, st, e);
}

/* Only a file of an open or finalized package vouches for the bytes: those
 * of expired and aborted packages may be collected. */
static const char q_blob_b3_sql[] =
    ROWS_FILE_SELECT "WHERE f.blake3 = ?1 AND fp.status IN (1, 2) "
                     "ORDER BY f.id LIMIT 1";
static const char q_blob_sha_sql[] =
    ROWS_FILE_SELECT "WHERE f.sha256 = ?1 AND fp.status IN (1, 2) "
                     "ORDER BY f.id LIMIT 1";

static int q_blob_get(struct reader_job *rj, struct evlog_db *db,
                      struct errbuf *e) {
  struct qjob *j = q_of(rj);
  struct evlog_stmt *st;
  int rc;

  rc = evlog_stmt(db,
                  j->addr.alg == CADDR_BLAKE3 ? q_blob_b3_sql : q_blob_sha_sql,
                  &st, e);
  if (rc != 0)
    return rc;
  if ((rc = evlog_bind_blob(st, 1, j->addr.d, DIGEST_LEN)) != 0) {
    evlog_reset(st);
    return evlog_fail(db, rc, "binding", e);
  }
  return q_first_file(j, db, st, e);
}

static const char q_manifest_sql[] =
    "SELECT p.status, e.payload, e.payload_digest FROM packages p "
    "LEFT JOIN events e ON e.sequence = p.finalized_seq "
    "WHERE p.id = ?1";

/* The manifest is the payload of the package's v1.package.finalized event;
 * its address is that event's payload_digest.  The JCS projection is made
 * here, on the threadpool: a manifest grows with the package. */
static int q_manifest_take(struct qjob *j, const uint8_t *cbor, size_t n,
                           struct errbuf *e) {
  struct query_result *res = j->res;
  char *text = NULL;
  int rc;

  if (j->json) {
    rc = jcs_from_cbor_bytes(cbor, n, &text, &res->bytes_len, e);
    res->bytes = (uint8_t *)text;
    return rc;
  }
  res->bytes = malloc(n > 0 ? n : 1);
  if (res->bytes == NULL)
    return err_set(e, UV_ENOMEM, "out of memory");
  memcpy(res->bytes, cbor, n);
  res->bytes_len = n;
  return 0;
}

static int q_manifest_get(struct reader_job *rj, struct evlog_db *db,
                          struct errbuf *e) {
  struct qjob *j = q_of(rj);
  struct evlog_stmt *st;
  const void *cbor, *digest;
  size_t n, dn;
  int rc;

  if ((rc = evlog_stmt(db, q_manifest_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, j->id.b, UUID_LEN);
  if (rc == 0)
    rc = evlog_step(st);
  if (rc == 0) {
    rc = UV_ENOENT;
  } else if (rc != EVLOG_ROW) {
    rc = evlog_fail(db, rc, "reading the manifest", e);
  } else if (evlog_col_int(st, 0) != PKG_FINALIZED &&
             evlog_col_int(st, 0) != PKG_EXPIRED) {
    rc = err_set(e, UV_EAGAIN,
                 "the package is not finalized yet: it has no manifest");
  } else {
    cbor = evlog_col_blob(st, 1, &n);
    digest = evlog_col_blob(st, 2, &dn);
    if (evlog_col_type(st, 1) != EVLOG_BLOB || dn != DIGEST_LEN) {
      rc = err_set(e, UV_EPROTO, "the manifest event is missing: run "
                   "artifactstored --verify-log");
    } else {
      memcpy(j->res->digest, digest, DIGEST_LEN);
      rc = q_manifest_take(j, cbor, n, e);
    }
  }
  evlog_reset(st);
  return rc;
}

/* ---- retention: JSON built by the database ------------------------------ */

static const char q_classes_sql[] =
    "SELECT json_group_array(json(x)) FROM (SELECT json_object('name', "
    "c.name, 'duration_seconds', c.duration_seconds, 'packages', "
    "coalesce(n.cnt, 0), 'seeded', json(CASE WHEN s.name IS NULL THEN "
    "'false' ELSE 'true' END)) AS x FROM retention_classes c "
    "LEFT JOIN (SELECT retention_class AS name, count(*) AS cnt "
    "FROM packages GROUP BY retention_class) n ON n.name = c.name "
    "LEFT JOIN retention_seed s ON s.name = c.name "
    "ORDER BY c.duration_seconds IS NULL, c.duration_seconds, c.name)";
static const char q_holds_sql[] =
    "SELECT json_group_array(json(x)) FROM (SELECT CASE WHEN ?2 THEN "
    "json_object(" ROWS_HOLD_FIELDS ", 'released_at', CASE WHEN "
    "h.released_seq IS NULL THEN NULL ELSE " ROWS_TS_TEXT("h.released_at")
    " END, 'released_by', h.released_by) ELSE " ROWS_HOLD_JSON " END AS x "
    "FROM holds h WHERE h.package_id = ?1 AND (?2 OR h.released_seq IS NULL) "
    "ORDER BY h.id)";

/* The one text column st yields as res->bytes (NUL-ended). */
static int q_json_text(struct qjob *j, struct evlog_db *db,
                       struct evlog_stmt *st, int rc, struct errbuf *e) {
  const char *text;
  size_t n = 0;

  if (rc == 0)
    rc = evlog_step(st);
  if (rc == EVLOG_ROW && (text = evlog_col_text(st, 0, &n)) != NULL) {
    rc = 0;
    if ((j->res->bytes = malloc(n + 1)) == NULL) {
      rc = err_set(e, UV_ENOMEM, "out of memory");
    } else {
      memcpy(j->res->bytes, text, n + 1);
      j->res->bytes_len = n;
    }
  } else if (rc == EVLOG_ROW || rc == 0) {
    rc = err_set(e, UV_EPROTO, "database: no JSON from a retention view");
  } else {
    rc = evlog_fail(db, rc, "reading retention", e);
  }
  evlog_reset(st);
  return rc;
}

static int q_classes(struct reader_job *rj, struct evlog_db *db,
                     struct errbuf *e) {
  struct evlog_stmt *st;
  int rc;

  if ((rc = evlog_stmt(db, q_classes_sql, &st, e)) != 0)
    return rc;
  return q_json_text(q_of(rj), db, st, 0, e);
}

static int q_holds(struct reader_job *rj, struct evlog_db *db,
                   struct errbuf *e) {
  struct qjob *j = q_of(rj);
  struct evlog_stmt *st;
  int rc;

  if ((rc = evlog_stmt(db, q_package_exists_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, j->id.b, UUID_LEN);
  if (rc == 0)
    rc = evlog_step(st);
  evlog_reset(st);
  if (rc == 0)
    return UV_ENOENT;
  if (rc != EVLOG_ROW)
    return evlog_fail(db, rc, "reading", e);
  if ((rc = evlog_stmt(db, q_holds_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, j->id.b, UUID_LEN);
  if (rc == 0)
    rc = evlog_bind_int(st, 2, j->json);
  return q_json_text(j, db, st, rc, e);
}

static int q_events_since(struct reader_job *rj, struct evlog_db *db,
                          struct errbuf *e) {
  struct qjob *j = q_of(rj);
  struct query_result *res = j->res;
  int rc;

  rc = evlog_applied(db, &res->last_sequence, "reading the state", e);
  if (rc == 0)
    rc = evlog_read_since(db, j->since, j->limit, &res->events, &res->count,
                          e);
  return rc;
}

static int q_health(struct reader_job *rj, struct evlog_db *db,
                    struct errbuf *e) {
  return evlog_applied(db, &q_of(rj)->res->last_sequence,
                       "reading the state", e);
}

/* ---- submitting (loop thread) -------------------------------------------- */

static void q_done_cb(struct reader_job *rj, int status) {
  struct qjob *j = q_of(rj);
  struct query_result *res = j->res;

  res->status = status;
  res->msg = rj->msg;
  j->cb(res, j->arg);
  free(j);
}

/* A job with copies of the n strings src[] (see strpack_alloc). */
static struct qjob *q_new_strings(const char *const *src, const size_t *offs,
                                  size_t n, query_cb cb, void *arg) {
  struct qjob *j = strpack_alloc(sizeof *j, src, offs, n);

  if (j == NULL)
    return NULL;
  j->res = calloc(1, sizeof *j->res);
  if (j->res == NULL) {
    free(j);
    return NULL;
  }
  j->cb = cb;
  j->arg = arg;
  return j;
}

static struct qjob *q_new(query_cb cb, void *arg) {
  return q_new_strings(NULL, NULL, 0, cb, arg);
}

static int q_submit(struct reader *r, struct qjob *j, reader_run_cb run) {
  int rc = reader_submit(r, &j->rj, run, q_done_cb);

  if (rc != 0) {
    free(j->res);
    free(j);
  }
  return rc;
}

static int q_by_id(struct reader *r, reader_run_cb run, const struct uuid *id,
                   query_cb cb, void *arg) {
  struct qjob *j = q_new(cb, arg);

  if (j == NULL)
    return UV_ENOMEM;
  j->id = *id;
  return q_submit(r, j, run);
}

int query_package_get(struct reader *r, const struct uuid *id, query_cb cb,
                      void *arg) {
  return q_by_id(r, q_package_get, id, cb, arg);
}

int query_files_list(struct reader *r, const struct uuid *package_id,
                     query_cb cb, void *arg) {
  return q_by_id(r, q_files_list, package_id, cb, arg);
}

int query_file_get(struct reader *r, const struct uuid *file_id, query_cb cb,
                   void *arg) {
  return q_by_id(r, q_file_get, file_id, cb, arg);
}

int query_file_at_path(struct reader *r, const struct uuid *package_id,
                       const char *path, query_cb cb, void *arg) {
  static const size_t offs[] = {offsetof(struct qjob, path)};
  struct qjob *j = q_new_strings(&path, offs, 1, cb, arg);

  if (j == NULL)
    return UV_ENOMEM;
  j->id = *package_id;
  return q_submit(r, j, q_file_at_path);
}

int query_manifest_get(struct reader *r, const struct uuid *package_id,
                       query_cb cb, void *arg) {
  return q_by_id(r, q_manifest_get, package_id, cb, arg);
}

int query_manifest_json(struct reader *r, const struct uuid *package_id,
                        query_cb cb, void *arg) {
  struct qjob *j = q_new(cb, arg);

  if (j == NULL)
    return UV_ENOMEM;
  j->id = *package_id;
  j->json = true;
  return q_submit(r, j, q_manifest_get);
}

int query_blob_get(struct reader *r, const struct caddr *addr, query_cb cb,
                   void *arg) {
  struct qjob *j = q_new(cb, arg);

  if (j == NULL)
    return UV_ENOMEM;
  j->addr = *addr;
  return q_submit(r, j, q_blob_get);
}

int query_package_list(struct reader *r, const struct pkg_filter *f,
                       query_cb cb, void *arg) {
  static const size_t offs[] = {
      offsetof(struct qjob, filter.name),
      offsetof(struct qjob, filter.producer),
      offsetof(struct qjob, filter.subject),
      offsetof(struct qjob, filter.retention_class),
      offsetof(struct qjob, filter.cursor)};
  const char *src[] = {f->name, f->producer, f->subject, f->retention_class,
                       f->cursor};
  struct qjob *j = q_new_strings(src, offs, ARRAY_SIZE(src), cb, arg);

  if (j == NULL)
    return UV_ENOMEM;
  j->filter.status = f->status;
  j->filter.limit = f->limit;
  return q_submit(r, j, q_package_list);
}

int query_classes_list(struct reader *r, query_cb cb, void *arg) {
  struct qjob *j = q_new(cb, arg);

  if (j == NULL)
    return UV_ENOMEM;
  return q_submit(r, j, q_classes);
}

int query_holds_list(struct reader *r, const struct uuid *package_id,
                     bool all, query_cb cb, void *arg) {
  struct qjob *j = q_new(cb, arg);

  if (j == NULL)
    return UV_ENOMEM;
  j->id = *package_id;
  j->json = all;
  return q_submit(r, j, q_holds);
}

int query_events_since(struct reader *r, int64_t since, unsigned limit,
                       query_cb cb, void *arg) {
  struct qjob *j = q_new(cb, arg);

  if (j == NULL)
    return UV_ENOMEM;
  j->since = since;
  j->limit = limit;
  return q_submit(r, j, q_events_since);
}

int query_health(struct reader *r, query_cb cb, void *arg) {
  struct qjob *j = q_new(cb, arg);

  if (j == NULL)
    return UV_ENOMEM;
  return q_submit(r, j, q_health);
}
