/*
 * rows.h: view rows to the records of model.h, shared by the operations
 * (results read back inside the writer's transaction) and the reads.
 */
#ifndef AS_ROWS_H
#define AS_ROWS_H

#include "store/evlog/evlog.h"
#include "store/registry/model.h"
#include "util/common.h"

/* SQL text of a 16-byte id column as a UUID string, and of a microsecond
 * column as RFC 3339 UTC with microseconds (ts_format's form). */
#define ROWS_UUID_TEXT(col)                                                 \
  "lower(substr(hex(" col "),1,8)||'-'||substr(hex(" col "),9,4)||'-'||"  \
  "substr(hex(" col "),13,4)||'-'||substr(hex(" col "),17,4)||'-'||"      \
  "substr(hex(" col "),21))"
#define ROWS_TS_TEXT(col)                                                   \
  "(strftime('%Y-%m-%dT%H:%M:%S'," col "/1000000,'unixepoch')||"          \
  "printf('.%06dZ'," col "%1000000))"
/* A hold row h as the API shows it. */
#define ROWS_HOLD_FIELDS                                                    \
  "'id'," ROWS_UUID_TEXT("h.id") ",'package_id',"                         \
  ROWS_UUID_TEXT("h.package_id") ",'reason',h.reason,'placed_at',"        \
  ROWS_TS_TEXT("h.placed_at") ",'actor',h.actor"
#define ROWS_HOLD_JSON "json_object(" ROWS_HOLD_FIELDS ")"

/* Select lists (with FROM) that rows_package / rows_file read. */
#define ROWS_PACKAGE_SELECT                                                 \
  "SELECT p.id, p.name, p.producer, p.subject, p.retention_class, "        \
  "p.metadata, p.status, p.created_at, p.finalized_at, p.manifest_digest, " \
  "r.expires_at, (SELECT json_group_array(json(x)) FROM (SELECT "         \
  ROWS_HOLD_JSON " AS x FROM holds h WHERE h.package_id = p.id AND "      \
  "h.released_seq IS NULL ORDER BY h.id)) FROM packages p "               \
  "LEFT JOIN retention_state r ON r.package_id = p.id "
#define ROWS_FILE_SELECT                                                    \
  "SELECT f.id, f.package_id, f.path, f.media_type, f.size, f.blake3, "    \
  "f.sha256, fp.status FROM files f "                                     \
  "JOIN packages fp ON fp.id = f.package_id "

/* The current row as one allocation (free()).  0, UV_ENOMEM, UV_EPROTO. */
int rows_package(struct evlog_stmt *st, struct package **out);
int rows_file(struct evlog_stmt *st, struct file_rec **out);

/* Loads one row by id: 0, UV_ENOENT, or an error (message in e). */
int rows_package_get(struct evlog_db *db, const struct uuid *id,
                     struct package **out, struct errbuf *e);
int rows_file_get(struct evlog_db *db, const struct uuid *id,
                  struct file_rec **out, struct errbuf *e);

#endif
