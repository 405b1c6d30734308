/*
 * writer.c: the single SQLite writer thread (see writer.h).
 *
 * Hand-off: the loop pushes jobs onto `queue` under `mu` and signals `cv`.
 * The thread takes the whole queue, runs it as one batch:
 *   BEGIN IMMEDIATE
 *     SAVEPOINT req; <validate, emit events, apply views>; RELEASE req
 *     (or ROLLBACK TO req; RELEASE req when the job fails: alone)
 *   COMMIT                      durable: WAL + synchronous=FULL
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
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/evlog/sqlite/db.h"
#include "store/evlog/chain.h"
#include "store/registry/views.h"
#include "store/evlog/wtx.h"

#define WRITER_STMT_CACHE 16

struct evvec {
  struct event_rec **v;
  size_t n, cap;
};

struct wtx {
  sqlite3 *db;
  struct views *views;
  struct {
    const char *sql;
    sqlite3_stmt *st;
  } cache[WRITER_STMT_CACHE];
  int64_t last_seq;
  uint8_t last_chain[DIGEST_LEN];
  struct evvec events;           /* emitted in the current batch */
  struct uuid last_id;           /* newest id made (wtx_new_id) */
  unsigned test_rollback_after;  /* writer_test_rollback, this batch */
};

struct writer {
  uv_loop_t *loop;
  uv_async_t async;
  uv_thread_t thread;
  uv_mutex_t mu;
  uv_cond_t cv;
  /* guarded by mu */
  struct wjob *head, *tail;      /* queued, FIFO */
  struct wjob *done_head, *done_tail;
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

sqlite3 *wtx_db(struct wtx *tx) {
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

sqlite3_stmt *wtx_stmt(struct wtx *tx, const char *sql, int *rc) {
  size_t i;

  for (i = 0; i < WRITER_STMT_CACHE && tx->cache[i].sql != NULL; i++) {
    if (tx->cache[i].sql == sql) {
      sqlite3_reset(tx->cache[i].st);
      sqlite3_clear_bindings(tx->cache[i].st);
      *rc = SQLITE_OK;
      return tx->cache[i].st;
    }
  }
  if (i == WRITER_STMT_CACHE) {
    *rc = SQLITE_NOMEM; /* more distinct statements than the cache holds */
    return NULL;
  }
  *rc = sqlite3_prepare_v3(tx->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                           &tx->cache[i].st, NULL);
  if (*rc != SQLITE_OK)
    return NULL;
  tx->cache[i].sql = sql;
  return tx->cache[i].st;
}

static const char writer_insert_sql[] =
    "INSERT INTO events (sequence, created_at, event_type, subject_kind, "
    "subject_id, actor, payload, payload_digest, chain_digest) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

int wtx_emit(struct wtx *tx, const char *event_type, const char *subject_kind,
             const struct uuid *subject_id, const char *actor,
             int64_t created_at, const uint8_t *payload, size_t payload_len,
             struct errbuf *e) {
  struct event_rec ev, *rec;
  sqlite3_stmt *st;
  int rc;

  memset(&ev, 0, sizeof ev);
  ev.sequence = tx->last_seq + 1;
  ev.created_at = created_at;
  ev.event_type = event_type;
  ev.subject_kind = subject_kind;
  ev.subject_id = *subject_id;
  ev.actor = actor;
  ev.payload = payload;
  ev.payload_len = payload_len;
  evlog_payload_digest(payload, payload_len, ev.payload_digest);
  if (evlog_chain_digest(tx->last_seq > 0 ? tx->last_chain : NULL, &ev,
                         ev.chain_digest) != 0)
    return err_set(e, UV_EINVAL, "actor is longer than %d bytes",
                   EVLOG_TEXT_MAX);

  st = wtx_stmt(tx, writer_insert_sql, &rc);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int64(st, 1, ev.sequence);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int64(st, 2, ev.created_at);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 3, event_type, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 4, subject_kind, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 5, subject_id->b, UUID_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 6, actor, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 7, payload, (int)payload_len, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 8, ev.payload_digest, DIGEST_LEN,
                           SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_blob(st, 9, ev.chain_digest, DIGEST_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (st != NULL)
    sqlite3_reset(st);
  if (rc != SQLITE_DONE)
    return db_err(tx->db, rc, "appending an event", e);
  /* state.last_sequence is stamped once per batch (writer_run_batch). */
  if ((rc = views_apply_event(tx->views, &ev, e)) != 0)
    return rc;
  rec = evlog_rec_new(&ev);
  if (rec == NULL || evvec_push(&tx->events, rec) != 0) {
    free(rec);
    return err_set(e, UV_ENOMEM, "out of memory recording an event");
  }
  tx->last_seq = ev.sequence;
  memcpy(tx->last_chain, ev.chain_digest, DIGEST_LEN);
  return 0;
}

/* ---- batches (writer thread) -------------------------------------------- */

static void writer_fail(struct wjob *j, const char *what, int rc,
                        struct errbuf *e) {
  free(j->res.package);
  free(j->res.file);
  j->res.package = NULL;
  j->res.file = NULL;
  j->res.sequence = 0;
  j->res.error = REG_INTERNAL;
  err_set(&j->res.msg, rc, "%s: %s", what, err_msg(e, rc));
}

static const char writer_savepoint_sql[] = "SAVEPOINT req";
static const char writer_release_sql[] = "RELEASE req";
static const char writer_rollback_sql[] = "ROLLBACK TO req";

/* Runs a cached statement without results. */
static int writer_step(struct wtx *tx, const char *sql, struct errbuf *e) {
  sqlite3_stmt *st;
  int rc;

  st = wtx_stmt(tx, sql, &rc);
  if (st != NULL) {
    rc = sqlite3_step(st);
    sqlite3_reset(st);
  }
  return rc == SQLITE_DONE ? 0 : db_err(tx->db, rc, sql, e);
}

static void writer_run_job(struct writer *w, struct wjob *j) {
  struct wtx *tx = &w->tx;
  int64_t seq0 = tx->last_seq;
  uint8_t chain0[DIGEST_LEN];
  size_t nev0 = tx->events.n;
  struct errbuf e = {{0}};
  int rc;

  memcpy(chain0, tx->last_chain, DIGEST_LEN);
  if ((rc = writer_step(tx, writer_savepoint_sql, &e)) != 0) {
    writer_fail(j, "could not start the request", rc, &e);
    return;
  }
  registry_run(tx, j);
  if (j->res.error == REG_OK) {
    if ((rc = writer_step(tx, writer_release_sql, &e)) == 0)
      return;
    writer_fail(j, "could not complete the request", rc, &e);
  }
  writer_step(tx, writer_rollback_sql, NULL);
  writer_step(tx, writer_release_sql, NULL);
  free(j->res.package);
  free(j->res.file);
  j->res.package = NULL;
  j->res.file = NULL;
  j->res.sequence = 0;
  evvec_truncate(&tx->events, nev0);
  tx->last_seq = seq0;
  memcpy(tx->last_chain, chain0, DIGEST_LEN);
}

/* The log's end as committed (last sequence and chain digest; an empty log
 * leaves tx as it is).  0, UV_EPROTO when the last chain digest is
 * malformed, or a positive SQLITE_* code. */
static int writer_read_tail(struct wtx *tx) {
  sqlite3_stmt *st = NULL;
  int rc;

  rc = sqlite3_prepare_v2(tx->db,
                          "SELECT sequence, chain_digest FROM events "
                          "ORDER BY sequence DESC LIMIT 1",
                          -1, &st, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(st, 1) != DIGEST_LEN) {
      rc = UV_EPROTO;
    } else {
      tx->last_seq = sqlite3_column_int64(st, 0);
      memcpy(tx->last_chain, sqlite3_column_blob(st, 1), DIGEST_LEN);
      rc = SQLITE_DONE;
    }
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : rc;
}

static void writer_run_batch(struct writer *w, struct wjob *batch) {
  struct wtx *tx = &w->tx;
  int64_t seq0 = tx->last_seq;
  uint8_t chain0[DIGEST_LEN];
  struct errbuf e = {{0}};
  int rc;

  memcpy(chain0, tx->last_chain, DIGEST_LEN);
  rc = db_exec(tx->db, "BEGIN IMMEDIATE", &e);
  if (rc == 0) {
    for (struct wjob *j = batch; j != NULL; j = j->next) {
      /* Some errors (IOERR, FULL, NOMEM) make SQLite roll back the whole
       * transaction, savepoints and all.  Then nothing of this batch is
       * in the database any more, and a SAVEPOINT now would open a
       * transaction of its own that RELEASE commits: stop here and fail
       * every request of the batch. */
      if (sqlite3_get_autocommit(tx->db)) {
        rc = err_set(&e, UV_EIO,
                     "the database rolled back the batch (%s); nothing of it "
                     "was stored",
                     sqlite3_errmsg(tx->db));
        break;
      }
      writer_run_job(w, j);
      if (tx->test_rollback_after != 0 && --tx->test_rollback_after == 0)
        sqlite3_exec(tx->db, "ROLLBACK", NULL, NULL, NULL); /* as IOERR does */
    }
    if (rc == 0 && sqlite3_get_autocommit(tx->db))
      rc = err_set(&e, UV_EIO,
                   "the database rolled back the batch (%s); nothing of it "
                   "was stored",
                   sqlite3_errmsg(tx->db));
    /* One stamp for the batch, after its last request, in its
     * transaction: the views stay exactly at the log's end. */
    if (rc == 0 && tx->last_seq != seq0)
      rc = views_stamp(tx->views, tx->last_seq, &e);
    if (rc == 0)
      rc = db_exec(tx->db, "COMMIT", &e);
    if (rc != 0 && !sqlite3_get_autocommit(tx->db))
      sqlite3_exec(tx->db, "ROLLBACK", NULL, NULL, NULL);
  }
  if (rc != 0) {
    for (struct wjob *j = batch; j != NULL; j = j->next)
      if (j->res.error == REG_OK)
        writer_fail(j, "could not commit", rc, &e);
    evvec_truncate(&tx->events, 0);
    tx->last_seq = seq0;
    memcpy(tx->last_chain, chain0, DIGEST_LEN);
    /* take the log's end from what is committed, not from what we
     * believe, so the next sequence follows the real last row */
    (void)writer_read_tail(tx);
  }
}

static void writer_thread(void *arg) {
  struct writer *w = arg;

  for (;;) {
    struct wjob *batch, *last;
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
    w->tx.test_rollback_after = w->test_rollback_after;
    w->test_rollback_after = 0;
    uv_mutex_unlock(&w->mu);
    if (batch == NULL)
      break; /* stopping, and everything queued is done */

    for (struct wjob *j = batch; j != NULL; j = j->next)
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

  for (size_t i = 0; i < WRITER_STMT_CACHE; i++)
    sqlite3_finalize(w->tx.cache[i].st);
  views_close(w->tx.views);
  sqlite3_close(w->tx.db);
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
  struct wjob *done;
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
    struct wjob *j = done;
    done = j->next;
    if (j->cb != NULL)
      j->cb(&j->res, j->arg);
    free(j->res.package);
    free(j->res.file);
    free(j);
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
  int64_t applied = -1;
  int rc;

  rc = writer_read_tail(&w->tx);
  if (rc == UV_EPROTO)
    return err_set(e, UV_EPROTO,
                   "database %s: the last event has a malformed chain "
                   "digest: run artifactstored --verify-log",
                   path);
  if (rc != 0)
    return db_err(w->tx.db, rc, "reading the end of the event log", e);
  rc = views_applied(w->tx.db, &applied, "reading the end of the event log",
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

int writer_open(uv_loop_t *loop, const char *db_path, struct writer **out,
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
  if ((rc = db_open_rw(db_path, &w->tx.db, e)) != 0)
    goto fail;
  if ((rc = writer_load_tail(w, db_path, e)) != 0)
    goto fail;
  if ((rc = views_open(w->tx.db, &w->tx.views)) != 0) {
    err_set(e, rc, "out of memory");
    goto fail;
  }
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
    views_close(w->tx.views);
    sqlite3_close(w->tx.db);
    w->tx.views = NULL;
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
  views_close(w->tx.views);
  sqlite3_close(w->tx.db);
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

/* A job with room for copies of n strings; *dst[i] point at the copies
 * (NULL stays NULL). */
static struct wjob *writer_job_new(enum wjob_kind kind, const char *const *src,
                                   const char **const *dst, size_t n) {
  size_t total = sizeof(struct wjob);
  struct wjob *j;
  char *p;

  for (size_t i = 0; i < n; i++)
    if (src[i] != NULL)
      total += strlen(src[i]) + 1;
  j = calloc(1, total);
  if (j == NULL)
    return NULL;
  j->kind = kind;
  p = (char *)(j + 1);
  for (size_t i = 0; i < n; i++) {
    if (src[i] == NULL) {
      *dst[i] = NULL;
      continue;
    }
    size_t len = strlen(src[i]) + 1;
    memcpy(p, src[i], len);
    *dst[i] = p;
    p += len;
  }
  return j;
}

static int writer_submit(struct writer *w, struct wjob *j, reg_cb cb,
                         void *arg) {
  j->cb = cb;
  j->arg = arg;
  uv_mutex_lock(&w->mu);
  /* Wake the thread only when it can take the job: not while it is held
   * or the loop is delivering (the end of either signals), and not for
   * a queue it has been told about already.  Requests submitted from
   * result callbacks then cost no futile wake-up each. */
  bool wake = w->head == NULL && !w->held && !w->delivering &&
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

int reg_package_create(struct writer *w, const struct pkg_create_req *req,
                       reg_cb cb, void *arg) {
  struct wjob *j, tmp;

  if (w->closing)
    return UV_ECANCELED;
  tmp.create = *req;
  const char *src[] = {req->name, req->producer, req->subject,
                       req->retention_class, req->metadata_json, req->actor};
  j = writer_job_new(WJOB_CREATE, src,
                     (const char **const[]){&tmp.create.name,
                                            &tmp.create.producer,
                                            &tmp.create.subject,
                                            &tmp.create.retention_class,
                                            &tmp.create.metadata_json,
                                            &tmp.create.actor},
                     ARRAY_SIZE(src));
  if (j == NULL)
    return UV_ENOMEM;
  j->create = tmp.create;
  j->actor = j->create.actor;
  return writer_submit(w, j, cb, arg);
}

int reg_file_ingest(struct writer *w, const struct file_ingest_req *req,
                    reg_cb cb, void *arg) {
  struct wjob *j, tmp;

  if (w->closing)
    return UV_ECANCELED;
  tmp.ingest = *req;
  const char *src[] = {req->path, req->media_type, req->actor};
  j = writer_job_new(WJOB_INGEST, src,
                     (const char **const[]){&tmp.ingest.path,
                                            &tmp.ingest.media_type,
                                            &tmp.ingest.actor},
                     ARRAY_SIZE(src));
  if (j == NULL)
    return UV_ENOMEM;
  j->ingest = tmp.ingest;
  j->actor = j->ingest.actor;
  return writer_submit(w, j, cb, arg);
}

int reg_package_finalize(struct writer *w, const struct uuid *package_id,
                         const char *actor, reg_cb cb, void *arg) {
  struct wjob *j;
  const char *copy;

  if (w->closing)
    return UV_ECANCELED;
  const char *src[] = {actor};
  j = writer_job_new(WJOB_FINALIZE, src, (const char **const[]){&copy}, 1);
  if (j == NULL)
    return UV_ENOMEM;
  j->package_id = *package_id;
  j->actor = copy;
  return writer_submit(w, j, cb, arg);
}
