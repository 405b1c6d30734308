/*
 * writer.c: the single SQLite writer thread (see writer.h).
 *
 * Hand-off: the loop pushes jobs onto `queue` under `mu` and signals `cv`.
 * The thread takes the whole queue, runs it as one batch:
 *   BEGIN (write)
 *     SAVEPOINT req; job->run: <validate, emit events>; RELEASE req
 *     (or ROLLBACK TO req; RELEASE req when the job fails: alone)
 *   stamp state.last_sequence
 *   COMMIT                      durable when it returns
 * then moves the jobs and the batch's events onto `done` and wakes the loop
 * with uv_async_send.  Sends coalesce, so writer_async_cb drains everything.
 * The thread touches only jobs and its own connection, never handles.
 *
 * Until the loop has run a batch's result callbacks (`done` handed over,
 * then `delivering`), the thread does not start the next batch: requests
 * those callbacks submit are gathered into one batch instead of the first
 * waking the thread alone, and submit wakes the thread only when it could
 * take the job.
 *
 * Sequence numbers and the chain digest are kept in memory by the thread
 * (last_seq, last_chain) and restored when a job or a batch rolls back, so
 * the log stays gapless.
 */
#include "store/evlog/writer.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/evlog/chain.h"
#include "store/evlog/log.h"

struct evvec {
  struct event_rec **v;
  size_t n, cap;
};

struct wtx {
  struct evlog_db *db;
  const struct evlog_domain *dom;
  int64_t last_seq;
  uint8_t last_chain[DIGEST_LEN];
  struct evvec events;           /* emitted in the current batch */
  struct uuid last_id;           /* newest id made (wtx_new_id) */
  unsigned test_rollback_after;  /* writer_test_rollback, this batch */
  int broken;                    /* EVLOG_ECORRUPT once seen, or the
                                  * cause of writer_refuse: no more
                                  * batches (see writer_run_batch) */
  char broken_why[256];
};

struct writer {
  uv_loop_t *loop;
  uv_async_t async;
  uv_thread_t thread;
  uv_mutex_t mu;
  uv_cond_t cv;
  /* guarded by mu */
  struct writer_job *head, *tail; /* queued, FIFO */
  int refused;                    /* writer_refuse: its cause */
  char refused_why[256];
  struct writer_job *done_head, *done_tail;
  struct evvec done_events;
  bool stopping, exited, held;
  unsigned test_rollback_after; /* test hook: see writer_test_rollback */
  bool delivering;               /* the loop is running result callbacks */
  struct writer_stats stats;
  /* writer thread only */
  struct wtx tx;
  /* loop thread only */
  bool closing, joined;
  writer_commit_cb commit_cb;
  void *commit_arg;
  void (*close_cb)(void *arg);
  void *close_arg;
};

/* ---- event vectors ------------------------------------------------------ */

static int evvec_push(struct evvec *v, struct event_rec *ev) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 64;
    struct event_rec **nv = realloc(v->v, cap * sizeof *nv);
    if (nv == NULL)
      return UV_ENOMEM;
    v->v = nv;
    v->cap = cap;
  }
  v->v[v->n++] = ev;
  return 0;
}

static void evvec_truncate(struct evvec *v, size_t n) {
  while (v->n > n)
    free(v->v[--v->n]);
}

static int evvec_append(struct evvec *dst, struct evvec *src) {
  for (size_t i = 0; i < src->n; i++) {
    if (evvec_push(dst, src->v[i]) != 0) {
      /* Out of memory: the ring misses these events (readers fall back
       * to SQLite); the events themselves are committed.  v[0..i) now
       * belong to dst: free only the rest. */
      for (size_t k = i; k < src->n; k++)
        free(src->v[k]);
      src->n = 0;
      return UV_ENOMEM;
    }
  }
  src->n = 0;
  return 0;
}

static void evvec_free(struct evvec *v) {
  evvec_truncate(v, 0);
  free(v->v);
  memset(v, 0, sizeof *v);
}

/* ---- transaction context (writer thread) -------------------------------- */

struct evlog_db *wtx_db(struct wtx *tx) {
  return tx->db;
}

int64_t wtx_last_sequence(const struct wtx *tx) {
  return tx->last_seq;
}

void wtx_new_id(struct wtx *tx, uint64_t unix_ms, struct uuid *out) {
  uuid_v7(unix_ms, out);
  if (memcmp(out->b, tx->last_id.b, UUID_LEN) <= 0) {
    /* Count up in the random bits (bytes 9..15), keeping version and
     * variant; 2^56 ids in one millisecond never happen. */
    *out = tx->last_id;
    for (int i = UUID_LEN - 1; i >= 9; i--)
      if (++out->b[i] != 0)
        break;
  }
  tx->last_id = *out;
}

int wtx_emit(struct wtx *tx, const struct event_rec *in, struct errbuf *e) {
  struct event_rec ev = *in, *rec;
  int rc;

  ev.sequence = tx->last_seq + 1;
  evlog_payload_digest(ev.payload, ev.payload_len, ev.payload_digest);
  if (evlog_chain_digest(tx->last_seq > 0 ? tx->last_chain : NULL, &ev,
                         ev.chain_digest) != 0)
    return err_set(e, UV_EINVAL,
                   "event type, subject kind or actor is longer than %d "
                   "bytes",
                   EVLOG_TEXT_MAX);
  if ((rc = evlog_append(tx->db, &ev, e)) != 0)
    return rc;
  /* state.last_sequence is stamped once per batch (writer_run_batch). */
  if ((rc = tx->dom->apply(tx->db, &ev, e)) != 0)
    return rc;
  rec = event_rec_dup(&ev);
  if (rec == NULL || evvec_push(&tx->events, rec) != 0) {
    free(rec);
    return err_set(e, UV_ENOMEM, "out of memory recording an event");
  }
  tx->last_seq = ev.sequence;
  memcpy(tx->last_chain, ev.chain_digest, DIGEST_LEN);
  return 0;
}

/* ---- batches (writer thread) -------------------------------------------- */

/* The writer failed a job whose run had succeeded: nothing of it stays. */
static void writer_fail(struct writer_job *j, const char *what, int rc,
                        struct errbuf *e) {
  j->status = rc < 0 ? rc : UV_EIO;
  err_set(&j->msg, j->status, "%s: %s", what, err_msg(e, rc));
}

static const char writer_savepoint_sql[] = "SAVEPOINT req";
static const char writer_release_sql[] = "RELEASE req";
static const char writer_rollback_sql[] = "ROLLBACK TO req";

/* Runs a cached statement without results. */
static int writer_step(struct wtx *tx, const char *sql, struct errbuf *e) {
  struct evlog_stmt *st;
  int rc = evlog_stmt(tx->db, sql, &st, e);

  return rc != 0 ? rc : evlog_run(st, sql, e);
}

static void writer_run_job(struct writer *w, struct writer_job *j) {
  struct wtx *tx = &w->tx;
  int64_t seq0 = tx->last_seq;
  uint8_t chain0[DIGEST_LEN];
  size_t nev0 = tx->events.n;
  struct errbuf e = {{0}};
  int rc;

  memcpy(chain0, tx->last_chain, DIGEST_LEN);
  j->status = 0;
  if ((rc = writer_step(tx, writer_savepoint_sql, &e)) != 0) {
    writer_fail(j, "could not start the request", rc, &e);
    return;
  }
  j->status = j->run(j, tx);
  if (j->status == 0) {
    if ((rc = writer_step(tx, writer_release_sql, &e)) == 0)
      return;
    writer_fail(j, "could not complete the request", rc, &e);
  }
  writer_step(tx, writer_rollback_sql, NULL);
  writer_step(tx, writer_release_sql, NULL);
  evvec_truncate(&tx->events, nev0);
  tx->last_seq = seq0;
  memcpy(tx->last_chain, chain0, DIGEST_LEN);
}

/* The log's end as committed (an empty log leaves tx as it is). */
static int writer_read_tail(struct wtx *tx, struct errbuf *e) {
  uint8_t chain[DIGEST_LEN];
  int64_t seq;
  int rc = evlog_tail(tx->db, &seq, chain, e);

  if (rc == 0 && seq > 0) {
    tx->last_seq = seq;
    memcpy(tx->last_chain, chain, DIGEST_LEN);
  }
  return rc;
}

static int writer_rolled_back(struct wtx *tx, struct errbuf *e) {
  return err_set(e, UV_EIO,
                 "the database rolled back the batch (%s); nothing of it "
                 "was stored",
                 evlog_errmsg(tx->db));
}

static void writer_run_batch(struct writer *w, struct writer_job *batch) {
  struct wtx *tx = &w->tx;
  int64_t seq0 = tx->last_seq;
  uint8_t chain0[DIGEST_LEN];
  struct errbuf e = {{0}};
  int rc;

  memcpy(chain0, tx->last_chain, DIGEST_LEN);
  /* A database that reported damage takes no more writes: what it holds
   * must be checked (--verify-log) and restored, not extended. */
  if (tx->broken != 0) {
    for (struct writer_job *j = batch; j != NULL; j = j->next) {
      j->status = tx->broken;
      err_set(&j->msg, tx->broken, "%s", tx->broken_why);
    }
    return;
  }
  rc = evlog_begin(tx->db, true, &e);
  if (rc == 0) {
    for (struct writer_job *j = batch; j != NULL; j = j->next) {
      /* Some errors (IOERR, FULL, NOMEM) make a database roll back the
       * whole transaction, savepoints and all.  Then nothing of this
       * batch is in the database any more, and a SAVEPOINT now would open
       * a transaction of its own that RELEASE commits: stop here and fail
       * every job of the batch. */
      if (!evlog_in_tx(tx->db)) {
        rc = writer_rolled_back(tx, &e);
        break;
      }
      writer_run_job(w, j);
      if (tx->test_rollback_after != 0 && --tx->test_rollback_after == 0)
        evlog_rollback(tx->db); /* as an I/O error does */
    }
    if (rc == 0 && !evlog_in_tx(tx->db))
      rc = writer_rolled_back(tx, &e);
    /* One stamp for the batch, after its last job, in its transaction:
     * the views stay exactly at the log's end. */
    if (rc == 0 && tx->last_seq != seq0)
      rc = evlog_stamp(tx->db, tx->last_seq, &e);
    if (rc == 0)
      rc = evlog_commit(tx->db, &e);
    if (rc != 0)
      evlog_rollback(tx->db);
  }
  if (rc != 0) {
    if (rc == EVLOG_ECORRUPT && tx->broken == 0) {
      tx->broken = rc;
      snprintf(tx->broken_why, sizeof tx->broken_why,
               "the database file is damaged; writes stopped: stop the "
               "daemon and run artifactstored --verify-log");
    }
    for (struct writer_job *j = batch; j != NULL; j = j->next)
      if (j->status == 0)
        writer_fail(j, "could not commit", rc, &e);
    evvec_truncate(&tx->events, 0);
    tx->last_seq = seq0;
    memcpy(tx->last_chain, chain0, DIGEST_LEN);
    /* take the log's end from what is committed, not from what we
     * believe, so the next sequence follows the real last row */
    (void)writer_read_tail(tx, NULL);
  }
}

static void writer_thread(void *arg) {
  struct writer *w = arg;

  for (;;) {
    struct writer_job *batch, *last;
    uint64_t n = 0;

    uv_mutex_lock(&w->mu);
    /* Until the loop has run the previous batch's result callbacks
     * (done is handed over, then delivering), the requests they submit
     * are gathered into the next batch instead of waking us one by one,
     * and a batch that was split once does not stay split in two halves
     * that each pay a commit. */
    while ((w->head == NULL || w->held || w->delivering ||
            w->done_head != NULL) &&
           !w->stopping)
      uv_cond_wait(&w->cv, &w->mu);
    batch = w->head;
    last = w->tail;
    w->head = w->tail = NULL;
    if (w->refused != 0 && w->tx.broken == 0) {
      w->tx.broken = w->refused;
      memcpy(w->tx.broken_why, w->refused_why, sizeof w->refused_why);
    }
    w->tx.test_rollback_after = w->test_rollback_after;
    w->test_rollback_after = 0;
    uv_mutex_unlock(&w->mu);
    if (batch == NULL)
      break; /* stopping, and everything queued is done */

    for (struct writer_job *j = batch; j != NULL; j = j->next)
      n++;
    writer_run_batch(w, batch);

    uv_mutex_lock(&w->mu);
    if (w->done_tail != NULL)
      w->done_tail->next = batch;
    else
      w->done_head = batch;
    w->done_tail = last;
    evvec_append(&w->done_events, &w->tx.events);
    w->stats.batches++;
    w->stats.requests += n;
    if (n > w->stats.max_batch)
      w->stats.max_batch = n;
    if (n > 1)
      w->stats.multi_batches++;
    w->stats.last_sequence = w->tx.last_seq;
    uv_mutex_unlock(&w->mu);
    uv_async_send(&w->async);
  }

  evlog_close(w->tx.db);
  w->tx.db = NULL;
  uv_mutex_lock(&w->mu);
  w->exited = true;
  uv_mutex_unlock(&w->mu);
  uv_async_send(&w->async);
}

/* ---- loop side ----------------------------------------------------------- */

static void writer_closed_cb(uv_handle_t *h) {
  struct writer *w = h->data;
  void (*cb)(void *) = w->close_cb;
  void *arg = w->close_arg;

  uv_cond_destroy(&w->cv);
  uv_mutex_destroy(&w->mu);
  evvec_free(&w->done_events);
  evvec_free(&w->tx.events);
  free(w);
  if (cb != NULL)
    cb(arg);
}

static void writer_deliver_events(struct writer *w, struct evvec *evs) {
  struct event_rec *flat;

  if (evs->n == 0 || w->commit_cb == NULL)
    return;
  flat = malloc(evs->n * sizeof *flat);
  if (flat == NULL)
    return; /* the ring misses them; tails fall back to SQLite */
  for (size_t i = 0; i < evs->n; i++)
    flat[i] = *evs->v[i];
  w->commit_cb(flat, evs->n, w->commit_arg);
  free(flat);
}

static void writer_async_cb(uv_async_t *a) {
  struct writer *w = a->data;
  struct evvec evs;
  struct writer_job *done;
  bool exited;

  uv_mutex_lock(&w->mu);
  done = w->done_head;
  w->done_head = w->done_tail = NULL;
  evs = w->done_events;
  memset(&w->done_events, 0, sizeof w->done_events);
  exited = w->exited;
  w->delivering = done != NULL;
  uv_mutex_unlock(&w->mu);

  /* Events first: a caller told "done" can find them in the ring. */
  writer_deliver_events(w, &evs);
  evvec_free(&evs);
  while (done != NULL) {
    struct writer_job *j = done;
    done = j->next;
    j->done(j, j->status); /* may free j */
  }
  uv_mutex_lock(&w->mu);
  if (w->delivering) {
    w->delivering = false;
    uv_cond_signal(&w->cv);
  }
  uv_mutex_unlock(&w->mu);
  if (exited && !w->joined) {
    w->joined = true;
    uv_thread_join(&w->thread); /* it has returned or is returning */
    uv_close((uv_handle_t *)&w->async, writer_closed_cb);
  }
}

static int writer_load_tail(struct writer *w, const char *path,
                            struct errbuf *e) {
  struct errbuf te = {{0}};
  int64_t applied = -1;
  int rc;

  rc = writer_read_tail(&w->tx, &te);
  if (rc == UV_EPROTO) /* a malformed row: say which database */
    return err_set(e, rc, "database %s: %s", path, err_msg(&te, rc));
  if (rc != 0)
    return err_set(e, rc, "%s", err_msg(&te, rc));
  rc = evlog_applied(w->tx.db, &applied, "reading the end of the event log",
                     e);
  if (rc != 0 && rc != UV_ENOENT) /* no state row: mismatch reported below */
    return rc;
  if (applied != w->tx.last_seq)
    return err_set(e, UV_EPROTO,
                   "database %s: the views were built up to event %lld but "
                   "the log ends at %lld: run artifactstored --verify-log, "
                   "then --replay",
                   path, (long long)applied, (long long)w->tx.last_seq);
  return 0;
}

int writer_open(uv_loop_t *loop, const char *location,
                const struct evlog_domain *dom, struct writer **out,
                struct errbuf *e) {
  struct writer *w;
  int rc;

  *out = NULL;
  if (sodium_init() < 0)
    return err_set(e, UV_EIO, "libsodium failed to initialise");
  w = calloc(1, sizeof *w);
  if (w == NULL)
    return err_set(e, UV_ENOMEM, "out of memory");
  w->loop = loop;
  w->tx.dom = dom;
  if ((rc = evlog_open(location, EVLOG_RW, &w->tx.db, e)) != 0)
    goto fail;
  if ((rc = writer_load_tail(w, location, e)) != 0)
    goto fail;
  w->stats.last_sequence = w->tx.last_seq;
  if ((rc = uv_mutex_init(&w->mu)) != 0) {
    err_set(e, rc, "uv_mutex_init: %s", uv_strerror(rc));
    goto fail;
  }
  if ((rc = uv_cond_init(&w->cv)) != 0) {
    err_set(e, rc, "uv_cond_init: %s", uv_strerror(rc));
    uv_mutex_destroy(&w->mu);
    goto fail;
  }
  if ((rc = uv_async_init(loop, &w->async, writer_async_cb)) != 0) {
    err_set(e, rc, "uv_async_init: %s", uv_strerror(rc));
    goto fail_sync;
  }
  w->async.data = w;
  if ((rc = uv_thread_create(&w->thread, writer_thread, w)) != 0) {
    err_set(e, rc, "cannot start the writer thread: %s", uv_strerror(rc));
    /* The handle must be closed through the loop: free w in its close_cb
     * by pretending the thread already exited. */
    evlog_close(w->tx.db);
    w->tx.db = NULL;
    w->joined = true;
    uv_close((uv_handle_t *)&w->async, writer_closed_cb);
    return rc;
  }
  *out = w;
  return 0;
fail_sync:
  uv_cond_destroy(&w->cv);
  uv_mutex_destroy(&w->mu);
fail:
  evlog_close(w->tx.db);
  free(w);
  return rc;
}

void writer_set_commit_cb(struct writer *w, writer_commit_cb cb, void *arg) {
  w->commit_cb = cb;
  w->commit_arg = arg;
}

void writer_close(struct writer *w, void (*done_cb)(void *arg), void *arg) {
  assert(!w->closing);
  w->closing = true;
  w->close_cb = done_cb;
  w->close_arg = arg;
  uv_mutex_lock(&w->mu);
  w->stopping = true;
  uv_cond_signal(&w->cv);
  uv_mutex_unlock(&w->mu);
}

void writer_get_stats(struct writer *w, struct writer_stats *out) {
  uv_mutex_lock(&w->mu);
  *out = w->stats;
  uv_mutex_unlock(&w->mu);
}

void writer_hold(struct writer *w, bool hold) {
  uv_mutex_lock(&w->mu);
  w->held = hold;
  uv_cond_signal(&w->cv);
  uv_mutex_unlock(&w->mu);
}

void writer_test_rollback(struct writer *w, unsigned after) {
  uv_mutex_lock(&w->mu);
  w->test_rollback_after = after;
  uv_mutex_unlock(&w->mu);
}

/* ---- submitting ---------------------------------------------------------- */

int writer_submit(struct writer *w, struct writer_job *j, writer_run_cb run,
                  writer_done_cb done) {
  bool wake;

  if (w->closing)
    return UV_ECANCELED;
  j->run = run;
  j->done = done;
  j->next = NULL;
  j->status = 0;
  j->msg.msg[0] = '\0';
  uv_mutex_lock(&w->mu);
  /* Wake the thread only when it can take the job: not while it is held
   * or the loop is delivering (the end of either signals), and not for
   * a queue it has been told about already.  Jobs submitted from done
   * callbacks then cost no futile wake-up each. */
  wake = w->head == NULL && !w->held && !w->delivering &&
         w->done_head == NULL;
  if (w->tail != NULL)
    w->tail->next = j;
  else
    w->head = j;
  w->tail = j;
  if (wake)
    uv_cond_signal(&w->cv);
  uv_mutex_unlock(&w->mu);
  return 0;
}

void writer_refuse(struct writer *w, int cause, const char *why) {
  uv_mutex_lock(&w->mu);
  if (w->refused == 0) {
    w->refused = cause < 0 ? cause : UV_EIO;
    snprintf(w->refused_why, sizeof w->refused_why, "%s", why);
  }
  uv_mutex_unlock(&w->mu);
}
