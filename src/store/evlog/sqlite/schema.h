/*
 * schema.h: the SQLite backend's numbered migrations (schema/NNNN_*.sql),
 * embedded at build time by tools/embed_sql.py.  PRAGMA user_version
 * records the last one applied.
 */
#ifndef AS_SQLITE_SCHEMA_H
#define AS_SQLITE_SCHEMA_H

#include <stddef.h>

struct schema_migration {
  int version;       /* 1, 2, ... = PRAGMA user_version */
  const char *name;  /* file name in schema/ */
  const char *sql;
};

extern const struct schema_migration schema_migrations[];
extern const size_t schema_migration_count;

#endif
