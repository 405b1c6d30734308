/*
 * logq.h: the daemon's log, one JSON object per line, written without
 * blocking the loop.
 *
 * Every line starts with "ts" (RFC 3339 UTC with microseconds,
 * 2026-12-02T17:01:30.979642Z) and "level" ("info", "warning" or
 * "error"), then the members the caller gave.  Lines go to stderr, or to
 * the file logq_open_file() opened (--log-file); logq_reopen() opens that
 * path again (SIGHUP, after logrotate moved the file).
 *
 * Lines are appended to a bounded buffer on the loop thread and written by
 * uv_fs_write on the threadpool, one write in flight at a time.  When the
 * log cannot keep up (a full pipe nobody drains, a slow terminal) and the
 * buffer is full, lines are dropped and counted, and a
 * {"msg":"log_dropped","lines":N} line reports them once writing resumes:
 * the loop never waits for the log.  Before logq_start, and after
 * logq_stop, lines are written synchronously (start-up and exit only);
 * error lines written then also go to stderr when a log file is in use,
 * so whoever started the daemon sees why it refused.
 */
#ifndef AS_LOGQ_H
#define AS_LOGQ_H

#include <jansson.h>
#include <uv.h>

#include "util/common.h"

#define LOGQ_BUF_MAX (1024 * 1024) /* bytes queued before lines drop */
#define LOGQ_TS_LEN 27             /* "2026-12-02T17:01:30.979642Z" */

enum logq_level { LOGQ_INFO, LOGQ_WARNING, LOGQ_ERROR };

/* Opens path (O_APPEND|O_CREAT, mode 0640) as the log instead of stderr,
 * before serving.  0, or a negative error with a message in e. */
int logq_open_file(const char *path, struct errbuf *e);
/* Opens the log file's path again (loop thread, or before logq_start):
 * the lines queued so far go to the old file, every later one to the new,
 * none lost; then logs {"msg":"reopened log"}.  A failure is logged (to
 * the old file, kept).  Nothing to do when the log is stderr. */
void logq_reopen(void);
/* Closes the log file (at exit, after the last line); stderr again. */
void logq_close_file(void);

/* Routes lines through the loop from now on. */
int logq_start(uv_loop_t *loop);
/* Writes what is queued (synchronously: call after the loop has stopped
 * serving) and returns to synchronous mode.  No handle or request of the
 * loop stays behind. */
void logq_stop(void);
/* Appends o as one compact JSON line at level lv; takes ownership of o
 * (may be NULL). */
void logq_log(enum logq_level lv, json_t *o);
/* The same at level "info", unless o holds a "level" member naming
 * another ("warning", "error"). */
void logq_json(json_t *o);
/* {"msg":msg,"detail":detail} at level lv (detail may be NULL). */
void logq_msg(enum logq_level lv, const char *msg, const char *detail);
/* The current time as RFC 3339 UTC with microseconds, NUL-terminated. */
void logq_timestamp(char out[LOGQ_TS_LEN + 1]);

#endif
