/*
 * rows.c: reading package and file rows into single allocations: the
 * struct first, its strings packed after it, so free() releases all.
 */
#include "store/registry/rows.h"

#include <stdlib.h>
#include <string.h>

#include "store/evlog/sqlite/db.h"

struct rows_str {
  const char *s;
  size_t n;
};

static int rows_text(sqlite3_stmt *st, int col, struct rows_str *out) {
  out->s = (const char *)sqlite3_column_text(st, col);
  out->n = (size_t)sqlite3_column_bytes(st, col);
  return out->s != NULL ? 0 : UV_EPROTO;
}

static int rows_blob(sqlite3_stmt *st, int col, void *out, size_t n) {
  if (sqlite3_column_type(st, col) != SQLITE_BLOB ||
      (size_t)sqlite3_column_bytes(st, col) != n)
    return UV_EPROTO;
  memcpy(out, sqlite3_column_blob(st, col), n);
  return 0;
}

/* Copies strs[] after the struct at base + size; dst[i] point at them. */
static void *rows_pack(size_t size, struct rows_str *strs, const char **dst[],
                       size_t n) {
  size_t total = size;
  char *base, *p;

  for (size_t i = 0; i < n; i++)
    total += strs[i].n + 1;
  base = calloc(1, total);
  if (base == NULL)
    return NULL;
  p = base + size;
  for (size_t i = 0; i < n; i++) {
    memcpy(p, strs[i].s, strs[i].n);
    p[strs[i].n] = '\0';
    *dst[i] = p;
    p += strs[i].n + 1;
  }
  return base;
}

static int64_t rows_ts(sqlite3_stmt *st, int col) {
  return sqlite3_column_type(st, col) == SQLITE_NULL
             ? TS_NONE
             : sqlite3_column_int64(st, col);
}

int rows_package(sqlite3_stmt *st, struct package **out) {
  struct package tmp, *p;
  struct rows_str s[5];
  int rc = 0;

  *out = NULL;
  memset(&tmp, 0, sizeof tmp);
  for (int i = 0; i < 5 && rc == 0; i++)
    rc = rows_text(st, 1 + i, &s[i]);
  if (rc == 0)
    rc = rows_blob(st, 0, tmp.id.b, UUID_LEN);
  if (rc != 0)
    return rc;
  tmp.status = sqlite3_column_int(st, 6) == PKG_FINALIZED ? PKG_FINALIZED
                                                          : PKG_OPEN;
  tmp.created_at = sqlite3_column_int64(st, 7);
  tmp.finalized_at = rows_ts(st, 8);
  if (sqlite3_column_type(st, 9) != SQLITE_NULL) {
    if ((rc = rows_blob(st, 9, tmp.manifest_digest, DIGEST_LEN)) != 0)
      return rc;
    tmp.has_manifest = true;
  }
  tmp.expires_at = rows_ts(st, 10);
  p = rows_pack(sizeof *p, s,
                (const char **[]){&tmp.name, &tmp.producer, &tmp.subject,
                                  &tmp.retention_class, &tmp.metadata_json},
                5);
  if (p == NULL)
    return UV_ENOMEM;
  memcpy(p, &tmp, sizeof tmp);
  /* tmp's string pointers already point into p (set by rows_pack). */
  *out = p;
  return 0;
}

int rows_file(sqlite3_stmt *st, struct file_rec **out) {
  struct file_rec tmp, *f;
  struct rows_str s[2];
  sqlite3_int64 size;
  int rc;

  *out = NULL;
  memset(&tmp, 0, sizeof tmp);
  if ((rc = rows_blob(st, 0, tmp.id.b, UUID_LEN)) != 0 ||
      (rc = rows_blob(st, 1, tmp.package_id.b, UUID_LEN)) != 0 ||
      (rc = rows_blob(st, 5, tmp.digests.blake3, DIGEST_LEN)) != 0 ||
      (rc = rows_blob(st, 6, tmp.digests.sha256, DIGEST_LEN)) != 0)
    return rc;
  size = sqlite3_column_int64(st, 4);
  if (size < 0)
    return UV_EPROTO;
  tmp.size = (uint64_t)size;
  if ((rc = rows_text(st, 2, &s[0])) != 0 || (rc = rows_text(st, 3, &s[1])) != 0)
    return rc;
  f = rows_pack(sizeof *f, s, (const char **[]){&tmp.path, &tmp.media_type},
                2);
  if (f == NULL)
    return UV_ENOMEM;
  memcpy(f, &tmp, sizeof tmp);
  *out = f;
  return 0;
}

static int rows_by_id(sqlite3_stmt *st, const struct uuid *id,
                      int (*conv)(sqlite3_stmt *, void *), void *out,
                      struct errbuf *e) {
  int rc;

  rc = sqlite3_bind_blob(st, 1, id->b, UUID_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    rc = conv(st, out);
    if (rc != 0)
      err_set(e, rc, "database: malformed row in a view (run --replay)");
  } else if (rc == SQLITE_DONE) {
    rc = UV_ENOENT;
  } else {
    rc = db_err(sqlite3_db_handle(st), rc, "reading a view", e);
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc;
}

static int rows_get(sqlite3 *db, const char *sql, const struct uuid *id,
                    int (*conv)(sqlite3_stmt *, void *), void *out,
                    struct errbuf *e) {
  sqlite3_stmt *st = NULL;
  int rc;

  rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK)
    return db_err(db, rc, "reading a view", e);
  rc = rows_by_id(st, id, conv, out, e);
  sqlite3_finalize(st);
  return rc;
}

static int rows_package_conv(sqlite3_stmt *st, void *out) {
  return rows_package(st, out);
}

static int rows_file_conv(sqlite3_stmt *st, void *out) {
  return rows_file(st, out);
}

int rows_package_by_id(sqlite3_stmt *st, const struct uuid *id,
                       struct package **out, struct errbuf *e) {
  *out = NULL;
  return rows_by_id(st, id, rows_package_conv, out, e);
}

int rows_file_by_id(sqlite3_stmt *st, const struct uuid *id,
                    struct file_rec **out, struct errbuf *e) {
  *out = NULL;
  return rows_by_id(st, id, rows_file_conv, out, e);
}

int rows_package_get(sqlite3 *db, const struct uuid *id,
                     struct package **out, struct errbuf *e) {
  *out = NULL;
  return rows_get(db, ROWS_PACKAGE_BY_ID, id, rows_package_conv, out, e);
}

int rows_file_get(sqlite3 *db, const struct uuid *id, struct file_rec **out,
                  struct errbuf *e) {
  *out = NULL;
  return rows_get(db, ROWS_FILE_BY_ID, id, rows_file_conv, out, e);
}
