/*
 * replay.h: rebuilding the views from the event log, and the view digest
 * that proves two rebuilds agree.
 */
#ifndef AS_REPLAY_H
#define AS_REPLAY_H

#include <stdint.h>
#include <sqlite3.h>

#include "util/common.h"
#include "store/codec/digest.h"

/* BLAKE3 of the canonical dump of every view row (layout in replay.c).
 * *rows (may be NULL) receives the number of rows dumped.  Run it inside a
 * transaction, or with no writer, for a consistent answer. */
int replay_view_digest(sqlite3 *db, uint8_t out[DIGEST_LEN], uint64_t *rows,
                       struct errbuf *e);

/* Empties the derived views and applies every event in sequence order,
 * inside the caller's transaction.  *applied receives the event count. */
int replay_rebuild(sqlite3 *db, uint64_t *applied, struct errbuf *e);

struct replay_report {
  uint8_t before[DIGEST_LEN];  /* view digest of the live database */
  uint8_t after[DIGEST_LEN];   /* view digest after the rebuild */
  uint64_t applied;            /* events applied */
  double seconds;              /* rebuild time */
};

/* Rebuilds the views of the database at db_path in place, in one
 * transaction (migrating it first, like the daemon would). */
int replay_live(const char *db_path, struct replay_report *r,
                struct errbuf *e);
/* Copies the database at db_path to scratch_path (SQLite backup API),
 * rebuilds the copy and deletes it: the live database is only read. */
int replay_scratch(const char *db_path, const char *scratch_path,
                   struct replay_report *r, struct errbuf *e);

#endif
