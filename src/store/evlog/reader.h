/*
 * reader.h: reads of the event-log database on the uv threadpool, never on
 * the loop.  A pool of read-only connections (the database lets them run
 * beside the writer); a read job borrows one, runs inside one read
 * transaction (so several statements see one snapshot), returns it.
 *
 * Shaped like uv_queue_work: the caller embeds struct reader_job in its
 * own struct and brings a run callback (pool thread, with the connection)
 * and a done callback (loop thread).  The pool knows nothing of what is
 * read.
 */
#ifndef AS_READER_H
#define AS_READER_H

#include <uv.h>

#include "store/evlog/evlog.h"
#include "util/common.h"

#define READER_MAX_CONN 16

struct reader;
struct reader_job;

/* Pool thread, inside a read transaction: 0 or an error (message in e). */
typedef int (*reader_run_cb)(struct reader_job *j, struct evlog_db *db,
                             struct errbuf *e);
/* Loop thread, once: status is what run returned, or UV_ECANCELED; msg
 * holds run's message. */
typedef void (*reader_done_cb)(struct reader_job *j, int status);

struct reader_job {
  struct errbuf msg;
  /* private to the pool */
  uv_work_t work;
  struct reader *pool;
  reader_run_cb run;
  reader_done_cb done;
  int status;
};

/* Opens nconn (1..READER_MAX_CONN) read-only connections on the database
 * the writer created.  Synchronous; call before the loop runs. */
int reader_open(uv_loop_t *loop, const char *location, unsigned nconn,
                struct reader **out, struct errbuf *e);
/* Every job must have completed. */
void reader_close(struct reader *r);
/* Queues j (loop thread): 0, or an error (done will not run). */
int reader_submit(struct reader *r, struct reader_job *j, reader_run_cb run,
                  reader_done_cb done);

#endif
