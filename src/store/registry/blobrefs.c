/*
 * blobrefs.c: the referenced blobs and their users (blobrefs.h), read
 * straight from the `blobs` and `files` views through the event-log
 * engine's database interface.  A blob counts as referenced while files
 * use it (refcount > 0); what the store holds beyond that is an orphan.
 */
#include "store/registry/blobrefs.h"

#include <stdlib.h>
#include <string.h>

#include "store/evlog/evlog.h"

struct blobrefs {
  struct evlog_db *db;
};

static const char blobrefs_all_sql[] =
    "SELECT blake3, sha256, size FROM blobs WHERE refcount > 0 "
    "ORDER BY blake3";
static const char blobrefs_users_sql[] =
    "SELECT package_id, path FROM files WHERE blake3 = ?1 "
    "ORDER BY package_id, path";

int blobrefs_open(const char *location, struct blobrefs **out,
                  struct errbuf *e) {
  struct blobrefs *r = calloc(1, sizeof *r);
  int rc;

  *out = NULL;
  if (r == NULL)
    return err_set(e, UV_ENOMEM, "out of memory");
  rc = evlog_open(location, EVLOG_RO, &r->db, e);
  if (rc == 0)
    rc = evlog_begin(r->db, false, e);
  if (rc != 0) {
    blobrefs_close(r);
    return rc;
  }
  *out = r;
  return 0;
}

void blobrefs_close(struct blobrefs *r) {
  if (r == NULL)
    return;
  if (r->db != NULL) {
    if (evlog_in_tx(r->db))
      evlog_rollback(r->db);
    evlog_close(r->db);
  }
  free(r);
}

static int ref_row(struct evlog_stmt *st, struct blob_ref *ref) {
  int64_t size = evlog_col_int(st, 2);

  if (evlog_col_copy(st, 0, ref->digests.blake3, DIGEST_LEN) != 0 ||
      evlog_col_copy(st, 1, ref->digests.sha256, DIGEST_LEN) != 0 ||
      size < 0)
    return UV_EPROTO;
  ref->size = (uint64_t)size;
  return 0;
}

int blobrefs_all(struct blobrefs *r, struct blob_ref **out, size_t *count,
                 struct errbuf *e) {
  struct blob_ref *v = NULL;
  struct evlog_stmt *st;
  size_t n = 0, cap = 0;
  int rc;

  *out = NULL;
  *count = 0;
  if ((rc = evlog_stmt(r->db, blobrefs_all_sql, &st, e)) != 0)
    return rc;
  while ((rc = evlog_step(st)) == EVLOG_ROW) {
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 1024;
      struct blob_ref *nv = realloc(v, ncap * sizeof *nv);
      if (nv == NULL) {
        rc = err_set(e, UV_ENOMEM, "out of memory listing blobs");
        goto fail;
      }
      v = nv;
      cap = ncap;
    }
    if ((rc = ref_row(st, &v[n])) != 0) {
      rc = err_set(e, rc, "database: malformed row in the blobs view; run "
                   "--replay to rebuild the views");
      goto fail;
    }
    n++;
  }
  if (rc != 0) {
    rc = evlog_fail(r->db, rc, "reading the blobs view", e);
    goto fail;
  }
  evlog_reset(st);
  *out = v;
  *count = n;
  return 0;
fail:
  evlog_reset(st);
  free(v);
  return rc;
}

int blobrefs_users(struct blobrefs *r, const uint8_t blake3[DIGEST_LEN],
                   blobrefs_user_fn fn, void *arg, struct errbuf *e) {
  struct evlog_stmt *st;
  int rc;

  if ((rc = evlog_stmt(r->db, blobrefs_users_sql, &st, e)) != 0)
    return rc;
  rc = evlog_bind_blob(st, 1, blake3, DIGEST_LEN);
  while (rc == 0 && (rc = evlog_step(st)) == EVLOG_ROW) {
    struct uuid id;
    const char *path = evlog_col_text(st, 1, NULL);

    if (evlog_col_copy(st, 0, id.b, UUID_LEN) != 0 || path == NULL) {
      evlog_reset(st);
      return err_set(e, UV_EPROTO, "database: malformed row in the files "
                     "view; run --replay to rebuild the views");
    }
    if (fn(&id, path, arg) != 0) {
      rc = 0;
      break;
    }
    rc = 0;
  }
  evlog_reset(st);
  if (rc != 0)
    return evlog_fail(r->db, rc, "reading the files view", e);
  return 0;
}
