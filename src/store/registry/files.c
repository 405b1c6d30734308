/*
 * files.c: the file operation: record a file whose bytes the blob store
 * has made durable (v1.file.ingested), run on the writer thread inside the
 * batch transaction (op.c wraps it as a writer job).
 */
#include <string.h>

#include "store/codec/ccbor.h"
#include "store/codec/relpath.h"
#include "store/registry/op.h"
#include "store/registry/views.h"

struct ingest_job {
  struct reg_job base;
  struct file_ingest_req req; /* strings after the struct */
};

static const char reg_path_sql[] =
    "SELECT 1 FROM files WHERE package_id = ?1 AND path = ?2";

/* true when the package has no file at path yet; else fills res. */
static bool reg_path_free(struct wtx *tx, const struct uuid *pkg,
                          const char *path, struct reg_result *res) {
  struct evlog_db *db = wtx_db(tx);
  struct errbuf e = {{0}};
  struct evlog_stmt *st;
  int rc;

  if ((rc = evlog_stmt(db, reg_path_sql, &st, &e)) != 0) {
    reg_internal(res, rc, &e);
    return false;
  }
  rc = evlog_bind_blob(st, 1, pkg->b, UUID_LEN);
  if (rc == 0)
    rc = evlog_bind_str(st, 2, path);
  if (rc == 0)
    rc = evlog_step(st);
  evlog_reset(st);
  if (rc == EVLOG_ROW) {
    char ids[UUID_STRLEN + 1];
    uuid_format(pkg, ids);
    reg_err(res, REG_DUPLICATE_PATH,
            "path \"%.128s\" already exists in package %s", path, ids);
    return false;
  }
  if (rc != 0) {
    reg_internal(res, evlog_fail(db, rc, "checking the path", &e), &e);
    return false;
  }
  return true;
}

static int reg_ingest_run(struct writer_job *wj, struct wtx *tx) {
  struct ingest_job *j = container_of(wj, struct ingest_job, base.wj);
  const struct file_ingest_req *r = &j->req;
  struct reg_result *res = &j->base.res;
  struct errbuf e = {{0}};
  const char *media;
  cbor_item_t *map;
  struct uuid id;
  int64_t now, ms;
  int rc;

  if (r->path == NULL) {
    reg_err(res, REG_INVALID, "field \"path\" is required");
    return reg_job_status(&j->base);
  }
  /* The edge checked it already; the log must never hold a bad path. */
  if (relpath_check(r->path, strlen(r->path), &res->msg) != 0) {
    res->error = REG_INVALID;
    return reg_job_status(&j->base);
  }
  media = r->media_type != NULL && r->media_type[0] != '\0'
              ? r->media_type
              : REG_MEDIA_DEFAULT;
  if (!reg_field(res, "media_type", media))
    return reg_job_status(&j->base);
  if (r->size > (uint64_t)CCBOR_MAX_INT) {
    reg_err(res, REG_INVALID, "file size %llu is larger than 2^53 bytes",
            (unsigned long long)r->size);
    return reg_job_status(&j->base);
  }
  if (!reg_open_package(tx, &r->package_id, res, REG_PACKAGE_FINALIZED) ||
      !reg_path_free(tx, &r->package_id, r->path, res))
    return reg_job_status(&j->base);

  now = reg_now(&ms);
  wtx_new_id(tx, (uint64_t)ms, &id);
  map = ccbor_map_new(7);
  if (map == NULL) {
    reg_err(res, REG_INTERNAL, "out of memory");
    return reg_job_status(&j->base);
  }
  rc = reg_put_uuid(map, "id", &id);
  if (rc == 0)
    rc = reg_put_uuid(map, "package_id", &r->package_id);
  if (rc == 0)
    rc = ccbor_map_put_str(map, "path", r->path);
  if (rc == 0)
    rc = ccbor_map_put_str(map, "media_type", media);
  if (rc == 0)
    rc = ccbor_map_put_int(map, "size", (int64_t)r->size);
  if (rc == 0)
    rc = reg_put_caddr(map, "blake3", CADDR_BLAKE3, r->digests.blake3);
  if (rc == 0)
    rc = reg_put_caddr(map, "sha256", CADDR_SHA256, r->digests.sha256);
  reg_emit(tx, &j->base, map, rc, EV_FILE_INGESTED, EV_KIND_FILE, &id, now);
  if (res->error == REG_OK &&
      (rc = reg_load_file(tx, &id, &res->file, &e)) != 0)
    reg_internal(res, rc, &e);
  return reg_job_status(&j->base);
}

int reg_file_ingest(struct writer *w, const struct file_ingest_req *req,
                    reg_cb cb, void *arg) {
  static const size_t offs[] = {offsetof(struct ingest_job, req.path),
                                offsetof(struct ingest_job, req.media_type),
                                offsetof(struct ingest_job, base.actor)};
  const char *src[] = {req->path, req->media_type, req->actor};
  struct ingest_job *j;

  j = strpack_alloc(sizeof *j, src, offs, ARRAY_SIZE(src));
  if (j == NULL)
    return UV_ENOMEM;
  j->req.package_id = req->package_id;
  j->req.size = req->size;
  j->req.digests = req->digests;
  j->req.actor = j->base.actor;
  return reg_job_submit(w, &j->base, reg_ingest_run, cb, arg);
}
