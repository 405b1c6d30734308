/*
 * writer.h: the single writer thread of the event log.
 *
 * One thread owns the only read-write connection.  The loop submits jobs;
 * the thread takes everything queued and runs it as one batch: one
 * transaction with a SAVEPOINT per job (a failing job rolls back alone),
 * one commit for all (group commit), then hands the jobs back to the loop
 * with uv_async_send.  A job's done callback runs on the loop thread only
 * after its commit is durable.
 *
 * The writer knows nothing of what jobs do, as libuv's threadpool knows
 * nothing of uv_queue_work's callbacks: a job brings its run callback
 * (writer thread, inside its savepoint) and its done callback (loop
 * thread), and keeps its own result.  The writer owns batching,
 * savepoints, the sequence and the chain digest (wtx_emit), the commit,
 * and the hand-back.  Each emitted event is applied to the views by the
 * domain's apply function given at open (domain.h), the same one replay
 * uses.
 */
#ifndef AS_WRITER_H
#define AS_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "store/evlog/domain.h"
#include "store/evlog/event.h"
#include "store/evlog/evlog.h"
#include "util/common.h"

struct writer;
struct wtx; /* the batch transaction, seen by run callbacks */
struct writer_job;

/* Writer thread, inside the job's savepoint.  Returns 0 to keep what it
 * did, or non-zero (the job's own error) to roll its savepoint back. */
typedef int (*writer_run_cb)(struct writer_job *j, struct wtx *tx);
/* Loop thread, once.  status is 0 when the job's changes are committed.
 * Otherwise nothing of the job is stored, and status is either what run
 * returned (the job's own error: its result says why, j->msg is empty) or,
 * when run returned 0, the negative error with which the writer could not
 * keep its changes (j->msg says why; never empty).  Once a batch failed
 * with EVLOG_ECORRUPT (a damaged database file), every later job fails
 * with it too, without touching the database. */
typedef void (*writer_done_cb)(struct writer_job *j, int status);

/* Embedded by the caller in its own job struct (container_of), which it
 * owns: the writer never frees a job. */
struct writer_job {
  writer_run_cb run;
  writer_done_cb done;
  struct errbuf msg;             /* set with a writer failure */
  /* private to the writer */
  struct writer_job *next;
  int status;
};

/* Called on the loop thread after every commit with the new events in
 * sequence order (for the in-memory ring and long-poll wake-ups). */
typedef void (*writer_commit_cb)(const struct event_rec *evs, size_t n,
                                 void *arg);

struct writer_stats {
  uint64_t batches;              /* committed transactions */
  uint64_t requests;             /* jobs processed */
  uint64_t max_batch;            /* largest batch seen */
  uint64_t multi_batches;        /* batches holding more than one job */
  int64_t last_sequence;
};

/* Opens the database (creating it, applying migrations), checks that the
 * views are built up to the log's end, starts the thread.  Synchronous;
 * call before the loop runs.  dom must outlive the writer. */
int writer_open(uv_loop_t *loop, const char *location,
                const struct evlog_domain *dom, struct writer **out,
                struct errbuf *e);
void writer_set_commit_cb(struct writer *w, writer_commit_cb cb, void *arg);
/* Stops accepting, drains the queue, joins the thread, closes the
 * database, and calls done_cb on the loop thread; w is freed after. */
void writer_close(struct writer *w, void (*done_cb)(void *arg), void *arg);
void writer_get_stats(struct writer *w, struct writer_stats *out);
/* From the next batch on, every job (those already queued too) fails
 * with cause (negative) and the sentence why, without touching the
 * database: for a store the daemon must stop extending (its directory or
 * file replaced, damage seen by a read).  The first cause is kept. */
void writer_refuse(struct writer *w, int cause, const char *why);
/* Queues j (loop thread).  0, or UV_ECANCELED once closing (done will
 * not run). */
int writer_submit(struct writer *w, struct writer_job *j, writer_run_cb run,
                  writer_done_cb done);

/* Test hook: while held, the thread takes no new work; releasing it lets
 * the thread take everything queued meanwhile as one batch. */
void writer_hold(struct writer *w, bool hold);
/* Test hook: in the next batch, after its `after`-th job, roll the whole
 * transaction back the way a database does on an I/O error or a full
 * disk.  0 turns it off. */
void writer_test_rollback(struct writer *w, unsigned after);

/* --- for run callbacks (writer thread) --- */

/* The connection, inside the batch transaction and the job's savepoint. */
struct evlog_db *wtx_db(struct wtx *tx);

/* Appends an event with the fields of ev as the next one and applies it
 * to the views: the writer gives it its sequence and its payload and
 * chain digests (whatever ev holds there is ignored).  0, UV_EINVAL (a
 * text field too long), or an error with a message in e. */
int wtx_emit(struct wtx *tx, const struct event_rec *ev, struct errbuf *e);
int64_t wtx_last_sequence(const struct wtx *tx);
/* A UUIDv7 for unix_ms, strictly greater than every id this writer made
 * before (RFC 9562 6.2 method 2: within one millisecond, or if the clock
 * steps back, the previous id plus one), so ids sort in creation order. */
void wtx_new_id(struct wtx *tx, uint64_t unix_ms, struct uuid *out);

#endif
