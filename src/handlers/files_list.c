/*
 * files_list.c: GET /v1/packages/{id}/files: the files of a package
 * (files.c is the upload).
 */
#include <stdlib.h>

#include "handlers/internal.h"
#include "handlers/work.h"

struct flist {
  struct work w; /* first (work.h) */
  struct uuid pkg;
};

static void flist_free_cb(struct work *w) {
  free(container_of(w, struct flist, w));
}

static void files_list_cb(struct query_result *res, void *arg) {
  struct flist *fl = arg;

  if (work_live(&fl->w)) {
    struct conn *c = work_end(&fl->w);
    if (res->status != 0) {
      handlers_query_problem(c, res, PROB_UNKNOWN_PACKAGE);
    } else {
      json_t *arr = json_array();
      for (size_t i = 0; i < res->count; i++)
        json_array_append_new(arr, handlers_file_json(res->files[i]));
      handlers_respond_json(c, 200, json_pack("{s:o}", "files", arr), NULL);
    }
  }
  query_result_free(res);
  work_unref(&fl->w);
}

static void files_pkg_cb(struct query_result *res, void *arg) {
  struct flist *fl = arg;

  if (!work_live(&fl->w)) {
    ; /* the client has gone */
  } else if (res->status != 0) {
    handlers_query_problem(work_end(&fl->w), res, PROB_UNKNOWN_PACKAGE);
  } else {
    work_ref(&fl->w);
    if (query_files_list(handlers_app(fl->w.c)->reader, &fl->pkg,
                         files_list_cb, fl) != 0) {
      work_unref(&fl->w);
      http_problem(work_end(&fl->w), PROB_DATABASE_UNAVAILABLE,
                   "cannot query the files");
    }
  }
  query_result_free(res);
  work_unref(&fl->w);
}

void files_list(struct conn *c, const struct http_req *req) {
  struct flist *fl;
  struct uuid pkg;

  if (!handlers_package_id(c, &req->params[0], &pkg))
    return;
  fl = calloc(1, sizeof *fl);
  if (fl == NULL) {
    http_problem(c, PROB_INTERNAL, "out of memory");
    return;
  }
  work_init(&fl->w, c, flist_free_cb);
  fl->pkg = pkg;
  work_ref(&fl->w);
  if (query_package_get(handlers_app(c)->reader, &fl->pkg, files_pkg_cb, fl) !=
      0) {
    work_unref(&fl->w);
    http_problem(work_end(&fl->w), PROB_DATABASE_UNAVAILABLE,
                 "cannot query the package");
  }
  work_unref(&fl->w);
}
