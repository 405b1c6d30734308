/*
 * retention.c: the sweeper and collector's pass (retention.h), a chain of
 * callbacks on the loop thread: sweep -> collect -> orphans -> trash.
 *
 * Trash moves run at most RETENTION_MOVES_MAX at a time on the
 * threadpool, which uploads share; the digests of a committed collection
 * are all "moving" from its callback on, so an upload that re-references
 * one waits for its move (retention_after_moves) whatever its place in
 * the queue.
 *
 * Orphan scans list every blob file (blob_list) and keep, in memory,
 * those older than the grace period (40 bytes each, at most
 * RETENTION_ORPHANS_MAX per scan).  A store with more files is scanned a
 * shard at a time (the first digest byte modulo the number of shards,
 * doubled whenever a scan overflows), one shard per due scan.  A scan is
 * due every clamp(grace, sweep interval, 1 h) seconds divided by the
 * shards (never more often than every pass), and at the first pass after
 * start, which reconciles what a crash left (a collected blob whose file
 * was not moved is collected again).
 */
#include "retention/retention.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/registry/lifecycle.h"
#include "util/hex.h"
#include "util/logq.h"

#define RETENTION_SWEEP_LIMIT 1000   /* decisions per sweep job, at most */
#define RETENTION_COLLECT_LIMIT 256  /* blobs per collect job (and orphans
                                      * sent per job), at most */
#define RETENTION_MOVES_MAX 2        /* trash moves in flight */
#define RETENTION_ORPHANS_MAX 65536  /* orphan candidates kept per scan */
#define RETENTION_SHARDS_MAX 256
#define RETENTION_ORPHAN_EVERY_MAX_S 3600

struct waiter {
  void (*cb)(void *arg);
  void *arg;
  struct waiter *next;
};

/* A digest whose trash move is queued or running. */
struct moving {
  uint8_t b3[DIGEST_LEN];
  struct waiter *waiters;
};

struct move_req {
  struct retention *r;
  struct reg_collected c;
};

enum phase { PH_CANDIDATES, PH_ORPHANS };

struct retention {
  uv_loop_t *loop;
  struct writer *w;
  struct blob_store *s;
  struct retention_opts o;
  uv_timer_t timer;
  bool timer_open, stopping, busy;
  unsigned in_flight;        /* writer jobs, listings, moves, trash */
  /* retention_collect_now: collection only, then done */
  bool collect_only;
  retention_report_fn report;
  void (*done)(void *arg, unsigned errors);
  void *done_arg;
  /* the trash as the last pass measured it */
  struct blob_trash_stats trash;
  int64_t trash_at;          /* unix seconds; 0: never measured */
  /* moves */
  struct moving *mv;
  size_t nmv, capmv;
  struct reg_collected *queue; /* collected, waiting for their move */
  size_t nqueue, qnext;
  unsigned moves_running;
  enum phase phase;
  bool more;                 /* the last collect job had more */
  /* orphan scan */
  struct orphan_candidate *orph;
  size_t norph, orph_next, nbatch;
  int64_t orph_cutoff;       /* mtime at or before: old enough */
  bool scanned, overflow;
  unsigned shards, shard;
  uint64_t last_scan_ms;
  /* this pass */
  uint64_t t0;
  unsigned expired, aborted, errors;
  uint64_t collected, collected_bytes, orphans, trash_removed;
};

static void pass_collect(struct retention *r);
static void pass_orphans(struct retention *r);
static void pass_trash(struct retention *r);
static void pass_end(struct retention *r);
static void timer_cb(uv_timer_t *t);

/* Drops the orphan candidates of this scan (done, stopped or failed). */
static void orphans_reset(struct retention *r) {
  free(r->orph);
  r->orph = NULL;
  r->norph = r->orph_next = r->nbatch = 0;
}

static void retention_fail(struct retention *r, const char *step, int status,
                           const char *detail) {
  char code[64];

  r->errors++;
  uv_err_name_r(status, code, sizeof code);
  logq_log(LOGQ_ERROR,
           json_pack("{s:s, s:s, s:s, s:s}", "msg", "retention step failed",
                     "step", step, "error", code, "detail",
                     detail != NULL && detail[0] != '\0' ? detail
                                                         : uv_strerror(status)));
}

static void reg_fail(struct retention *r, const char *step,
                     const struct reg_result *res) {
  retention_fail(r, step, res->status != 0 ? res->status : UV_EINVAL,
                 res->msg.msg);
}

/* --- moves in flight --- */

static struct moving *moving_find(struct retention *r, const uint8_t *b3) {
  for (size_t i = 0; i < r->nmv; i++)
    if (memcmp(r->mv[i].b3, b3, DIGEST_LEN) == 0)
      return &r->mv[i];
  return NULL;
}

int retention_after_moves(struct retention *r, const uint8_t blake3[32],
                          void (*cb)(void *arg), void *arg) {
  struct moving *m = r != NULL ? moving_find(r, blake3) : NULL;
  struct waiter *wt;

  if (m == NULL) {
    cb(arg);
    return 0;
  }
  if ((wt = malloc(sizeof *wt)) == NULL)
    return UV_ENOMEM;
  wt->cb = cb;
  wt->arg = arg;
  wt->next = m->waiters;
  m->waiters = wt;
  return 0;
}

/* The move of b3 ended (or will never start): release its waiters. */
static void moving_done(struct retention *r, const uint8_t *b3) {
  struct moving *m = moving_find(r, b3);
  struct waiter *wt;

  if (m == NULL)
    return;
  wt = m->waiters;
  *m = r->mv[--r->nmv]; /* the array is unordered */
  while (wt != NULL) {
    struct waiter *next = wt->next;
    wt->cb(wt->arg);
    free(wt);
    wt = next;
  }
}

static void moves_next(struct retention *r);

static void move_cb(int status, void *arg) {
  struct move_req *m = arg;
  struct retention *r = m->r;
  char hex[2 * DIGEST_LEN + 1];

  r->in_flight--;
  r->moves_running--;
  if (status != 0) {
    hex_encode(m->c.blake3, DIGEST_LEN, hex);
    if (status == UV_ENOENT)
      logq_json(json_pack("{s:s, s:s, s:s, s:I}", "level", "warning", "msg",
                          "collected blob file already absent", "blake3",
                          hex, "sequence", (json_int_t)m->c.sequence));
    else {
      char why[200];
      snprintf(why, sizeof why, "moving blob %s (collected at sequence "
               "%lld) to the trash: %s; the orphan scan collects it again",
               hex, (long long)m->c.sequence, uv_strerror(status));
      retention_fail(r, "trash move", status, why);
    }
  }
  if (r->report != NULL)
    r->report(&m->c, status, r->done_arg);
  moving_done(r, m->c.blake3);
  free(m);
  moves_next(r);
}

/* Issues queued moves up to RETENTION_MOVES_MAX; once all have ended,
 * the pass goes on. */
static void moves_next(struct retention *r) {
  while (r->qnext < r->nqueue && r->moves_running < RETENTION_MOVES_MAX) {
    struct reg_collected *c = &r->queue[r->qnext++];
    struct move_req *m = malloc(sizeof *m);
    int rc = m == NULL ? UV_ENOMEM : 0;

    if (m != NULL) {
      m->r = r;
      m->c = *c;
      rc = blob_trash(r->s, c->blake3, c->sequence, move_cb, m);
    }
    if (rc != 0) {
      free(m);
      retention_fail(r, "trash move", rc, "cannot start a trash move; the "
                     "orphan scan collects the blob again");
      moving_done(r, c->blake3);
      continue;
    }
    r->in_flight++;
    r->moves_running++;
  }
  if (r->moves_running > 0 || r->qnext < r->nqueue)
    return;
  free(r->queue);
  r->queue = NULL;
  r->nqueue = r->qnext = 0;
  if (r->phase == PH_CANDIDATES)
    r->more && !r->stopping ? pass_collect(r) : pass_orphans(r);
  else
    pass_orphans(r);
}

/* --- 2. collect --- */

/* Drops from the orphan batch what this job collected (when it had more,
 * the rest is sent again: it may not all have been looked at). */
static void orphans_drop_collected(struct retention *r,
                                   const struct reg_result *res) {
  struct orphan_candidate *b = r->orph + r->orph_next;
  size_t n = 0;

  for (size_t i = 0; i < r->nbatch; i++) {
    bool gone = false;
    for (size_t k = 0; k < res->ncollected && !gone; k++)
      gone = memcmp(b[i].blake3, res->collected[k].blake3, DIGEST_LEN) == 0;
    if (!gone)
      b[n++] = b[i];
  }
  /* the dropped ones leave a gap: close it */
  memmove(b + n, b + r->nbatch, (r->norph - r->orph_next - r->nbatch) *
                                     sizeof *b);
  r->norph -= r->nbatch - n;
  r->nbatch = n;
}

static void collect_cb(const struct reg_result *res, void *arg) {
  struct retention *r = arg;
  size_t n = res->ncollected;

  r->in_flight--;
  r->more = false;
  if (res->error != REG_OK) {
    reg_fail(r, r->phase == PH_CANDIDATES ? "collect" : "collect orphans",
             res);
    if (r->phase == PH_ORPHANS)
      orphans_reset(r); /* the next scan tries again */
    r->phase == PH_CANDIDATES ? pass_orphans(r) : pass_trash(r);
    return;
  }
  r->more = res->more;
  if (r->phase == PH_ORPHANS) {
    if (res->more)
      orphans_drop_collected(r, res);
    else
      r->orph_next += r->nbatch;
  }
  /* every digest is "moving" before any later writer job's callback */
  r->queue = n > 0 ? malloc(n * sizeof *r->queue) : NULL;
  if (n > 0 && r->queue == NULL) {
    retention_fail(r, "collect", UV_ENOMEM, "cannot queue the trash moves; "
                   "the orphan scan collects the blobs again");
    n = 0;
  }
  if (n > 0 && r->nmv + n > r->capmv) {
    size_t cap = r->nmv + n;
    struct moving *p = realloc(r->mv, cap * sizeof *p);
    if (p == NULL) {
      retention_fail(r, "collect", UV_ENOMEM, "cannot queue the trash moves; "
                     "the orphan scan collects the blobs again");
      free(r->queue);
      r->queue = NULL;
      n = 0;
    } else {
      r->mv = p;
      r->capmv = cap;
    }
  }
  for (size_t i = 0; i < n; i++) {
    const struct reg_collected *c = &res->collected[i];
    r->queue[i] = *c;
    memcpy(r->mv[r->nmv].b3, c->blake3, DIGEST_LEN);
    r->mv[r->nmv++].waiters = NULL;
    r->collected++;
    r->collected_bytes += c->size;
    if (c->unreferenced_seq == 0)
      r->orphans++;
  }
  r->nqueue = n;
  r->qnext = 0;
  moves_next(r);
}

static void pass_collect(struct retention *r) {
  struct collect_req req;
  int rc;

  memset(&req, 0, sizeof req);
  req.grace_us = r->o.gc_grace_s * 1000000;
  req.limit = RETENTION_COLLECT_LIMIT;
  if (r->phase == PH_ORPHANS) {
    req.orphans = r->orph + r->orph_next;
    req.norphans = r->nbatch;
  }
  rc = reg_collect(r->w, &req, collect_cb, r);
  if (rc != 0) {
    retention_fail(r, "collect", rc, "cannot queue the collection");
    orphans_reset(r);
    pass_trash(r);
    return;
  }
  r->in_flight++;
}

/* --- 3. orphans --- */

static void orphans_send(struct retention *r) {
  size_t left = r->norph - r->orph_next;

  if (left == 0 || r->stopping) {
    orphans_reset(r);
    pass_trash(r);
    return;
  }
  r->nbatch = left < RETENTION_COLLECT_LIMIT ? left : RETENTION_COLLECT_LIMIT;
  pass_collect(r);
}

static int list_cb(int status, const struct blob_entry *ent, size_t n,
                   bool last, void *arg) {
  struct retention *r = arg;

  if (status != 0) {
    retention_fail(r, "orphan scan", status, "listing the blob files failed");
    r->norph = 0;
  }
  for (size_t i = 0; status == 0 && i < n; i++) {
    if (ent[i].mtime > r->orph_cutoff ||
        ent[i].blake3[0] % r->shards != r->shard)
      continue;
    if (r->norph == RETENTION_ORPHANS_MAX) {
      r->overflow = true;
      break;
    }
    memcpy(r->orph[r->norph].blake3, ent[i].blake3, DIGEST_LEN);
    r->orph[r->norph++].size = ent[i].size;
  }
  if (!last && !r->overflow && status == 0)
    return 0;
  r->in_flight--;
  if (r->overflow && r->shards < RETENTION_SHARDS_MAX) {
    r->shards *= 2; /* this scan's finds are good; later scans take less */
    r->shard = 0;
    logq_json(json_pack("{s:s, s:i}", "msg", "orphan scan sharded",
                        "shards", (int)r->shards));
  } else if (status == 0) {
    r->shard = (r->shard + 1) % r->shards;
  }
  r->orph_next = 0;
  orphans_send(r);
  return 1;
}

static bool orphans_due(struct retention *r) {
  int64_t every = r->o.gc_grace_s;
  uint64_t period_ms;

  if (!r->scanned)
    return true;
  if (every > RETENTION_ORPHAN_EVERY_MAX_S)
    every = RETENTION_ORPHAN_EVERY_MAX_S;
  period_ms = (uint64_t)every * 1000 / r->shards;
  return uv_now(r->loop) - r->last_scan_ms >= period_ms;
}

static void pass_orphans(struct retention *r) {
  int rc;

  r->phase = PH_ORPHANS;
  if (r->orph != NULL) { /* between batches of a scan */
    orphans_send(r);
    return;
  }
  if (r->stopping || !orphans_due(r)) {
    pass_trash(r);
    return;
  }
  r->scanned = true;
  r->last_scan_ms = uv_now(r->loop);
  r->overflow = false;
  r->norph = r->orph_next = r->nbatch = 0;
  r->orph_cutoff = (int64_t)time(NULL) - r->o.gc_grace_s;
  r->orph = malloc(RETENTION_ORPHANS_MAX * sizeof *r->orph);
  rc = r->orph == NULL ? UV_ENOMEM : blob_list(r->s, list_cb, r);
  if (rc != 0) {
    retention_fail(r, "orphan scan", rc, "cannot list the blob files");
    orphans_reset(r);
    pass_trash(r);
    return;
  }
  r->in_flight++;
}

/* --- 4. trash --- */

static void trash_cb(int status, const struct blob_trash_stats *st,
                     void *arg) {
  struct retention *r = arg;

  r->in_flight--;
  if (status != 0) {
    retention_fail(r, "empty trash", status, "emptying the trash failed");
  } else {
    r->trash_removed = st->removed;
    r->trash = *st;
    r->trash_at = (int64_t)time(NULL);
  }
  if (status == 0 && st->removed > 0)
    logq_json(json_pack("{s:s, s:I, s:I, s:I, s:I}", "msg", "trash emptied",
                        "removed", (json_int_t)st->removed, "removed_bytes",
                        (json_int_t)st->removed_bytes, "left",
                        (json_int_t)st->files, "left_bytes",
                        (json_int_t)st->bytes));
  pass_end(r);
}

static void pass_trash(struct retention *r) {
  int rc;

  if (r->stopping || r->collect_only) {
    pass_end(r);
    return;
  }
  rc = blob_trash_empty(r->s, (int64_t)time(NULL) - r->o.trash_ttl_s,
                        trash_cb, r);
  if (rc != 0) {
    retention_fail(r, "empty trash", rc, "cannot empty the trash");
    pass_end(r);
    return;
  }
  r->in_flight++;
}

/* --- 1. sweep, and the pass --- */

static void pass_sweep(struct retention *r);

static void sweep_cb(const struct reg_result *res, void *arg) {
  struct retention *r = arg;

  r->in_flight--;
  if (res->error != REG_OK) {
    reg_fail(r, "sweep", res);
  } else {
    r->expired += res->expired;
    r->aborted += res->aborted;
    if (res->more && !r->stopping) {
      pass_sweep(r);
      return;
    }
  }
  if (r->stopping) {
    pass_end(r);
    return;
  }
  r->phase = PH_CANDIDATES;
  pass_collect(r);
}

static void pass_sweep(struct retention *r) {
  struct sweep_req req;
  int rc;

  req.open_ttl_us = r->o.open_ttl_s * 1000000;
  req.limit = RETENTION_SWEEP_LIMIT;
  rc = reg_sweep(r->w, &req, sweep_cb, r);
  if (rc != 0) {
    retention_fail(r, "sweep", rc, "cannot queue the sweep");
    pass_end(r);
    return;
  }
  r->in_flight++;
}

static void pass_end(struct retention *r) {
  r->busy = false;
  if (r->expired + r->aborted + r->collected + r->trash_removed > 0 ||
      r->errors > 0)
    logq_json(json_pack("{s:s, s:i, s:i, s:I, s:I, s:I, s:I, s:i, s:f}",
                        "msg", "retention pass", "expired", (int)r->expired,
                        "aborted", (int)r->aborted, "collected",
                        (json_int_t)r->collected, "collected_bytes",
                        (json_int_t)r->collected_bytes, "orphans",
                        (json_int_t)r->orphans, "trash_removed",
                        (json_int_t)r->trash_removed, "errors",
                        (int)r->errors, "ms",
                        (double)(uv_hrtime() - r->t0) / 1e6));
  if (r->done != NULL) {
    void (*done)(void *, unsigned) = r->done;
    r->done = NULL;
    r->collect_only = false;
    r->report = NULL;
    done(r->done_arg, r->errors);
    return;
  }
  if (!r->stopping && r->timer_open) /* the next pass, an interval later */
    uv_timer_start(&r->timer, timer_cb,
                   (uint64_t)r->o.sweep_interval_s * 1000, 0);
}

static void pass_begin(struct retention *r) {
  r->busy = true;
  r->t0 = uv_hrtime();
  r->expired = r->aborted = r->errors = 0;
  r->collected = r->collected_bytes = r->orphans = r->trash_removed = 0;
}

static void timer_cb(uv_timer_t *t) {
  struct retention *r = t->data;

  if (r->busy || r->stopping)
    return;
  pass_begin(r);
  pass_sweep(r);
}

int retention_collect_now(struct retention *r, retention_report_fn report,
                          void (*done)(void *arg, unsigned errors),
                          void *arg) {
  if (r->busy || r->stopping || r->timer_open)
    return UV_EBUSY;
  pass_begin(r);
  r->collect_only = true;
  r->scanned = false; /* the orphan scan is due */
  r->report = report;
  r->done = done;
  r->done_arg = arg;
  r->phase = PH_CANDIDATES;
  pass_collect(r);
  return 0;
}

bool retention_trash(const struct retention *r, struct blob_trash_stats *st,
                     int64_t *measured_at) {
  if (r == NULL || r->trash_at == 0)
    return false;
  *st = r->trash;
  *measured_at = r->trash_at;
  return true;
}

int retention_start(uv_loop_t *loop, struct writer *w, struct blob_store *s,
                    const struct retention_opts *o, struct retention **out) {
  struct retention *r;
  uint64_t ms;

  *out = NULL;
  if (o->sweep_interval_s < 0 || o->open_ttl_s < 0 || o->gc_grace_s < 0 ||
      o->trash_ttl_s < 0)
    return UV_EINVAL;
  if ((r = calloc(1, sizeof *r)) == NULL)
    return UV_ENOMEM;
  r->loop = loop;
  r->w = w;
  r->s = s;
  r->o = *o;
  r->shards = 1;
  if (o->sweep_interval_s > 0) {
    ms = (uint64_t)o->sweep_interval_s * 1000;
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    r->timer_open = true;
    uv_timer_start(&r->timer, timer_cb, ms, 0);
  }
  *out = r;
  return 0;
}

void retention_stop(struct retention *r) {
  if (r == NULL || r->stopping)
    return;
  r->stopping = true;
  if (r->timer_open) {
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, NULL);
  }
}

void retention_free(struct retention *r) {
  if (r == NULL)
    return;
  /* the loop ran dry: nothing can be in flight, no waiter left */
  if (r->in_flight != 0 || r->nmv != 0)
    logq_msg(LOGQ_ERROR, "retention", "freed with work in flight");
  free(r->mv);
  free(r->queue);
  free(r->orph);
  free(r);
}
