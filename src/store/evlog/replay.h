/*
 * replay.h: rebuilding the views from the event log, and the view digest
 * that proves two rebuilds agree.  The domain (domain.h) says how events
 * change the views and which tables they are.
 */
#ifndef AS_REPLAY_H
#define AS_REPLAY_H

#include <stdint.h>

#include "store/codec/digest.h"
#include "store/evlog/domain.h"
#include "util/common.h"

/* BLAKE3 of the canonical dump of every view row (layout in replay.c).
 * *rows (may be NULL) receives the number of rows dumped.  Run it inside a
 * transaction, or with no writer, for a consistent answer. */
int replay_view_digest(struct evlog_db *db, const struct evlog_domain *dom,
                       uint8_t out[DIGEST_LEN], uint64_t *rows,
                       struct errbuf *e);

/* Empties the derived views and applies every event in sequence order,
 * inside the caller's transaction.  *applied receives the event count. */
int replay_rebuild(struct evlog_db *db, const struct evlog_domain *dom,
                   uint64_t *applied, struct errbuf *e);

struct replay_report {
  uint8_t before[DIGEST_LEN]; /* view digest of the live database */
  uint8_t after[DIGEST_LEN];  /* view digest after the rebuild */
  uint64_t applied;           /* events applied */
  double seconds;             /* rebuild time */
};

/* Rebuilds the views of the database at location in place, in one
 * transaction (migrating it first, like the daemon would). */
int replay_live(const char *location, const struct evlog_domain *dom,
                struct replay_report *r, struct errbuf *e);
/* Copies the database at location to a scratch copy at scratch, rebuilds
 * the copy and deletes it: the live database is only read. */
int replay_scratch(const char *location, const char *scratch,
                   const struct evlog_domain *dom, struct replay_report *r,
                   struct errbuf *e);

#endif
