/*
 * reader.c: the pool of read-only connections (see reader.h).  A job's
 * work callback borrows a connection (waiting if all are lent), runs the
 * caller's reads in one read transaction and returns it; the caller's done
 * callback runs on the loop thread.
 */
#include "store/evlog/reader.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>

#include <sodium.h>

struct reader {
  uv_loop_t *loop;
  uv_mutex_t mu;
  uv_cond_t cv;
  unsigned n;
  struct evlog_db *conn[READER_MAX_CONN];
  bool lent[READER_MAX_CONN];
};

int reader_open(uv_loop_t *loop, const char *location, unsigned nconn,
                struct reader **out, struct errbuf *e) {
  struct reader *r;
  int rc;

  *out = NULL;
  if (nconn == 0 || nconn > READER_MAX_CONN)
    return err_set(e, UV_EINVAL, "reader: nconn must be 1..%d",
                   READER_MAX_CONN);
  if (sodium_init() < 0)
    return err_set(e, UV_EIO, "libsodium failed to initialise");
  r = calloc(1, sizeof *r);
  if (r == NULL)
    return err_set(e, UV_ENOMEM, "out of memory");
  r->loop = loop;
  for (unsigned i = 0; i < nconn; i++) {
    if ((rc = evlog_open(location, EVLOG_RO, &r->conn[i], e)) != 0)
      goto fail;
    r->n++;
  }
  if ((rc = uv_mutex_init(&r->mu)) != 0) {
    err_set(e, rc, "uv_mutex_init: %s", uv_strerror(rc));
    goto fail;
  }
  if ((rc = uv_cond_init(&r->cv)) != 0) {
    uv_mutex_destroy(&r->mu);
    err_set(e, rc, "uv_cond_init: %s", uv_strerror(rc));
    goto fail;
  }
  *out = r;
  return 0;
fail:
  for (unsigned i = 0; i < r->n; i++)
    evlog_close(r->conn[i]);
  free(r);
  return rc;
}

void reader_close(struct reader *r) {
  if (r == NULL)
    return;
  for (unsigned i = 0; i < r->n; i++) {
    assert(!r->lent[i]);
    evlog_close(r->conn[i]);
  }
  uv_cond_destroy(&r->cv);
  uv_mutex_destroy(&r->mu);
  free(r);
}

static unsigned reader_borrow(struct reader *r) {
  uv_mutex_lock(&r->mu);
  for (;;) {
    for (unsigned i = 0; i < r->n; i++) {
      if (!r->lent[i]) {
        r->lent[i] = true;
        uv_mutex_unlock(&r->mu);
        return i;
      }
    }
    uv_cond_wait(&r->cv, &r->mu);
  }
}

static void reader_return(struct reader *r, unsigned i) {
  uv_mutex_lock(&r->mu);
  r->lent[i] = false;
  uv_cond_signal(&r->cv);
  uv_mutex_unlock(&r->mu);
}

static void reader_work_cb(uv_work_t *w) {
  struct reader_job *j = container_of(w, struct reader_job, work);
  unsigned ci = reader_borrow(j->pool);
  struct evlog_db *db = j->pool->conn[ci];
  int rc;

  /* One read transaction: multi-statement reads see one snapshot. */
  rc = evlog_begin(db, false, &j->msg);
  if (rc == 0) {
    rc = j->run(j, db, &j->msg);
    evlog_rollback(db); /* a read transaction: nothing to keep */
  }
  reader_return(j->pool, ci);
  j->status = rc;
}

static void reader_after_cb(uv_work_t *w, int status) {
  struct reader_job *j = container_of(w, struct reader_job, work);

  if (status != 0 && j->status == 0)
    j->status = status; /* UV_ECANCELED */
  j->done(j, j->status); /* may free j */
}

int reader_submit(struct reader *r, struct reader_job *j, reader_run_cb run,
                  reader_done_cb done) {
  j->pool = r;
  j->run = run;
  j->done = done;
  j->status = 0;
  j->msg.msg[0] = '\0';
  return uv_queue_work(r->loop, &j->work, reader_work_cb, reader_after_cb);
}
