/*
 * logq.h: the daemon's log, one JSON object per line on stderr, written
 * without blocking the loop.
 *
 * Lines are appended to a bounded buffer on the loop thread and written by
 * uv_fs_write on the threadpool, one write in flight at a time.  When stderr
 * cannot keep up (a full pipe nobody drains, a slow terminal) and the
 * buffer is full, lines are dropped and counted, and a
 * {"msg":"log_dropped","lines":N} line reports them once writing resumes:
 * the loop never waits for the log.  Before logq_start, and after
 * logq_stop, lines are written synchronously (start-up and exit only).
 */
#ifndef AS_LOGQ_H
#define AS_LOGQ_H

#include <jansson.h>
#include <uv.h>

#define LOGQ_BUF_MAX (1024 * 1024) /* bytes queued before lines drop */

/* Routes lines through the loop from now on. */
int logq_start(uv_loop_t *loop);
/* Writes what is queued (synchronously: call after the loop has stopped
 * serving) and returns to synchronous mode.  No handle or request of the
 * loop stays behind. */
void logq_stop(void);
/* Appends o as one compact JSON line; takes ownership of o (may be NULL). */
void logq_json(json_t *o);

#endif
