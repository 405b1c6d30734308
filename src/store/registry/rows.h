/*
 * rows.h: view rows to the records of model.h, shared by the writer (results
 * of registry operations) and the readers.
 */
#ifndef AS_ROWS_H
#define AS_ROWS_H

#include <sqlite3.h>

#include "util/common.h"
#include "store/registry/model.h"

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
int rows_package(sqlite3_stmt *st, struct package **out);
int rows_file(sqlite3_stmt *st, struct file_rec **out);

#define ROWS_PACKAGE_BY_ID ROWS_PACKAGE_SELECT "WHERE p.id = ?1"
#define ROWS_FILE_BY_ID ROWS_FILE_SELECT "WHERE f.id = ?1"

/* Runs st (prepared from ROWS_PACKAGE_BY_ID / ROWS_FILE_BY_ID, reset on
 * return) for id: 0, UV_ENOENT, or an error (message in e). */
int rows_package_by_id(sqlite3_stmt *st, const struct uuid *id,
                       struct package **out, struct errbuf *e);
int rows_file_by_id(sqlite3_stmt *st, const struct uuid *id,
                    struct file_rec **out, struct errbuf *e);

/* Loads one row by id: 0, UV_ENOENT, or an error (message in e). */
int rows_package_get(sqlite3 *db, const struct uuid *id,
                     struct package **out, struct errbuf *e);
int rows_file_get(sqlite3 *db, const struct uuid *id, struct file_rec **out,
                  struct errbuf *e);

#endif
