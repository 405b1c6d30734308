/*
 * query.c: reads on the uv threadpool (see query.h).
 *
 * The reader owns a small pool of read-only connections; a query's work
 * callback borrows one (waiting if all are lent), runs its statements in
 * one read transaction and returns it.  Results are built on the pool
 * thread and handed to the caller's callback on the loop thread.
 *
 * Package paging: rows in id order (UUIDv7, so roughly creation order);
 * the cursor is base64url (no padding) of 0x01 || the last id returned.
 */
#include "store/registry/query.h"
#include "store/codec/jcs.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/evlog/sqlite/db.h"
#include "store/evlog/chain.h"
#include "store/registry/rows.h"
#include "store/registry/views.h"

#define READER_MAX_CONN 16
#define QUERY_LIST_MAX 1000       /* rows per page */
#define QUERY_CURSOR_VERSION 0x01
#define QUERY_CURSOR_LEN (1 + UUID_LEN)

enum qkind {
  Q_PACKAGE_GET,
  Q_PACKAGE_LIST,
  Q_FILES_LIST,
  Q_FILE_GET,
  Q_FILE_AT_PATH,
  Q_BLOB_GET,
  Q_MANIFEST_GET,
  Q_MANIFEST_JSON,
  Q_EVENTS_SINCE,
  Q_HEALTH,
};

struct reader {
  uv_loop_t *loop;
  uv_mutex_t mu;
  uv_cond_t cv;
  unsigned n;
  sqlite3 *conn[READER_MAX_CONN];
  bool lent[READER_MAX_CONN];
};

struct qjob {
  uv_work_t work;
  struct reader *r;
  enum qkind kind;
  struct uuid id;
  struct caddr addr;
  struct pkg_filter filter;   /* strings point after the struct */
  const char *path;           /* Q_FILE_AT_PATH: after the struct */
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

/* ---- the pool ------------------------------------------------------------ */

int reader_open(uv_loop_t *loop, const char *db_path, unsigned nconn,
                struct reader **out, struct errbuf *e) {
  struct reader *r;
  int rc;

  *out = NULL;
  if (nconn == 0 || nconn > READER_MAX_CONN)
    return err_set(e, UV_EINVAL, "reader: nconn must be 1..%d",
                   READER_MAX_CONN);
  if (sodium_init() < 0)
    return err_set(e, UV_EIO, "libsodium failed to initialise");
  r = calloc(1, sizeof *r);
  if (r == NULL)
    return err_set(e, UV_ENOMEM, "out of memory");
  r->loop = loop;
  for (unsigned i = 0; i < nconn; i++) {
    if ((rc = db_open_ro(db_path, &r->conn[i], e)) != 0)
      goto fail;
    r->n++;
  }
  if ((rc = uv_mutex_init(&r->mu)) != 0) {
    err_set(e, rc, "uv_mutex_init: %s", uv_strerror(rc));
    goto fail;
  }
  if ((rc = uv_cond_init(&r->cv)) != 0) {
    uv_mutex_destroy(&r->mu);
    err_set(e, rc, "uv_cond_init: %s", uv_strerror(rc));
    goto fail;
  }
  *out = r;
  return 0;
fail:
  for (unsigned i = 0; i < r->n; i++)
    sqlite3_close(r->conn[i]);
  free(r);
  return rc;
}

void reader_close(struct reader *r) {
  if (r == NULL)
    return;
  for (unsigned i = 0; i < r->n; i++) {
    assert(!r->lent[i]);
    sqlite3_close(r->conn[i]);
  }
  uv_cond_destroy(&r->cv);
  uv_mutex_destroy(&r->mu);
  free(r);
}

static unsigned reader_borrow(struct reader *r) {
  uv_mutex_lock(&r->mu);
  for (;;) {
    for (unsigned i = 0; i < r->n; i++) {
      if (!r->lent[i]) {
        r->lent[i] = true;
        uv_mutex_unlock(&r->mu);
        return i;
      }
    }
    uv_cond_wait(&r->cv, &r->mu);
  }
}

static void reader_return(struct reader *r, unsigned i) {
  uv_mutex_lock(&r->mu);
  r->lent[i] = false;
  uv_cond_signal(&r->cv);
  uv_mutex_unlock(&r->mu);
}

/* ---- queries (pool threads) ---------------------------------------------- */

/* Runs sql with ?1 = blob (id) and collects rows through conv into an
 * array of pointers; at most max rows. */
typedef int (*qrow_fn)(sqlite3_stmt *st, void **out);

static int q_package_row(sqlite3_stmt *st, void **out) {
  return rows_package(st, (struct package **)out);
}

static int q_file_row(sqlite3_stmt *st, void **out) {
  return rows_file(st, (struct file_rec **)out);
}

static int q_event_row(sqlite3_stmt *st, void **out) {
  return evlog_rec_from_row(st, (struct event_rec **)out);
}

/* Steps st (already bound), collecting up to max rows. */
static int q_collect(sqlite3 *db, sqlite3_stmt *st, qrow_fn conv, size_t max,
                     void ***out, size_t *count, bool *more,
                     struct errbuf *e) {
  void **v = NULL;
  size_t n = 0, cap = 0;
  int rc;

  *out = NULL;
  *count = 0;
  if (more != NULL)
    *more = false;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (n == max) {
      if (more != NULL)
        *more = true;
      rc = SQLITE_DONE;
      break;
    }
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      void **nv = realloc(v, ncap * sizeof *nv);
      if (nv == NULL) {
        rc = UV_ENOMEM;
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
  if (rc != SQLITE_DONE) {
    rc = db_err(db, rc, "reading", e);
    goto fail;
  }
  *out = v;
  *count = n;
  return 0;
fail:
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
  return rc < 0 ? rc : UV_EIO;
}

static int q_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st,
                     struct errbuf *e) {
  int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
  return rc == SQLITE_OK ? 0 : db_err(db, rc, "preparing a query", e);
}

static int q_exists(sqlite3 *db, const char *sql, const struct uuid *id,
                    struct errbuf *e) {
  sqlite3_stmt *st = NULL;
  int rc;

  if ((rc = q_prepare(db, sql, &st, e)) != 0)
    return rc;
  rc = sqlite3_bind_blob(st, 1, id->b, UUID_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc == SQLITE_ROW)
    return 0;
  if (rc == SQLITE_DONE)
    return UV_ENOENT;
  return db_err(db, rc, "reading", e);
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

static int q_package_list(sqlite3 *db, struct qjob *j, struct errbuf *e) {
  const struct pkg_filter *f = &j->filter;
  struct query_result *res = j->res;
  struct uuid after;
  sqlite3_stmt *st = NULL;
  void **v;
  bool more;
  int rc;

  if (f->limit < 1 || f->limit > QUERY_LIST_MAX)
    return err_set(e, UV_EINVAL, "limit must be from 1 to %d",
                   QUERY_LIST_MAX);
  if (f->status != 0 && f->status != PKG_OPEN && f->status != PKG_FINALIZED)
    return err_set(e, UV_EINVAL, "status must be open or finalized");
  memset(&after, 0, sizeof after);
  if (f->cursor != NULL && (rc = q_cursor_parse(f->cursor, &after, e)) != 0)
    return rc;
  rc = q_prepare(db,
                 ROWS_PACKAGE_SELECT
                 "WHERE (?1 IS NULL OR p.name = ?1) "
                 "AND (?2 IS NULL OR p.producer = ?2) "
                 "AND (?3 IS NULL OR p.subject = ?3) "
                 "AND (?4 IS NULL OR p.retention_class = ?4) "
                 "AND (?5 = 0 OR p.status = ?5) "
                 "AND p.id > ?6 ORDER BY p.id LIMIT ?7",
                 &st, e);
  if (rc != 0)
    return rc;
  const char *text[] = {f->name, f->producer, f->subject, f->retention_class};
  rc = SQLITE_OK;
  for (int i = 0; i < 4 && rc == SQLITE_OK; i++)
    rc = text[i] != NULL
             ? sqlite3_bind_text(st, i + 1, text[i], -1, SQLITE_STATIC)
             : sqlite3_bind_null(st, i + 1);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int(st, 5, f->status);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 6, after.b, UUID_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int64(st, 7, (sqlite3_int64)f->limit + 1);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(st);
    return db_err(db, rc, "binding", e);
  }
  rc = q_collect(db, st, q_package_row, f->limit, &v, &res->count, &more, e);
  sqlite3_finalize(st);
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

static int q_by_id_list(sqlite3 *db, const char *sql, const void *key,
                        size_t keylen, qrow_fn conv, size_t max, void ***out,
                        size_t *count, struct errbuf *e) {
  sqlite3_stmt *st = NULL;
  int rc;

  if ((rc = q_prepare(db, sql, &st, e)) != 0)
    return rc;
  rc = sqlite3_bind_blob(st, 1, key, (int)keylen, SQLITE_STATIC);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(st);
    return db_err(db, rc, "binding", e);
  }
  rc = q_collect(db, st, conv, max, out, count, NULL, e);
  sqlite3_finalize(st);
  return rc;
}

static int q_files_list(sqlite3 *db, struct qjob *j, struct errbuf *e) {
  void **v;
  int rc;

  rc = q_exists(db, "SELECT 1 FROM packages WHERE id = ?1", &j->id, e);
  if (rc != 0)
    return rc;
  rc = q_by_id_list(db, ROWS_FILE_SELECT "WHERE f.package_id = ?1 "
                    "ORDER BY f.path", j->id.b, UUID_LEN, q_file_row,
                    SIZE_MAX, &v, &j->res->count, e);
  if (rc == 0)
    j->res->files = (struct file_rec **)v;
  return rc;
}

/* The first of n collected file rows becomes the result; UV_ENOENT when
 * there is none.  v is released either way. */
static int q_first_file(struct qjob *j, void **v, size_t n) {
  if (n == 0) {
    free(v);
    return UV_ENOENT;
  }
  j->res->file = v[0];
  free(v);
  return 0;
}

/* A point lookup on the (package_id, path) unique index: an upload asks
 * this before reading its body, whatever the size of the package. */
static int q_file_at_path(sqlite3 *db, struct qjob *j, struct errbuf *e) {
  sqlite3_stmt *st = NULL;
  void **v;
  size_t n;
  int rc;

  rc = q_prepare(db, ROWS_FILE_SELECT "WHERE f.package_id = ?1 AND f.path = ?2",
                 &st, e);
  if (rc != 0)
    return rc;
  rc = sqlite3_bind_blob(st, 1, j->id.b, UUID_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 2, j->path, -1, SQLITE_STATIC);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(st);
    return db_err(db, rc, "binding", e);
  }
  rc = q_collect(db, st, q_file_row, 1, &v, &n, NULL, e);
  sqlite3_finalize(st);
  return rc != 0 ? rc : q_first_file(j, v, n);
}

static int q_blob_get(sqlite3 *db, struct qjob *j, struct errbuf *e) {
  const char *sql = j->addr.alg == CADDR_BLAKE3
                        ? ROWS_FILE_SELECT "WHERE f.blake3 = ?1 "
                                           "ORDER BY f.id LIMIT 1"
                        : ROWS_FILE_SELECT "WHERE f.sha256 = ?1 "
                                           "ORDER BY f.id LIMIT 1";
  void **v;
  size_t n;
  int rc;

  rc = q_by_id_list(db, sql, j->addr.d, DIGEST_LEN, q_file_row, 1, &v, &n,
                    e);
  return rc != 0 ? rc : q_first_file(j, v, n);
}

/* The manifest is the payload of the package's v1.package.finalized event;
 * its address is that event's payload_digest.  The JCS projection is made
 * here, on the threadpool: a manifest grows with the package. */
static int q_manifest_get(sqlite3 *db, struct qjob *j, struct errbuf *e) {
  sqlite3_stmt *st = NULL;
  struct query_result *res = j->res;
  int rc;

  rc = q_prepare(db,
                 "SELECT p.status, e.payload, e.payload_digest FROM packages p "
                 "LEFT JOIN events e ON e.sequence = p.finalized_seq "
                 "WHERE p.id = ?1",
                 &st, e);
  if (rc != 0)
    return rc;
  rc = sqlite3_bind_blob(st, 1, j->id.b, UUID_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    rc = UV_ENOENT;
  } else if (rc != SQLITE_ROW) {
    rc = db_err(db, rc, "reading the manifest", e);
  } else if (sqlite3_column_int(st, 0) != PKG_FINALIZED) {
    rc = err_set(e, UV_EAGAIN,
                 "the package is not finalized yet: it has no manifest");
  } else if (sqlite3_column_type(st, 1) != SQLITE_BLOB ||
             sqlite3_column_bytes(st, 2) != DIGEST_LEN) {
    rc = err_set(e, UV_EPROTO, "the manifest event is missing: run "
                 "artifactstored --verify-log");
  } else {
    const uint8_t *cbor = sqlite3_column_blob(st, 1);
    size_t n = (size_t)sqlite3_column_bytes(st, 1);

    memcpy(res->digest, sqlite3_column_blob(st, 2), DIGEST_LEN);
    if (j->kind == Q_MANIFEST_JSON) {
      char *text = NULL;
      rc = jcs_from_cbor_bytes(cbor, n, &text, &res->bytes_len, e);
      res->bytes = (uint8_t *)text;
    } else {
      res->bytes = malloc(n > 0 ? n : 1);
      if (res->bytes == NULL) {
        rc = err_set(e, UV_ENOMEM, "out of memory");
      } else {
        memcpy(res->bytes, cbor, n);
        res->bytes_len = n;
        rc = 0;
      }
    }
  }
  sqlite3_finalize(st);
  return rc;
}

static int q_events_since(sqlite3 *db, struct qjob *j, struct errbuf *e) {
  sqlite3_stmt *st = NULL;
  unsigned limit = j->limit == 0 || j->limit > QUERY_LIST_MAX
                       ? QUERY_LIST_MAX
                       : j->limit;
  void **v;
  int rc;

  if ((rc = views_applied(db, &j->res->last_sequence, "reading the state", e)) != 0)
    return rc;
  rc = q_prepare(db,
                 "SELECT " EVLOG_COLUMNS " FROM events WHERE sequence > ?1 "
                 "ORDER BY sequence LIMIT ?2",
                 &st, e);
  if (rc != 0)
    return rc;
  rc = sqlite3_bind_int64(st, 1, j->since);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int(st, 2, (int)limit);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(st);
    return db_err(db, rc, "binding", e);
  }
  rc = q_collect(db, st, q_event_row, limit, &v, &j->res->count, NULL, e);
  sqlite3_finalize(st);
  if (rc == 0)
    j->res->events = (struct event_rec **)v;
  return rc;
}

static int q_run(sqlite3 *db, struct qjob *j, struct errbuf *e) {
  struct query_result *res = j->res;

  switch (j->kind) {
  case Q_PACKAGE_GET:
    return rows_package_get(db, &j->id, &res->package, e);
  case Q_PACKAGE_LIST:
    return q_package_list(db, j, e);
  case Q_FILES_LIST:
    return q_files_list(db, j, e);
  case Q_FILE_GET:
    return rows_file_get(db, &j->id, &res->file, e);
  case Q_FILE_AT_PATH:
    return q_file_at_path(db, j, e);
  case Q_BLOB_GET:
    return q_blob_get(db, j, e);
  case Q_MANIFEST_GET:
  case Q_MANIFEST_JSON:
    return q_manifest_get(db, j, e);
  case Q_EVENTS_SINCE:
    return q_events_since(db, j, e);
  case Q_HEALTH:
    return views_applied(db, &res->last_sequence, "reading the state", e);
  }
  return UV_EINVAL;
}

static void q_work_cb(uv_work_t *w) {
  struct qjob *j = container_of(w, struct qjob, work);
  struct query_result *res = j->res;
  unsigned ci = reader_borrow(j->r);
  sqlite3 *db = j->r->conn[ci];
  int rc;

  /* One read transaction: multi-statement queries see one snapshot. */
  rc = db_exec(db, "BEGIN", &res->msg);
  if (rc == 0) {
    rc = q_run(db, j, &res->msg);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  }
  reader_return(j->r, ci);
  res->status = rc;
}

static void q_after_cb(uv_work_t *w, int status) {
  struct qjob *j = container_of(w, struct qjob, work);
  struct query_result *res = j->res;

  if (status != 0 && res->status == 0)
    res->status = status; /* UV_ECANCELED */
  j->cb(res, j->arg);
  free(j);
}

/* ---- submitting (loop thread) -------------------------------------------- */

static struct qjob *q_new(struct reader *r, enum qkind kind, size_t extra,
                          query_cb cb, void *arg) {
  struct qjob *j = calloc(1, sizeof *j + extra);

  if (j == NULL)
    return NULL;
  j->res = calloc(1, sizeof *j->res);
  if (j->res == NULL) {
    free(j);
    return NULL;
  }
  j->r = r;
  j->kind = kind;
  j->cb = cb;
  j->arg = arg;
  return j;
}

static int q_submit(struct qjob *j) {
  int rc = uv_queue_work(j->r->loop, &j->work, q_work_cb, q_after_cb);

  if (rc != 0) {
    free(j->res);
    free(j);
  }
  return rc;
}

static int q_by_id(struct reader *r, enum qkind kind, const struct uuid *id,
                   query_cb cb, void *arg) {
  struct qjob *j = q_new(r, kind, 0, cb, arg);

  if (j == NULL)
    return UV_ENOMEM;
  j->id = *id;
  return q_submit(j);
}

int query_package_get(struct reader *r, const struct uuid *id, query_cb cb,
                      void *arg) {
  return q_by_id(r, Q_PACKAGE_GET, id, cb, arg);
}

int query_files_list(struct reader *r, const struct uuid *package_id,
                     query_cb cb, void *arg) {
  return q_by_id(r, Q_FILES_LIST, package_id, cb, arg);
}

int query_file_get(struct reader *r, const struct uuid *file_id, query_cb cb,
                   void *arg) {
  return q_by_id(r, Q_FILE_GET, file_id, cb, arg);
}

int query_file_at_path(struct reader *r, const struct uuid *package_id,
                       const char *path, query_cb cb, void *arg) {
  size_t n = strlen(path) + 1;
  struct qjob *j = q_new(r, Q_FILE_AT_PATH, n, cb, arg);

  if (j == NULL)
    return UV_ENOMEM;
  j->id = *package_id;
  memcpy(j + 1, path, n);
  j->path = (const char *)(j + 1);
  return q_submit(j);
}

int query_manifest_get(struct reader *r, const struct uuid *package_id,
                       query_cb cb, void *arg) {
  return q_by_id(r, Q_MANIFEST_GET, package_id, cb, arg);
}

int query_manifest_json(struct reader *r, const struct uuid *package_id,
                        query_cb cb, void *arg) {
  return q_by_id(r, Q_MANIFEST_JSON, package_id, cb, arg);
}

int query_blob_get(struct reader *r, const struct caddr *addr, query_cb cb,
                   void *arg) {
  struct qjob *j = q_new(r, Q_BLOB_GET, 0, cb, arg);

  if (j == NULL)
    return UV_ENOMEM;
  j->addr = *addr;
  return q_submit(j);
}

int query_package_list(struct reader *r, const struct pkg_filter *f,
                       query_cb cb, void *arg) {
  const char *src[] = {f->name, f->producer, f->subject, f->retention_class,
                       f->cursor};
  const char **dst[ARRAY_SIZE(src)];
  size_t extra = 0;
  struct qjob *j;
  char *p;

  for (size_t i = 0; i < ARRAY_SIZE(src); i++)
    extra += src[i] != NULL ? strlen(src[i]) + 1 : 0;
  j = q_new(r, Q_PACKAGE_LIST, extra, cb, arg);
  if (j == NULL)
    return UV_ENOMEM;
  j->filter = *f;
  dst[0] = &j->filter.name;
  dst[1] = &j->filter.producer;
  dst[2] = &j->filter.subject;
  dst[3] = &j->filter.retention_class;
  dst[4] = &j->filter.cursor;
  p = (char *)(j + 1);
  for (size_t i = 0; i < ARRAY_SIZE(src); i++) {
    if (src[i] == NULL)
      continue;
    size_t n = strlen(src[i]) + 1;
    memcpy(p, src[i], n);
    *dst[i] = p;
    p += n;
  }
  return q_submit(j);
}

int query_events_since(struct reader *r, int64_t since, unsigned limit,
                       query_cb cb, void *arg) {
  struct qjob *j = q_new(r, Q_EVENTS_SINCE, 0, cb, arg);

  if (j == NULL)
    return UV_ENOMEM;
  j->since = since;
  j->limit = limit;
  return q_submit(j);
}

int query_health(struct reader *r, query_cb cb, void *arg) {
  struct qjob *j = q_new(r, Q_HEALTH, 0, cb, arg);

  if (j == NULL)
    return UV_ENOMEM;
  return q_submit(j);
}
