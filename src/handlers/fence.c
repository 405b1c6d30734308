/*
 * fence.c: what the daemon has learnt about its store while running, and
 * the fence that refuses writes which could not last.
 *
 * Two states live in app->fence (handlers.h):
 *
 *   - refused: the database reported damage (EVLOG_ECORRUPT, from any
 *     read or write), or the health monitor saw the data directory or the
 *     database file removed or replaced.  Every write is answered 503
 *     (database-corrupt or store-unavailable) before any work is done,
 *     until the daemon restarts: extending a damaged log, or a log nobody
 *     will ever open again, would acknowledge writes that are lost.
 *   - failing: the last write failed for a reason of the disk (full, I/O
 *     error).  Writes are still tried; /health reports "writes":"failing"
 *     until one succeeds.
 *
 * Loop thread only.
 */
#include <stdarg.h>
#include <stdio.h>

#include "handlers/internal.h"
#include "store/evlog/evlog.h"
#include "util/logq.h"

void fence_refuse(struct app *app, int cause, const char *fmt, ...) {
  struct store_fence *f = &app->fence;
  va_list ap;

  if (f->refused != 0)
    return; /* the first cause is the one to act on */
  f->refused = cause;
  va_start(ap, fmt);
  vsnprintf(f->refused_why, sizeof f->refused_why, fmt, ap);
  va_end(ap);
  logq_log(LOGQ_ERROR, json_pack("{s:s, s:s}", "msg", "writes refused",
                                 "detail", f->refused_why));
  /* also what is queued already, and writers that are not handlers (the
   * sweeper, the collector) */
  if (app->writer != NULL)
    writer_refuse(app->writer, cause, f->refused_why);
}

void fence_write_failed(struct app *app, int cause, const char *fmt, ...) {
  struct store_fence *f = &app->fence;
  va_list ap;

  if (f->failing == 0)
    logq_log(LOGQ_ERROR, json_pack("{s:s, s:s}", "msg", "writes failing",
                                   "error", uv_err_name(cause)));
  f->failing = cause;
  va_start(ap, fmt);
  vsnprintf(f->failing_why, sizeof f->failing_why, fmt, ap);
  va_end(ap);
}

void fence_write_ok(struct app *app) {
  struct store_fence *f = &app->fence;

  if (f->failing == 0)
    return;
  f->failing = 0;
  f->failing_why[0] = '\0';
  logq_json(json_pack("{s:s}", "msg", "writes succeed again"));
}

static void fence_corrupt(struct app *app, const char *what,
                          const char *why) {
  fence_refuse(app, EVLOG_ECORRUPT,
               "the database file is damaged (%s: %s); writes are refused: "
               "stop the daemon, run artifactstored --verify-log and restore "
               "the data directory from a backup (docs/OPERATOR.md, "
               "Recovery)",
               what, why);
}

bool fence_answer(struct conn *c) {
  const struct store_fence *f = &handlers_app(c)->fence;

  if (f->refused == 0)
    return false;
  http_problem(c,
               f->refused == EVLOG_ECORRUPT ? PROB_DATABASE_CORRUPT
                                            : PROB_STORE_UNAVAILABLE,
               "%s", f->refused_why);
  return true;
}

bool fence_db_error(struct conn *c, int status, const char *what,
                    const char *why) {
  if (status != EVLOG_ECORRUPT)
    return false;
  fence_corrupt(handlers_app(c), what, why);
  return fence_answer(c);
}

void fence_reg_outcome(struct app *app, const struct reg_result *res) {
  const char *why;

  if (res->error == REG_OK) {
    fence_write_ok(app);
    return;
  }
  if (res->error != REG_INTERNAL || res->status == 0 ||
      res->status == UV_ENOMEM)
    return; /* the request's own fault, or memory: not the disk */
  /* (uv_strerror allocates for codes it does not know, such as 0) */
  why = res->msg.msg[0] != '\0' ? res->msg.msg : uv_strerror(res->status);
  if (res->status == EVLOG_ECORRUPT)
    fence_corrupt(app, "writing", why);
  else
    fence_write_failed(app, res->status, "writing the database failed: %s",
                       why);
}
