/*
 * lifecycle.h: the operations of the sweeper and the collector (issue 13,
 * docs/OPERATOR.md "Retention"), writer jobs like the rest of registry.h.
 * Each decides as of the time it runs on the writer thread (as_of, in the
 * events it writes), so replay never reads the clock.
 */
#ifndef AS_LIFECYCLE_H
#define AS_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/registry/registry.h"

#define REG_ACTOR_SWEEPER "system:sweeper"

struct sweep_req {
  int64_t open_ttl_us;  /* abort unheld open packages created at or before
                         * as_of - open_ttl_us; negative: never */
  unsigned limit;       /* decisions (events) per job, at most */
};

/* One blob file found on disk (blob_list) that may be an orphan. */
struct orphan_candidate {
  uint8_t blake3[DIGEST_LEN];
  uint64_t size;          /* bytes on disk */
};

struct collect_req {
  int64_t grace_us;       /* candidates unreferenced at least this long */
  unsigned limit;         /* blobs per job, at most */
  bool dry_run;           /* report what would be collected, write nothing */
  /* files found on disk, older than the grace period, that the caller
   * believes no live file references: re-checked in the transaction */
  const struct orphan_candidate *orphans;
  size_t norphans;
};

/* Each returns 0 when queued (cb will run) or a negative code (cb will
 * not run): UV_EINVAL for a limit of 0 (or, collect, a negative grace).
 * Results in struct reg_result: sweep (expired, aborted, more),
 * collect (collected[], ncollected: what was collected, or would be with
 * dry_run, each with the sequence of its event; more). */
int reg_sweep(struct writer *w, const struct sweep_req *req, reg_cb cb,
              void *arg);
int reg_collect(struct writer *w, const struct collect_req *req, reg_cb cb,
                void *arg);

#endif
