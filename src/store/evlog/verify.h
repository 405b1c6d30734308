/*
 * verify.h: checking the event log against its own digests.
 */
#ifndef AS_VERIFY_H
#define AS_VERIFY_H

#include <stdint.h>

#include "util/common.h"
#include "store/codec/digest.h"

#define VERIFY_WHY_MAX 256

struct verify_report {
  int64_t verified;            /* events that verified */
  int64_t bad_sequence;        /* first failing sequence; 0: the log is ok */
  char why[VERIFY_WHY_MAX];    /* what failed there */
  uint8_t head[DIGEST_LEN];    /* chain digest of the last verified event */
};

/* Walks the log of the database at location (read-only) and fills r.
 * 0 (look at r->bad_sequence) or a negative error with a message. */
int verify_log(const char *location, struct verify_report *r,
               struct errbuf *e);
/* The same from sequence from on (from <= 1: the whole log), seeded with
 * the stored chain digest of event from - 1; r->verified counts the
 * events from there. */
int verify_log_from(const char *location, int64_t from,
                    struct verify_report *r, struct errbuf *e);
/* The database's own quick check of its file (evlog_quick_check), on a
 * read-only connection of its own. */
int verify_quick_check(const char *location, struct errbuf *e);

#endif
