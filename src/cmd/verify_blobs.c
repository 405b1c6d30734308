/*
 * verify_blobs.c: `artifactstored --verify-log --blobs --data DIR`, the
 * blob half: re-hashes every blob the views reference and lists what the
 * store holds that nothing references.
 *
 * The referenced blobs (digests and size) come from the views through
 * store/registry/blobrefs.h, one read-only snapshot; the bytes are read
 * through the blob store SPI only: blob_verify (both digests and the
 * size, VERIFY_INFLIGHT at a time on the threadpool) and blob_list (every
 * stored blob).  Each missing or damaged blob is reported with its digest
 * and the files that use it (package id and path); orphans (stored but
 * never committed) with their size.  Runs a uv loop of its own; the
 * caller holds the data directory lock.
 */
#include "cmd/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/blob/blob.h"
#include "store/codec/caddr.h"
#include "store/registry/blobrefs.h"

#define VERIFY_INFLIGHT 4 /* blob_verify requests at once: the pool's size */

struct vb {
  uv_loop_t loop;
  struct blob_store *store;
  struct blob_ref *refs;   /* sorted by blake3 */
  size_t nrefs, next, done;
  int *status;             /* per ref: what blob_verify said */
  struct blob_info *found; /* per ref: what is on disk */
  struct blob_entry *stored;
  size_t nstored, cap;
  int list_status;
};

/* One verify request in flight: which ref it is for. */
struct vb_req {
  struct vb *v;
  size_t i;
};

static void vb_verify_next(struct vb *v);

static void vb_verify_cb(int status, const struct blob_info *found,
                         void *arg) {
  struct vb_req *q = arg;
  struct vb *v = q->v;

  v->status[q->i] = status;
  v->found[q->i] = *found;
  v->done++;
  free(q);
  vb_verify_next(v);
}

/* Keeps VERIFY_INFLIGHT requests going until every ref is asked for. */
static void vb_verify_next(struct vb *v) {
  while (v->next < v->nrefs && v->next - v->done < VERIFY_INFLIGHT) {
    size_t i = v->next++;
    struct blob_info want = {.digests = v->refs[i].digests,
                             .size = v->refs[i].size};
    struct vb_req *q = malloc(sizeof *q);
    int rc = UV_ENOMEM;

    if (q != NULL) {
      q->v = v;
      q->i = i;
      rc = blob_verify(v->store, &want, vb_verify_cb, q);
    }
    if (rc != 0) {
      free(q);
      v->status[i] = rc;
      v->found[i].size = BLOB_SIZE_UNKNOWN;
      v->done++;
    }
  }
}

static int vb_list_cb(int status, const struct blob_entry *e, size_t n,
                      bool last, void *arg) {
  struct vb *v = arg;

  (void)last;
  v->list_status = status;
  if (n == 0) /* an empty store: v->stored may still be NULL */
    return 0;
  if (v->nstored + n > v->cap) {
    size_t cap = v->cap ? v->cap : 1024;
    struct blob_entry *p;

    while (cap < v->nstored + n)
      cap *= 2;
    p = realloc(v->stored, cap * sizeof *p);
    if (p == NULL) {
      v->list_status = UV_ENOMEM;
      return 1;
    }
    v->stored = p;
    v->cap = cap;
  }
  memcpy(v->stored + v->nstored, e, n * sizeof *e);
  v->nstored += n;
  return 0;
}

static int entry_cmp(const void *a, const void *b) {
  return memcmp(((const struct blob_entry *)a)->blake3,
                ((const struct blob_entry *)b)->blake3, DIGEST_LEN);
}

static int ref_cmp(const void *key, const void *ref) {
  return memcmp(key, ((const struct blob_ref *)ref)->digests.blake3,
                DIGEST_LEN);
}

static int print_user(const struct uuid *package_id, const char *path,
                      void *arg) {
  char id[UUID_STRLEN + 1];

  (void)arg;
  uuid_format(package_id, id);
  printf("  used by package %s path \"%s\"\n", id, path);
  return 0;
}

/* One line for a referenced blob that failed, then the files using it. */
static int report_bad(struct blobrefs *br, const struct blob_ref *ref,
                      int status, const struct blob_info *found,
                      struct errbuf *e) {
  char b3[CADDR_BUFSIZE], sha[CADDR_BUFSIZE], got[CADDR_BUFSIZE];

  caddr_format_raw(CADDR_BLAKE3, ref->digests.blake3, b3);
  caddr_format_raw(CADDR_SHA256, ref->digests.sha256, sha);
  printf("blobs: ");
  if (status == UV_ENOENT) {
    printf("MISSING %s (%s, %llu bytes): no file in the store\n", b3, sha,
           (unsigned long long)ref->size);
  } else if (status == UV_EBADMSG && found->size != ref->size) {
    printf("DAMAGED %s (%s, %llu bytes): %llu bytes on disk\n", b3, sha,
           (unsigned long long)ref->size, (unsigned long long)found->size);
  } else if (status == UV_EBADMSG) {
    caddr_format_raw(CADDR_BLAKE3, found->digests.blake3, got);
    printf("DAMAGED %s (%s, %llu bytes): the bytes on disk hash to %s\n",
           b3, sha, (unsigned long long)ref->size, got);
  } else {
    printf("UNREADABLE %s (%s, %llu bytes): %s\n", b3, sha,
           (unsigned long long)ref->size, uv_strerror(status));
  }
  return blobrefs_users(br, ref->digests.blake3, print_user, NULL, e);
}

/* Runs the verifies and the listing to their end. */
static int vb_run(struct vb *v, const char *data_dir, struct errbuf *e) {
  int rc;

  v->status = calloc(v->nrefs ? v->nrefs : 1, sizeof *v->status);
  v->found = calloc(v->nrefs ? v->nrefs : 1, sizeof *v->found);
  if (v->status == NULL || v->found == NULL)
    return err_set(e, UV_ENOMEM, "out of memory");
  if ((rc = uv_loop_init(&v->loop)) != 0)
    return err_set(e, rc, "cannot start an event loop: %s", uv_strerror(rc));
  rc = blob_store_open_local(&v->loop, data_dir, &v->store, e);
  if (rc == 0 && (rc = blob_list(v->store, vb_list_cb, v)) != 0)
    rc = err_set(e, rc, "cannot list the blob store: %s", uv_strerror(rc));
  if (rc == 0) {
    vb_verify_next(v);
    uv_run(&v->loop, UV_RUN_DEFAULT);
  }
  blob_store_close(v->store);
  v->store = NULL;
  uv_loop_close(&v->loop);
  if (rc == 0 && v->list_status != 0)
    rc = err_set(e, v->list_status, "cannot list the blob store: %s",
                 uv_strerror(v->list_status));
  return rc;
}

/* Prints every finding and the summary; 1 when a referenced blob is
 * bad. */
static int vb_report(struct vb *v, struct blobrefs *br, double secs,
                     struct errbuf *e, int *rc) {
  size_t ok = 0, missing = 0, damaged = 0, unreadable = 0, orphans = 0;
  unsigned long long bytes = 0, read = 0, orphan_bytes = 0;

  for (size_t i = 0; i < v->nrefs && *rc == 0; i++) {
    int st = v->status[i];

    bytes += v->refs[i].size;
    if (st == 0 || (st == UV_EBADMSG && v->found[i].size == v->refs[i].size))
      read += v->refs[i].size;
    if (st == 0) {
      ok++;
      continue;
    }
    *rc = report_bad(br, &v->refs[i], st, &v->found[i], e);
    if (st == UV_ENOENT)
      missing++;
    else if (st == UV_EBADMSG)
      damaged++;
    else
      unreadable++;
  }
  if (*rc != 0)
    return 1;
  if (v->nstored > 1) /* (qsort and bsearch take no null array) */
    qsort(v->stored, v->nstored, sizeof *v->stored, entry_cmp);
  for (size_t i = 0; i < v->nstored; i++) {
    char b3[CADDR_BUFSIZE];

    if (v->nrefs > 0 &&
        bsearch(v->stored[i].blake3, v->refs, v->nrefs, sizeof *v->refs,
                ref_cmp) != NULL)
      continue;
    caddr_format_raw(CADDR_BLAKE3, v->stored[i].blake3, b3);
    printf("blobs: orphan %s: %llu bytes stored, no file uses it\n", b3,
           (unsigned long long)v->stored[i].size);
    orphans++;
    orphan_bytes += v->stored[i].size;
  }
  printf("blobs: %zu referenced (%llu bytes): %zu ok, %zu missing, "
         "%zu damaged, %zu unreadable; %zu orphans (%llu bytes); "
         "%llu bytes hashed in %.3f s (%.2f GB/s)\n",
         v->nrefs, bytes, ok, missing, damaged, unreadable, orphans,
         orphan_bytes, read, secs, secs > 0 ? (double)read / secs / 1e9 : 0);
  if (missing + damaged + unreadable == 0) {
    printf("verify-blobs: ok\n");
    return 0;
  }
  printf("verify-blobs: FAILED: restore each blob above from a backup, or "
         "upload the same bytes again (any path) to heal it\n");
  return 1;
}

int cmd_verify_blobs(const char *data_dir, const char *db_path) {
  struct vb v;
  struct blobrefs *br = NULL;
  struct errbuf e = {{0}};
  uint64_t t0;
  int rc, status = 1;

  memset(&v, 0, sizeof v);
  rc = blobrefs_open(db_path, &br, &e);
  if (rc == 0)
    rc = blobrefs_all(br, &v.refs, &v.nrefs, &e);
  t0 = uv_hrtime();
  if (rc == 0)
    rc = vb_run(&v, data_dir, &e);
  if (rc == 0)
    status = vb_report(&v, br, (double)(uv_hrtime() - t0) / 1e9, &e, &rc);
  if (rc != 0) {
    fprintf(stderr, "artifactstored: verify-log --blobs: %s\n",
            err_msg(&e, rc));
    status = 1;
  }
  blobrefs_close(br);
  free(v.refs);
  free(v.status);
  free(v.found);
  free(v.stored);
  return status;
}
