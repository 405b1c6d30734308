/*
 * rows.h: view rows to the records of model.h, shared by the operations
 * (results read back inside the writer's transaction) and the reads.
 */
#ifndef AS_ROWS_H
#define AS_ROWS_H

#include "store/evlog/evlog.h"
#include "store/registry/model.h"
#include "util/common.h"

/* Select lists (with FROM) that rows_package / rows_file read. */
#define ROWS_PACKAGE_SELECT                                                 \
  "SELECT p.id, p.name, p.producer, p.subject, p.retention_class, "        \
  "p.metadata, p.status, p.created_at, p.finalized_at, p.manifest_digest, " \
  "r.expires_at FROM packages p "                                           \
  "LEFT JOIN retention_state r ON r.package_id = p.id "
#define ROWS_FILE_SELECT                                                    \
  "SELECT f.id, f.package_id, f.path, f.media_type, f.size, f.blake3, "    \
  "f.sha256 FROM files f "

/* The current row as one allocation (free()).  0, UV_ENOMEM, UV_EPROTO. */
int rows_package(struct evlog_stmt *st, struct package **out);
int rows_file(struct evlog_stmt *st, struct file_rec **out);

/* Loads one row by id: 0, UV_ENOENT, or an error (message in e). */
int rows_package_get(struct evlog_db *db, const struct uuid *id,
                     struct package **out, struct errbuf *e);
int rows_file_get(struct evlog_db *db, const struct uuid *id,
                  struct file_rec **out, struct errbuf *e);

#endif
