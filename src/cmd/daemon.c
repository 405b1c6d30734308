/*
 * daemon.c: start-up, serving and graceful stop of the HTTP daemon.
 *
 * Start: raise the open-file limit; listen first, so a port in use leaves
 * nothing behind; open the data directory (it decides whether the
 * directory is ours, locks it, and initialises a new one: datadir.h);
 * open the blob store (it removes our leftovers from <data>/tmp), the
 * writer thread (it creates or migrates the database); check the database
 * file (quick_check) and the hash chain of the last --verify-recent
 * events, refusing to start on damage; open the readers, seed the event
 * ring with the last sequence, and print {"msg":"listening","address":
 * "HOST:PORT","data":<absolute path>,"store_id":...} on stderr.
 *
 * Stop (SIGINT/SIGTERM): answer long-poll waiters, stop accepting, let
 * requests in progress finish for DAEMON_GRACE_MS then cut them, drain and
 * close the writer (which closes the database), close the readers and the
 * blob store, release the lock, exit 0.  Every step runs on the loop
 * thread through callbacks; nothing blocks it.
 *
 * SIGHUP never stops the daemon: it reopens the log file (--log-file,
 * after logrotate moved it) and is where reloadable material (TLS
 * certificates, later) is read again: daemon_reload().  It is ignored
 * from the very start, so a SIGHUP during start-up does not kill us.
 */
#include "cmd/daemon.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "handlers/handlers.h"
#include "loop/http.h"
#include "retention/retention.h"
#include "util/logq.h"
#include "store/blob/blob.h"
#include "store/datadir.h"
#include "store/evlog/evlog.h"
#include "store/evlog/evring.h"
#include "store/evlog/reader.h"
#include "store/evlog/verify.h"
#include "store/evlog/writer.h"
#include "store/registry/registry.h"
#include "store/registry/views.h"

#define DAEMON_MAX_CONNS 16384
#define DAEMON_FDS_RESERVED 64 /* database, log, lock, listener, threads */
#define DAEMON_FDS_PER_CONN 2  /* the socket and a blob or temp file */
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
  struct datadir dir;
  uv_signal_t sigint, sigterm, sighup;
  bool stopping;
  rlim_t nofile;        /* soft RLIMIT_NOFILE after raising it */
  unsigned max_conns;   /* DAEMON_MAX_CONNS, or less: daemon_conn_cap */
};

static void daemon_log(const char *msg, const char *detail) {
  logq_msg(LOGQ_INFO, msg, detail);
}

/* Each connection is a descriptor: use what the hard limit allows. */
static void daemon_raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* The connection cap the descriptor limit can honour: past it a client
 * gets 503 too-many-connections, not a failure for want of descriptors
 * (a download or an upload needs a file as well as its socket). */
static void daemon_conn_cap(struct daemon *d) {
  struct rlimit rl;

  d->max_conns = DAEMON_MAX_CONNS;
  d->nofile = RLIM_INFINITY;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
    return;
  d->nofile = rl.rlim_cur;
  if (rl.rlim_cur < DAEMON_FDS_RESERVED + DAEMON_FDS_PER_CONN)
    d->max_conns = 1;
  else if ((rl.rlim_cur - DAEMON_FDS_RESERVED) / DAEMON_FDS_PER_CONN <
           DAEMON_MAX_CONNS)
    d->max_conns = (unsigned)((rl.rlim_cur - DAEMON_FDS_RESERVED) /
                              DAEMON_FDS_PER_CONN);
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
  uv_close((uv_handle_t *)&d->sighup, NULL);
  signal(SIGHUP, SIG_IGN); /* libuv restored SIG_DFL: still never fatal */
}

static void daemon_server_done_cb(struct server *s, void *arg) {
  struct daemon *d = arg;

  server_free(s);
  d->srv = NULL;
  writer_close(d->app.writer, daemon_writer_closed_cb, d);
}

/* SIGHUP: reopen the log; reload what can be reloaded without a
 * restart.  Runs on the loop thread, never stops anything. */
static void daemon_reload(struct daemon *d) {
  (void)d;
  logq_reopen();
  /* hook: reload TLS certificate and key here once the daemon serves TLS
   * (keep the old material when the new fails to load, and log why) */
}

static void daemon_hup_cb(uv_signal_t *h, int signum) {
  (void)signum;
  daemon_reload(h->data);
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
  /* no new pass; what is in flight ends while the loop drains (the
   * struct stays for uploads that wait on its moves until exit) */
  retention_stop(d->app.retention);
  /* stopping first, so the flushed long-poll answers say Connection: close */
  server_stop(d->srv, DAEMON_GRACE_MS, daemon_server_done_cb, d);
  events_hub_flush(d->app.hub);
}

/* Binds and listens before anything else is done, so that an address in
 * use leaves no directory or database behind.  Nothing is accepted until
 * the loop runs, after start-up. */
static int daemon_listen(struct daemon *d, const struct config *cfg,
                         struct errbuf *e) {
  struct server_opts o;

  memset(&o, 0, sizeof o);
  o.host = cfg->listen_host;
  o.port = cfg->listen_port;
  daemon_conn_cap(d);
  o.max_conns = d->max_conns;
  o.header_timeout_ms = DAEMON_HEADER_TIMEOUT_MS;
  o.idle_timeout_ms = DAEMON_IDLE_TIMEOUT_MS;
  o.body_timeout_ms = DAEMON_BODY_TIMEOUT_MS;
  o.send_timeout_ms = (uint64_t)cfg->send_timeout * 1000;
  o.routes = handlers_routes;
  o.nroutes = handlers_nroutes;
  o.data = &d->app;
  o.log_requests = true;
  o.log_actor = REG_ACTOR_ANONYMOUS; /* until tokens name callers */
  return server_new(&d->loop, &o, &d->srv, e);
}

/* The database file (quick_check), then the chain of the last `recent`
 * events, before anything is served: a damaged or edited log is refused
 * rather than served and extended. */
static int daemon_check(const char *db, long long recent, int64_t last,
                        struct errbuf *e) {
  struct verify_report r = {0};
  uint64_t t0 = uv_hrtime(), t1;
  int64_t from = last - (int64_t)recent + 1;
  int rc;

  if ((rc = verify_quick_check(db, e)) != 0)
    return rc;
  t1 = uv_hrtime();
  if (recent > 0 && last > 0) {
    if ((rc = verify_log_from(db, from < 1 ? 1 : from, &r, e)) != 0)
      return rc;
    if (r.bad_sequence != 0)
      return err_set(e, UV_EPROTO, "the event log fails its check at "
                     "sequence %lld: %s. Run artifactstored --verify-log for "
                     "the whole log, and restore the database from a backup "
                     "(docs/OPERATOR.md, Recovery)",
                     (long long)r.bad_sequence, r.why);
  }
  logq_json(json_pack("{s:s, s:f, s:I, s:f}", "msg", "checked",
                      "quick_check_ms", (double)(t1 - t0) / 1e6,
                      "chain_events", (json_int_t)r.verified,
                      "chain_ms", (double)(uv_hrtime() - t1) / 1e6));
  return 0;
}

static int daemon_open(struct daemon *d, const struct config *cfg,
                       struct errbuf *e) {
  char db[DATADIR_PATH_MAX + sizeof DATADIR_DB_FILE];
  struct writer_stats st;
  struct retention_opts ro;
  char addr[300];
  int rc;

  d->app.loop = &d->loop;
  if ((rc = daemon_listen(d, cfg, e)) != 0)
    return rc;
  rc = datadir_open(cfg->data_dir, cfg->init ? DATADIR_SERVE_INIT
                                             : DATADIR_SERVE, &d->dir, e);
  if (rc != 0)
    return rc;
  if (d->dir.created)
    daemon_log("initialised", d->dir.path);
  e->msg[0] = '\0';
  if ((rc = blob_store_open_local(&d->loop, d->dir.path, &d->app.blobs, e)))
    return rc;
  if (e->msg[0] != '\0') /* a warning: tmp/ holds what is not ours */
    logq_msg(LOGQ_WARNING, "warning", e->msg);
  d->app.data_dir = d->dir.path;
  if ((rc = datadir_path(d->dir.path, DATADIR_DB_FILE, db, sizeof db, e)))
    return rc;
  if ((rc = writer_open(&d->loop, db, &views_domain, &d->app.writer, e)))
    return rc;
  writer_get_stats(d->app.writer, &st);
  if ((rc = daemon_check(db, cfg->verify_recent, st.last_sequence, e)))
    return rc;
  if ((rc = reader_open(&d->loop, db, DAEMON_READERS, &d->app.reader, e)))
    return rc;
  if ((rc = evring_new(DAEMON_RING_EVENTS, DAEMON_RING_BYTES, &d->app.ring)))
    return err_set(e, rc, "cannot allocate the event ring");
  evring_set_last(d->app.ring, st.last_sequence);
  if ((rc = events_hub_new(&d->app, &d->app.hub)))
    return err_set(e, rc, "out of memory");
  writer_set_commit_cb(d->app.writer, daemon_commit_cb, d);
  if ((rc = health_monitor_start(&d->app, db, &d->app.health)))
    return err_set(e, rc, "cannot start the health monitor");
  ro.sweep_interval_s = cfg->sweep_interval;
  ro.open_ttl_s = cfg->open_package_ttl;
  ro.gc_grace_s = cfg->gc_grace;
  ro.trash_ttl_s = cfg->trash_ttl;
  if ((rc = retention_start(&d->loop, d->app.writer, d->app.blobs, &ro,
                            &d->app.retention)))
    return err_set(e, rc, "cannot start the sweeper");

  /* handlers before the line that tells a supervisor we are up */
  uv_signal_init(&d->loop, &d->sigint);
  uv_signal_init(&d->loop, &d->sigterm);
  uv_signal_init(&d->loop, &d->sighup);
  d->sigint.data = d->sigterm.data = d->sighup.data = d;
  uv_signal_start(&d->sigint, daemon_signal_cb, SIGINT);
  uv_signal_start(&d->sigterm, daemon_signal_cb, SIGTERM);
  uv_signal_start(&d->sighup, daemon_hup_cb, SIGHUP);
  server_address(d->srv, addr, sizeof addr);
  logq_json(json_pack("{s:s, s:s, s:s, s:s, s:I, s:i, s:o?}", "msg",
                      "listening", "address", addr, "data", d->dir.path,
                      "store_id", d->dir.store_id, "last_sequence",
                      (json_int_t)st.last_sequence, "max_conns",
                      (int)d->max_conns, "nofile",
                      d->nofile == RLIM_INFINITY
                          ? json_null()
                          : json_integer((json_int_t)d->nofile)));
  return 0;
}

static void daemon_abandon_server_cb(struct server *s, void *arg) {
  struct daemon *d = arg;

  server_free(s);
  d->srv = NULL;
}

/* Start-up failed part-way: release what was opened, in reverse. */
static void daemon_abandon(struct daemon *d) {
  health_monitor_stop(d->app.health);
  d->app.health = NULL;
  retention_stop(d->app.retention);
  if (d->srv != NULL) /* nothing was accepted: the loop never ran */
    server_stop(d->srv, 0, daemon_abandon_server_cb, d);
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
  int rc, status = 1;

  if (d == NULL)
    return 1;
  d->dir.fd = -1;
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN); /* until the loop handles it: never fatal */
  if (cfg->log_file != NULL &&
      (rc = logq_open_file(cfg->log_file, &e)) != 0) {
    logq_msg(LOGQ_ERROR, "cannot start", err_msg(&e, rc));
    free(d);
    return 1;
  }
  daemon_raise_nofile();
  uv_loop_init(&d->loop);
  rc = daemon_open(d, cfg, &e);
  if (rc != 0) {
    char code[64];

    /* one JSON line, like every other line of the daemon */
    uv_err_name_r(rc, code, sizeof code);
    logq_log(LOGQ_ERROR, json_pack("{s:s, s:s, s:s}", "msg", "cannot start",
                                   "detail", err_msg(&e, rc), "error", code));
    if (rc == EVLOG_ECORRUPT) {
      char why[DATADIR_PATH_MAX + 256];
      snprintf(why, sizeof why, "the database file in %s is damaged: run "
               "artifactstored --verify-log to see what is readable, and "
               "restore the database from a backup (docs/OPERATOR.md, "
               "Recovery)", d->dir.path[0] ? d->dir.path : cfg->data_dir);
      logq_msg(LOGQ_ERROR, "cannot start", why);
    }
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
    logq_msg(LOGQ_ERROR, "stopped", "handles still open at exit");
    status = status == 0 ? 1 : status;
  } else if (status == 0) {
    daemon_log("stopped", "clean");
  }
  retention_free(d->app.retention);
  if (d->app.hub != NULL)
    events_hub_free(d->app.hub);
  if (d->app.ring != NULL)
    evring_free(d->app.ring);
  datadir_close(&d->dir);
  logq_close_file();
  free(d);
  return status;
}
