/*
 * rows.c: reading package and file rows into single allocations: the
 * struct first, its strings packed after it, so free() releases all.
 */
#include "store/registry/rows.h"

#include <stdlib.h>
#include <string.h>


struct rows_str {
  const char *s;
  size_t n;
};

static int rows_text(struct evlog_stmt *st, int col, struct rows_str *out) {
  out->s = evlog_col_text(st, col, &out->n);
  return out->s != NULL ? 0 : UV_EPROTO;
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

static int64_t rows_ts(struct evlog_stmt *st, int col) {
  return evlog_col_type(st, col) == EVLOG_NULL ? TS_NONE
                                               : evlog_col_int(st, col);
}

/* A status column as enum pkg_status, or 0 when it is none. */
static enum pkg_status rows_status(int64_t v) {
  switch (v) {
  case PKG_OPEN:
    return PKG_OPEN;
  case PKG_FINALIZED:
    return PKG_FINALIZED;
  case PKG_EXPIRED:
    return PKG_EXPIRED;
  case PKG_ABORTED:
    return PKG_ABORTED;
  }
  return 0;
}

int rows_package(struct evlog_stmt *st, struct package **out) {
  struct package tmp, *p;
  struct rows_str s[6];
  int rc = 0;

  *out = NULL;
  memset(&tmp, 0, sizeof tmp);
  for (int i = 0; i < 5 && rc == 0; i++)
    rc = rows_text(st, 1 + i, &s[i]);
  if (rc == 0)
    rc = rows_text(st, 11, &s[5]);
  if (rc == 0)
    rc = evlog_col_copy(st, 0, tmp.id.b, UUID_LEN);
  if (rc != 0)
    return rc;
  if ((tmp.status = rows_status(evlog_col_int(st, 6))) == 0)
    return UV_EPROTO;
  tmp.created_at = evlog_col_int(st, 7);
  tmp.finalized_at = rows_ts(st, 8);
  if (evlog_col_type(st, 9) != EVLOG_NULL) {
    if ((rc = evlog_col_copy(st, 9, tmp.manifest_digest, DIGEST_LEN)) != 0)
      return rc;
    tmp.has_manifest = true;
  }
  tmp.expires_at = rows_ts(st, 10);
  p = rows_pack(sizeof *p, s,
                (const char **[]){&tmp.name, &tmp.producer, &tmp.subject,
                                  &tmp.retention_class, &tmp.metadata_json,
                                  &tmp.holds_json},
                6);
  if (p == NULL)
    return UV_ENOMEM;
  memcpy(p, &tmp, sizeof tmp);
  /* tmp's string pointers already point into p (set by rows_pack). */
  *out = p;
  return 0;
}

int rows_file(struct evlog_stmt *st, struct file_rec **out) {
  struct file_rec tmp, *f;
  struct rows_str s[2];
  int64_t size;
  int rc;

  *out = NULL;
  memset(&tmp, 0, sizeof tmp);
  if ((rc = evlog_col_copy(st, 0, tmp.id.b, UUID_LEN)) != 0 ||
      (rc = evlog_col_copy(st, 1, tmp.package_id.b, UUID_LEN)) != 0 ||
      (rc = evlog_col_copy(st, 5, tmp.digests.blake3, DIGEST_LEN)) != 0 ||
      (rc = evlog_col_copy(st, 6, tmp.digests.sha256, DIGEST_LEN)) != 0)
    return rc;
  size = evlog_col_int(st, 4);
  if (size < 0)
    return UV_EPROTO;
  tmp.size = (uint64_t)size;
  if ((tmp.package_status = rows_status(evlog_col_int(st, 7))) == 0)
    return UV_EPROTO;
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

static const char rows_package_sql[] = ROWS_PACKAGE_SELECT "WHERE p.id = ?1";
static const char rows_file_sql[] = ROWS_FILE_SELECT "WHERE f.id = ?1";

static int rows_get(struct evlog_db *db, const char *sql,
                    const struct uuid *id,
                    int (*conv)(struct evlog_stmt *, void *), void *out,
                    struct errbuf *e) {
  struct evlog_stmt *st;
  int rc;

  if ((rc = evlog_stmt(db, sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, id->b, UUID_LEN);
  if (rc == 0)
    rc = evlog_step(st);
  if (rc == EVLOG_ROW) {
    rc = conv(st, out);
    if (rc != 0)
      err_set(e, rc, "database: malformed row in a view (run --replay)");
  } else if (rc == 0) {
    rc = UV_ENOENT;
  } else {
    evlog_fail(db, rc, "reading a view", e);
  }
  evlog_reset(st);
  return rc;
}

static int rows_package_conv(struct evlog_stmt *st, void *out) {
  return rows_package(st, out);
}

static int rows_file_conv(struct evlog_stmt *st, void *out) {
  return rows_file(st, out);
}

int rows_package_get(struct evlog_db *db, const struct uuid *id,
                     struct package **out, struct errbuf *e) {
  *out = NULL;
  return rows_get(db, rows_package_sql, id, rows_package_conv, out, e);
}

int rows_file_get(struct evlog_db *db, const struct uuid *id,
                  struct file_rec **out, struct errbuf *e) {
  *out = NULL;
  return rows_get(db, rows_file_sql, id, rows_file_conv, out, e);
}
