/*
 * daemon.c: start-up, serving and graceful stop of the HTTP daemon.
 *
 * Start: raise the open-file limit, take the data-directory lock, open the
 * blob store (it empties <data>/tmp), the writer thread and the readers,
 * seed the event ring with the last sequence, listen, and print
 * {"msg":"listening","address":"HOST:PORT"} on stderr.
 *
 * Stop (SIGINT/SIGTERM): answer long-poll waiters, stop accepting, let
 * requests in progress finish for DAEMON_GRACE_MS then cut them, drain and
 * close the writer (which closes the database), close the readers and the
 * blob store, release the lock, exit 0.  Every step runs on the loop
 * thread through callbacks; nothing blocks it.
 */
#include "cmd/daemon.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "handlers/handlers.h"
#include "loop/http.h"
#include "util/logq.h"
#include "store/blob/blob.h"
#include "store/datadir.h"
#include "store/evlog/evring.h"
#include "store/evlog/reader.h"
#include "store/evlog/writer.h"
#include "store/registry/registry.h"
#include "store/registry/views.h"

#define DAEMON_MAX_CONNS 16384
#define DAEMON_READERS 4
#define DAEMON_GRACE_MS 10000
#define DAEMON_HEADER_TIMEOUT_MS 30000
#define DAEMON_IDLE_TIMEOUT_MS 75000
#define DAEMON_BODY_TIMEOUT_MS 60000
#define DAEMON_RING_EVENTS 65536
#define DAEMON_RING_BYTES (64u * 1024 * 1024)

struct daemon {
  uv_loop_t loop;
  struct app app;
  struct server *srv;
  uv_signal_t sigint, sigterm;
  bool stopping;
};

static void daemon_log(const char *msg, const char *detail) {
  logq_json(json_pack("{s:s, s:s}", "msg", msg, "detail", detail));
}

/* Each connection is a descriptor: use what the hard limit allows. */
static void daemon_raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static void daemon_commit_cb(const struct event_rec *evs, size_t n,
                             void *arg) {
  struct daemon *d = arg;

  if (n == 0)
    return;
  if (evring_push(d->app.ring, evs, n) != 0) {
    /* cannot keep them: make the ring refer readers to SQLite */
    evring_set_last(d->app.ring, evs[n - 1].sequence);
  }
  events_hub_notify(d->app.hub);
}

static void daemon_writer_closed_cb(void *arg) {
  struct daemon *d = arg;

  d->app.writer = NULL;
  /* readers and the blob store close once the loop has run dry (an
   * aborted upload may still be removing its temp file) */
  uv_close((uv_handle_t *)&d->sigint, NULL);
  uv_close((uv_handle_t *)&d->sigterm, NULL);
}

static void daemon_server_done_cb(struct server *s, void *arg) {
  struct daemon *d = arg;

  server_free(s);
  d->srv = NULL;
  writer_close(d->app.writer, daemon_writer_closed_cb, d);
}

static void daemon_signal_cb(uv_signal_t *h, int signum) {
  struct daemon *d = h->data;

  if (d->stopping)
    return;
  d->stopping = true;
  d->app.stopping = true;
  daemon_log("stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
  health_monitor_stop(d->app.health);
  d->app.health = NULL;
  /* stopping first, so the flushed long-poll answers say Connection: close */
  server_stop(d->srv, DAEMON_GRACE_MS, daemon_server_done_cb, d);
  events_hub_flush(d->app.hub);
}

static int daemon_open(struct daemon *d, const struct config *cfg,
                       struct errbuf *e) {
  char db[4096];
  struct writer_stats st;
  struct server_opts o;
  char addr[300];
  int rc;

  d->app.loop = &d->loop;
  d->app.data_dir = cfg->data_dir;
  if ((rc = blob_store_open_local(&d->loop, cfg->data_dir, &d->app.blobs, e)))
    return rc;
  if ((rc = datadir_path(cfg->data_dir, DATADIR_DB_FILE, db, sizeof db, e)))
    return rc;
  if ((rc = writer_open(&d->loop, db, &views_domain, &d->app.writer, e)))
    return rc;
  if ((rc = reader_open(&d->loop, db, DAEMON_READERS, &d->app.reader, e)))
    return rc;
  if ((rc = evring_new(DAEMON_RING_EVENTS, DAEMON_RING_BYTES, &d->app.ring)))
    return err_set(e, rc, "cannot allocate the event ring");
  writer_get_stats(d->app.writer, &st);
  evring_set_last(d->app.ring, st.last_sequence);
  if ((rc = events_hub_new(&d->app, &d->app.hub)))
    return err_set(e, rc, "out of memory");
  writer_set_commit_cb(d->app.writer, daemon_commit_cb, d);
  if ((rc = health_monitor_start(&d->app, db, &d->app.health)))
    return err_set(e, rc, "cannot start the health monitor");

  memset(&o, 0, sizeof o);
  o.host = cfg->listen_host;
  o.port = cfg->listen_port;
  o.max_conns = DAEMON_MAX_CONNS;
  o.header_timeout_ms = DAEMON_HEADER_TIMEOUT_MS;
  o.idle_timeout_ms = DAEMON_IDLE_TIMEOUT_MS;
  o.body_timeout_ms = DAEMON_BODY_TIMEOUT_MS;
  o.routes = handlers_routes;
  o.nroutes = handlers_nroutes;
  o.data = &d->app;
  o.log_requests = true;
  o.log_actor = REG_ACTOR_ANONYMOUS; /* until tokens name callers */
  if ((rc = server_new(&d->loop, &o, &d->srv, e)))
    return rc;
  server_address(d->srv, addr, sizeof addr);
  logq_json(json_pack("{s:s, s:s, s:s, s:I}", "msg", "listening",
                      "address", addr, "data", cfg->data_dir,
                      "last_sequence", (json_int_t)st.last_sequence));
  uv_signal_init(&d->loop, &d->sigint);
  uv_signal_init(&d->loop, &d->sigterm);
  d->sigint.data = d->sigterm.data = d;
  uv_signal_start(&d->sigint, daemon_signal_cb, SIGINT);
  uv_signal_start(&d->sigterm, daemon_signal_cb, SIGTERM);
  return 0;
}

/* Start-up failed part-way: release what was opened, in reverse. */
static void daemon_abandon(struct daemon *d) {
  health_monitor_stop(d->app.health);
  d->app.health = NULL;
  if (d->app.writer != NULL) {
    writer_close(d->app.writer, NULL, NULL);
    uv_run(&d->loop, UV_RUN_DEFAULT);
  }
  if (d->app.reader != NULL)
    reader_close(d->app.reader);
  if (d->app.blobs != NULL)
    blob_store_close(d->app.blobs);
}

int daemon_run(const struct config *cfg) {
  struct daemon *d = calloc(1, sizeof *d);
  struct errbuf e = {{0}};
  int lockfd = -1, rc, status = 1;

  if (d == NULL)
    return 1;
  signal(SIGPIPE, SIG_IGN);
  daemon_raise_nofile();
  rc = datadir_lock(cfg->data_dir, &lockfd, &e);
  if (rc != 0) {
    fprintf(stderr, "artifactstored: %s\n", err_msg(&e, rc));
    free(d);
    return 1;
  }
  uv_loop_init(&d->loop);
  rc = daemon_open(d, cfg, &e);
  if (rc != 0) {
    fprintf(stderr, "artifactstored: %s\n", err_msg(&e, rc));
    daemon_abandon(d);
  } else {
    logq_start(&d->loop);
    uv_run(&d->loop, UV_RUN_DEFAULT); /* until stopped and drained */
    logq_stop();
    reader_close(d->app.reader);
    blob_store_close(d->app.blobs);
    status = 0;
  }
  uv_run(&d->loop, UV_RUN_DEFAULT); /* close callbacks still pending */
  if (uv_loop_close(&d->loop) != 0) {
    daemon_log("stopped", "handles still open at exit");
    status = status == 0 ? 1 : status;
  } else if (status == 0) {
    daemon_log("stopped", "clean");
  }
  if (d->app.hub != NULL)
    events_hub_free(d->app.hub);
  if (d->app.ring != NULL)
    evring_free(d->app.ring);
  datadir_unlock(lockfd);
  free(d);
  return status;
}
