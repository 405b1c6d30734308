/*
 * retention.h: the daemon's sweeper and collector (issue 13,
 * docs/OPERATOR.md "Retention"), on the loop thread.
 *
 * A timer runs one pass every sweep interval (counted from the end of the
 * previous pass; never two at once):
 *   1. sweep: reg_sweep ends overdue packages (expired, aborted), again at
 *      once while the registry says there is more;
 *   2. collect: reg_collect writes v1.blob.collected for the candidates
 *      past the grace period; only after that commit is each file moved
 *      to the trash (blob_trash);
 *   3. orphans (when due): blob_list finds blob files older than the
 *      grace period; reg_collect re-checks each in its transaction and
 *      collects those no live file references, moved the same way;
 *   4. trash: blob_trash_empty removes entries older than the trash TTL.
 * Every failure is logged and the step is tried again next pass.
 *
 * The race with uploads (docs/ARCHITECTURE.md, "Retention: the sweeper,
 * the collector and the race"): the digests whose trash move is in
 * flight are known here from the collection's commit (its callback,
 * which runs before the callback of any writer job committed after it)
 * until the move ends.  An upload that
 * re-referenced a digest waits for those moves (retention_after_moves)
 * before it checks its blob is in place.
 */
#ifndef AS_RETENTION_H
#define AS_RETENTION_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "store/blob/blob.h"
#include "store/evlog/writer.h"
#include "store/registry/registry.h"

struct retention;

struct retention_opts {
  int64_t sweep_interval_s;  /* seconds between passes; 0: no passes */
  int64_t open_ttl_s;        /* abort open packages older than this */
  int64_t gc_grace_s;        /* collect blobs unreferenced this long */
  int64_t trash_ttl_s;       /* remove trash entries older than this */
};

/* Starts the timer (when sweep_interval_s > 0).  0, or UV_ENOMEM /
 * UV_EINVAL (a negative option). */
int retention_start(uv_loop_t *loop, struct writer *w, struct blob_store *s,
                    const struct retention_opts *o, struct retention **out);
/* No further pass or step starts; the timer is closed.  What is in flight
 * (a writer job, trash moves) completes while the loop runs on. */
void retention_stop(struct retention *r);
/* Frees r once the loop has run dry (after retention_stop). NULL: no-op. */
void retention_free(struct retention *r);

/* One collected blob, after its move to the trash (status 0, or the
 * move's error: UV_ENOENT when the file was already absent). */
typedef void (*retention_report_fn)(const struct reg_collected *c,
                                    int status, void *arg);
/* `artifactstored --gc`: one collection now, with no timer
 * (sweep_interval_s 0): the candidates past the grace period, then an
 * orphan scan of every blob file older than it; no sweep, the trash is
 * not emptied.  report (may be NULL) is called for each blob moved;
 * done once at the end with the number of steps that failed (logged).
 * UV_EBUSY when a pass runs or the timer is on. */
int retention_collect_now(struct retention *r, retention_report_fn report,
                          void (*done)(void *arg, unsigned errors),
                          void *arg);
/* The trash as the last pass measured it (files, bytes; removed: in that
 * pass) and when (unix seconds); false before the first measurement. */
bool retention_trash(const struct retention *r, struct blob_trash_stats *st,
                     int64_t *measured_at);

/* Calls cb(arg) at once when no trash move of blake3 is in flight, else
 * once every such move has ended.  r may be NULL (nothing in flight).
 * 0, or UV_ENOMEM (cb not called). */
int retention_after_moves(struct retention *r, const uint8_t blake3[32],
                          void (*cb)(void *arg), void *arg);

#endif
