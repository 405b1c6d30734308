/*
 * stats.h: what the store holds, counted from the views for GET /v1/stats
 * (a read job of the read pool, one snapshot).  The counts scan the blobs
 * and packages tables: an operator's question, not a hot path.
 */
#ifndef AS_STATS_H
#define AS_STATS_H

#include <stdint.h>

#include "store/evlog/reader.h"

struct store_stats {
  int64_t last_sequence;
  uint64_t live_blobs, live_bytes;     /* referenced by open/finalized */
  uint64_t candidates, reclaimable_bytes; /* unreferenced, not collected */
  uint64_t collected_blobs;            /* collected (rows kept) */
  uint64_t packages[5];                /* by enum pkg_status; [0] unused */
  uint64_t held_packages, active_holds;
};

/* Loop thread; st is valid during the call only; status != 0 with msg
 * when the read failed. */
typedef void (*stats_cb)(int status, const struct store_stats *st,
                         const struct errbuf *msg, void *arg);

int query_stats(struct reader *r, stats_cb cb, void *arg);

#endif
