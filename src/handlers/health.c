/*
 * health.c: GET /health.
 *
 * A monitor checks the database (a trivial read) and the blob store (free
 * space, writable directories) on the threadpool every HEALTH_CHECK_MS and
 * keeps the outcome; GET /health answers from it on the loop thread at
 * once.  So a probe never waits behind uploads for a pool thread, and a
 * disk or database that hangs shows up as a check that stopped finishing:
 * older than HEALTH_STALE_MS, the answer is 503 instead of a probe that
 * hangs too.  Until the first check completes (start-up) and after the
 * monitor stops (shutdown), a request runs the checks itself.
 *
 * The monitor also watches the store's identity: the data directory and
 * the database file must still be the ones opened at start (same device
 * and inode under the same path; the directory, held open, not unlinked).
 * A store removed or replaced under a running daemon would take writes
 * into files nobody will ever open again, so the first check that sees it
 * fences writes (fence.c) until the daemon restarts.  The answer also
 * reports what the fence knows: a damaged database, failing writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers/internal.h"
#include "store/evlog/evlog.h"

#define HEALTH_CHECK_MS 1000 /* between checks */
#define HEALTH_STALE_MS 5000 /* a result older than this is a failure */

/* The store as opened at start (immutable after health_monitor_start,
 * read by the pool thread of each check). */
struct store_ident {
  char dir[4096], db[4096];
  int dirfd;                    /* held open: its link count shows rmdir */
  dev_t dir_dev, db_dev;
  ino_t dir_ino, db_ino;
};

/* One identity check on the threadpool. */
struct ident_check {
  uv_work_t req;
  const struct store_ident *id;
  struct health_round *round;
  int status;                   /* 0, or UV_ENODEV with why */
  char why[320];
};

struct health_monitor {
  struct app *app;
  struct store_ident ident;
  bool has_ident;
  uv_timer_t timer;
  bool timer_open;
  bool stopping;
  int pending;           /* 1 while a round of checks is in flight */
  int db_status, blob_status;
  uint64_t free_bytes;
  uint64_t checked_at;   /* uv_now of the last completed check, 0: none */
};

/* One round of the checks; done() runs once all have answered. */
struct health_round {
  int pending;
  int db_status, blob_status, ident_status;
  uint64_t free_bytes;
  char ident_why[320];
  void (*done)(struct health_round *r);
  void *arg;
};

static void round_finish(struct health_round *r) {
  if (--r->pending == 0)
    r->done(r);
}

/* --- the store's identity --- */

static int ident_open(const char *dir, const char *db,
                      struct store_ident *id) {
  struct stat st;

  if (snprintf(id->dir, sizeof id->dir, "%s", dir) >= (int)sizeof id->dir ||
      snprintf(id->db, sizeof id->db, "%s", db) >= (int)sizeof id->db)
    return UV_ENAMETOOLONG;
  id->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (id->dirfd < 0)
    return -errno;
  if (fstat(id->dirfd, &st) != 0)
    goto fail;
  id->dir_dev = st.st_dev;
  id->dir_ino = st.st_ino;
  if (stat(id->db, &st) != 0)
    goto fail;
  id->db_dev = st.st_dev;
  id->db_ino = st.st_ino;
  return 0;
fail:
  close(id->dirfd);
  id->dirfd = -1;
  return -errno;
}

static void ident_work_cb(uv_work_t *req) {
  struct ident_check *k = container_of(req, struct ident_check, req);
  const struct store_ident *id = k->id;
  const char *noun = "the data directory", *path = id->dir, *what = NULL;
  struct stat st;

  if (fstat(id->dirfd, &st) == 0 && st.st_nlink == 0) {
    what = "was removed";
  } else if (stat(id->dir, &st) != 0) {
    if (errno == ENOENT)
      what = "was removed or renamed";
  } else if (st.st_dev != id->dir_dev || st.st_ino != id->dir_ino) {
    what = "was replaced by another directory";
  } else {
    noun = "the database file";
    path = id->db;
    if (stat(id->db, &st) != 0) {
      if (errno == ENOENT)
        what = "was removed or renamed";
    } else if (st.st_dev != id->db_dev || st.st_ino != id->db_ino) {
      what = "was replaced by another file";
    }
  }
  if (what == NULL)
    return; /* as it was (other stat errors are the blob check's to see) */
  k->status = UV_ENODEV;
  /* a path too long for the sentence is cut */
  snprintf(k->why, sizeof k->why, "%s %.200s %s", noun, path, what);
}

static void ident_after_cb(uv_work_t *req, int status) {
  struct ident_check *k = container_of(req, struct ident_check, req);
  struct health_round *r = k->round;
  (void)status;

  r->ident_status = k->status;
  memcpy(r->ident_why, k->why, sizeof r->ident_why);
  free(k);
  round_finish(r);
}

static int ident_check(uv_loop_t *loop, const struct store_ident *id,
                       struct health_round *r) {
  struct ident_check *k = calloc(1, sizeof *k);
  int rc;

  if (k == NULL)
    return UV_ENOMEM;
  k->id = id;
  k->round = r;
  if ((rc = uv_queue_work(loop, &k->req, ident_work_cb, ident_after_cb)))
    free(k);
  return rc;
}

static void round_db_cb(struct query_result *res, void *arg) {
  struct health_round *r = arg;
  r->db_status = res->status;
  query_result_free(res);
  round_finish(r);
}

static void round_blob_cb(int status, uint64_t free_bytes, void *arg) {
  struct health_round *r = arg;
  r->blob_status = status;
  r->free_bytes = free_bytes;
  round_finish(r);
}

/* id: the store's identity to check too, or NULL. */
static void round_start(struct app *app, const struct store_ident *id,
                        struct health_round *r) {
  r->pending = 4; /* three checks + this function */
  if ((r->db_status = query_health(app->reader, round_db_cb, r)) != 0)
    r->pending--;
  if ((r->blob_status = blob_health(app->blobs, round_blob_cb, r)) != 0)
    r->pending--;
  r->ident_status = 0;
  if (id == NULL || ident_check(app->loop, id, r) != 0)
    r->pending--;
  round_finish(r);
}

/* What a round found that outlasts it: a damaged database, a store
 * removed or replaced. */
static void round_fence(struct app *app, const struct health_round *r) {
  if (r->ident_status != 0)
    fence_refuse(app, r->ident_status,
                 "%s while the daemon was running; writes are refused "
                 "because they would be lost: restore the data directory, "
                 "then restart the daemon (docs/OPERATOR.md, Recovery)",
                 r->ident_why);
  if (r->db_status == EVLOG_ECORRUPT)
    fence_refuse(app, EVLOG_ECORRUPT,
                 "the database file is damaged (the health check's read "
                 "failed); writes are refused: stop the daemon, run "
                 "artifactstored --verify-log and restore the data "
                 "directory from a backup (docs/OPERATOR.md, Recovery)");
}

static void health_respond(struct conn *c, int db_status, int blob_status,
                           uint64_t free_bytes, uint64_t age_ms) {
  struct app *app = handlers_app(c);
  const struct store_fence *f = &app->fence;
  bool stale = age_ms > HEALTH_STALE_MS;
  bool corrupt = f->refused == EVLOG_ECORRUPT;
  bool ok = db_status == 0 && blob_status == 0 && !stale && f->refused == 0 &&
            f->failing == 0;
  const char *detail = f->refused != 0   ? f->refused_why
                       : f->failing != 0 ? f->failing_why
                       : stale ? "the last health check did not finish in "
                                 "time: the disk or the database may be hung"
                               : NULL;
  json_t *o = json_pack(
      "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "status",
      ok ? "ok" : "unavailable", "database",
      corrupt ? "corrupt"
      : stale ? "unknown"
      : db_status == 0 ? "ok"
                       : "unavailable",
      "blob_store",
      stale ? "unknown" : blob_status == 0 ? "ok" : "unavailable", "writes",
      f->refused != 0   ? "refused"
      : f->failing != 0 ? "failing"
                        : "ok",
      "free_bytes", (json_int_t)free_bytes, "last_sequence",
      (json_int_t)evring_last(app->ring), "waiters",
      (json_int_t)events_hub_waiters(app->hub), "checked_ms_ago",
      (json_int_t)age_ms);
  if (o != NULL && detail != NULL)
    json_object_set_new(o, "detail", json_string(detail));
  handlers_respond_json(c, ok ? 200 : 503, o, "Cache-Control: no-store\r\n");
}

/* --- the monitor --- */

static void monitor_maybe_free(struct health_monitor *m) {
  if (m->stopping && !m->timer_open && m->pending == 0) {
    if (m->has_ident)
      close(m->ident.dirfd);
    free(m);
  }
}

static void monitor_round_done(struct health_round *r) {
  struct health_monitor *m = r->arg;

  m->pending = 0;
  m->db_status = r->db_status;
  m->blob_status = r->blob_status;
  m->free_bytes = r->free_bytes;
  if (!m->stopping)
    round_fence(m->app, r);
  m->checked_at = uv_now(m->app->loop);
  if (m->checked_at == 0)
    m->checked_at = 1; /* 0 means "never" */
  free(r);
  monitor_maybe_free(m);
}

static void monitor_tick_cb(uv_timer_t *t) {
  struct health_monitor *m = t->data;
  struct health_round *r;

  if (m->pending != 0 || m->stopping)
    return; /* the previous check has not finished: it goes stale */
  r = calloc(1, sizeof *r);
  if (r == NULL)
    return;
  r->done = monitor_round_done;
  r->arg = m;
  m->pending = 1;
  round_start(m->app, m->has_ident ? &m->ident : NULL, r);
}

static void monitor_close_cb(uv_handle_t *h) {
  struct health_monitor *m = h->data;
  m->timer_open = false;
  monitor_maybe_free(m);
}

int health_monitor_start(struct app *app, const char *db_path,
                         struct health_monitor **out) {
  struct health_monitor *m = calloc(1, sizeof *m);
  int rc;

  if (m == NULL)
    return UV_ENOMEM;
  m->app = app;
  m->ident.dirfd = -1;
  if (app->data_dir != NULL && db_path != NULL) {
    if ((rc = ident_open(app->data_dir, db_path, &m->ident)) != 0) {
      free(m);
      return rc;
    }
    m->has_ident = true;
  }
  if ((rc = uv_timer_init(app->loop, &m->timer)) != 0) {
    if (m->has_ident)
      close(m->ident.dirfd);
    free(m);
    return rc;
  }
  m->timer.data = m;
  m->timer_open = true;
  uv_timer_start(&m->timer, monitor_tick_cb, 0, HEALTH_CHECK_MS);
  *out = m;
  return 0;
}

void health_monitor_stop(struct health_monitor *m) {
  if (m == NULL || m->stopping)
    return;
  m->stopping = true;
  uv_close((uv_handle_t *)&m->timer, monitor_close_cb);
}

/* --- GET /health --- */

struct health_req {
  struct health_round round;
  struct conn *c;
};

static void request_round_done(struct health_round *r) {
  struct health_req *h = container_of(r, struct health_req, round);

  if (http_conn_alive(h->c)) {
    round_fence(handlers_app(h->c), r);
    health_respond(h->c, r->db_status, r->blob_status, r->free_bytes, 0);
  }
  http_conn_release(h->c);
  free(h);
}

void health_get(struct conn *c, const struct http_req *req) {
  struct app *app = handlers_app(c);
  struct health_monitor *m = app->health;
  struct health_req *h;
  (void)req;

  if (m != NULL && !m->stopping && m->checked_at != 0) {
    health_respond(c, m->db_status, m->blob_status, m->free_bytes,
                   uv_now(app->loop) - m->checked_at);
    return;
  }
  h = calloc(1, sizeof *h);
  if (h == NULL) {
    http_problem(c, PROB_INTERNAL, "out of memory");
    return;
  }
  h->c = c;
  h->round.done = request_round_done;
  http_conn_hold(c);
  round_start(app, NULL, &h->round);
}
