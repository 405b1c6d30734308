/*
 * work.h: the lifetime of a handler's per-request state once the handler
 * has returned, one scheme for every resource.
 *
 * A request that outlives the callback that started it (it waits for a
 * query, a writer job, a blob store call or a streamed write) keeps its
 * state in a struct embedding struct work, first.  The work
 *
 *   - holds the connection (one http_conn_hold, released when the state
 *     is freed) and is its ctx, so the connection's abort callback reaches
 *     it (the peer went away, a body timed out, the server cut it);
 *   - counts references: the starter holds the first, work_init() to the
 *     work_unref() at the end of the starting function; work_ref() before
 *     each asynchronous operation, work_unref() once its callback has run
 *     (or when starting it failed).  Code entered from elsewhere that may
 *     end the work (stream callbacks, the events hub) holds one across;
 *   - is live until it ends: work_live() is false once the handler has
 *     answered or the connection has gone, and callbacks then only clean
 *     up;
 *   - frees the state through its free_cb exactly once: in the
 *     work_unref() that drops the last reference once the work has ended
 *     or been aborted, or in the abort callback when nothing is in flight.
 *     The model is uv_close() with the memory freed in the close callback,
 *     and redis connhelpers.h callHandler (references, close scheduled).
 *
 * The rule: call work_end() before the final response (http_respond,
 * http_problem, http_resp_end).  It detaches the state: the connection's
 * ctx, abort callback and the timer set with work_timer() are cleared.
 * Ending a response can start the next pipelined request on the same
 * connection at once (http_resp_end), and a response done while a state
 * is still attached runs its abort callback ("the handler forgot"); either
 * way the connection must no longer lead to this request's state.  The
 * state stays valid until the caller drops its reference, so the answer
 * may be built from it after work_end().  Loop thread only.
 */
#ifndef AS_HANDLERS_WORK_H
#define AS_HANDLERS_WORK_H

#include <stdbool.h>
#include <stdint.h>

#include "loop/http.h"

enum work_state {
  WORK_ATTACHED, /* the connection's ctx: live */
  WORK_ENDED,    /* detached by work_end(): answered or given up */
  WORK_ABORTED,  /* the connection went away first */
};

struct work {
  struct conn *c;
  void (*free_cb)(struct work *w);
  void (*timer_cb)(struct work *w);
  unsigned refs;           /* the starter's, one per operation in flight */
  enum work_state state;
};

/* Holds c, makes w its ctx and gives the caller the first reference. */
void work_init(struct work *w, struct conn *c,
               void (*free_cb)(struct work *w));
void work_ref(struct work *w);
/* Drops a reference; frees the state when it was the last one and the
 * work has ended or been aborted. */
void work_unref(struct work *w);
/* May the handler still answer and start operations? */
bool work_live(const struct work *w);
/* Detaches w from its connection, which it returns to answer on.  Only
 * while live; the caller must hold a reference. */
struct conn *work_end(struct work *w);
/* The connection's handler timer: cb runs (with a reference held) after
 * ms unless the work ends or is aborted first; 0 ms stops it. */
void work_timer(struct work *w, uint64_t ms, void (*cb)(struct work *w));

#endif
