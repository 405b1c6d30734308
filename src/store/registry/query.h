/*
 * query.h: the reads the API serves, run on the event-log engine's read
 * pool (store/evlog/reader.h: the threadpool, read-only connections beside
 * the writer), never on the loop.  Every callback runs on the loop thread;
 * the result is owned by the callback (release with query_result_free).
 */
#ifndef AS_QUERY_H
#define AS_QUERY_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "util/common.h"
#include "store/codec/caddr.h"
#include "store/evlog/event.h"
#include "store/evlog/reader.h"
#include "store/registry/model.h"


struct query_result {
  int status;                  /* 0, UV_ENOENT (not found), or an error */
  struct errbuf msg;
  /* one of these is set, depending on the query */
  struct package *package;
  struct package **packages;   /* list */
  struct file_rec *file;
  struct file_rec **files;     /* list */
  struct event_rec **events;   /* list */
  size_t count;                /* entries in the list */
  char *next_cursor;           /* packages paging: opaque, NULL at the end */
  uint8_t *bytes;              /* manifest: CBOR, or JCS text (NUL-ended);
                                * classes, holds: JSON text */
  size_t bytes_len;
  uint8_t digest[DIGEST_LEN];  /* manifest: its address (blake3 of CBOR) */
  int64_t last_sequence;       /* health, events */
};

typedef void (*query_cb)(struct query_result *res, void *arg);

void query_result_free(struct query_result *res);

struct pkg_filter {
  const char *name, *producer, *subject, *retention_class; /* NULL: any */
  int status;                  /* 0: any, else enum pkg_status */
  const char *cursor;          /* from a previous page, or NULL */
  unsigned limit;              /* 1..1000 */
};

int query_package_get(struct reader *r, const struct uuid *id, query_cb cb,
                      void *arg);
int query_package_list(struct reader *r, const struct pkg_filter *f,
                       query_cb cb, void *arg);
int query_files_list(struct reader *r, const struct uuid *package_id,
                     query_cb cb, void *arg);
int query_file_get(struct reader *r, const struct uuid *file_id, query_cb cb,
                   void *arg);
/* The file at path in the package (a point lookup); UV_ENOENT when the
 * package has no file there (the package itself is not checked). */
int query_file_at_path(struct reader *r, const struct uuid *package_id,
                       const char *path, query_cb cb, void *arg);
/* The file row of any file holding these bytes (blake3 or sha256 address);
 * UV_ENOENT when no file references them. */
int query_blob_get(struct reader *r, const struct caddr *addr, query_cb cb,
                   void *arg);
/* The stored manifest CBOR of a finalized (or expired: proof of what it
 * held) package (UV_ENOENT when the package does not exist, UV_EAGAIN
 * when it was never finalized). */
int query_manifest_get(struct reader *r, const struct uuid *package_id,
                       query_cb cb, void *arg);
/* The same manifest projected to JCS (res->bytes is the JSON text); the
 * conversion runs on the threadpool.  res->digest is still the address of
 * the CBOR bytes. */
int query_manifest_json(struct reader *r, const struct uuid *package_id,
                        query_cb cb, void *arg);
/* The retention classes as the JSON array text of GET
 * /v1/retention-classes (res->bytes, NUL-ended). */
int query_classes_list(struct reader *r, query_cb cb, void *arg);
/* The package's active holds (all: released ones too, with released_at
 * and released_by) as JSON array text in res->bytes; UV_ENOENT when the
 * package does not exist. */
int query_holds_list(struct reader *r, const struct uuid *package_id,
                     bool all, query_cb cb, void *arg);
int query_events_since(struct reader *r, int64_t since, unsigned limit,
                       query_cb cb, void *arg);
/* last_sequence and a trivial read: status != 0 when the database is
 * unusable. */
int query_health(struct reader *r, query_cb cb, void *arg);

#endif
