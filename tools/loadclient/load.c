/*
 * load.c: the upload, create and get modes of loadclient: N connections
 * each repeating its request until COUNT requests or DURATION seconds,
 * then one JSON line with rates, latency percentiles and the daemon's
 * peak RSS.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "loadclient.h"

struct lc_run {
  const struct lc_opts *o;
  char pkg[37];
  uint64_t started, done, errors;
  uint64_t bytes;
  struct lc_lat lat;
  long rss_start, rss_max;
  double t0;
};

static bool run_more(struct lc_run *r) {
  if (r->started >= r->o->count)
    return false;
  if (r->o->duration > 0 && lc_now() - r->t0 >= r->o->duration)
    return false;
  return true;
}

static void run_next(struct lc_run *r, struct lc_conn *c) {
  uint64_t idx = r->started++;
  if (c->kind == KIND_UPLOAD)
    lc_req_upload(c, r->pkg, idx, r->o->size);
  else if (c->kind == KIND_GET)
    lc_req_get(c, r->o->method, r->o->path);
  else
    lc_req_create(c);
}

int lc_mode_load(const struct lc_opts *o) {
  struct lc_run r = {.o = o};
  struct lc_conn **conns;
  struct epoll_event evs[LC_EVENTS];
  int live = 0;
  double t1, deadline, next_rss = 0;

  r.rss_start = r.rss_max = lc_rss_kb(o->pid);
  if (o->mode == MODE_UPLOAD) {
    if (o->package != NULL)
      snprintf(r.pkg, sizeof r.pkg, "%s", o->package);
    else
      lc_create_package(r.pkg, o->timeout);
  }
  conns = calloc((size_t)o->conns, sizeof *conns);
  if (conns == NULL)
    lc_die("out of memory");
  r.t0 = lc_now();
  deadline = r.t0 + o->timeout;
  for (int i = 0; i < o->conns && (uint64_t)i < o->count; i++) {
    conns[i] = lc_conn_new(o->mode == MODE_UPLOAD   ? KIND_UPLOAD
                        : o->mode == MODE_GET    ? KIND_GET
                                                 : KIND_CREATE);
    live++;
  }
  while (live > 0) {
    int n = epoll_wait(lc_ep, evs, LC_EVENTS, LC_TICK_MS);
    if (n < 0 && errno != EINTR)
      lc_die_errno("epoll_wait");
    if (o->pid > 0 && lc_now() >= next_rss) {
      long rss = lc_rss_kb(o->pid);
      if (rss > r.rss_max)
        r.rss_max = rss;
      next_rss = lc_now() + LC_TICK_MS / 1e3;
    }
    if (lc_now() > deadline) {
      fprintf(stderr, "loadclient: timed out after %.0f s\n", o->timeout);
      r.errors += (uint64_t)live;
      break;
    }
    for (int i = 0; i < n; i++) {
      struct lc_conn *c = evs[i].data.ptr;
      int rc = 0;
      if (c->state == ST_CONNECTING) {
        lc_conn_connected(c, "connect");
        if (!run_more(&r)) {
          c->state = ST_DONE;
          epoll_ctl(lc_ep, EPOLL_CTL_DEL, c->fd, NULL);
          live--;
          continue;
        }
        run_next(&r, c);
      }
      if (c->state == ST_SENDING && lc_conn_send(c) != 0)
        rc = -1;
      if (rc == 0 && c->state == ST_READING &&
          (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        rc = lc_conn_read(c);
      if (rc == 0)
        continue;
      if (rc == 1 && (c->status == 201 || c->status == 200 ||
                      (c->kind == KIND_GET && c->status < 400))) {
        r.done++;
        r.bytes += c->body_len;
        lc_lat_add(&r.lat, lc_now() - c->t_start);
      } else {
        r.errors++;
        lc_report_error(c, r.errors);
      }
      if (rc == 1 && run_more(&r)) {
        run_next(&r, c);
        if (lc_conn_send(c) != 0) {
          r.errors++;
          rc = -1;
        } else {
          continue;
        }
      }
      c->state = ST_DONE;
      epoll_ctl(lc_ep, EPOLL_CTL_DEL, c->fd, NULL);
      live--;
    }
  }
  t1 = lc_now();
  {
    double secs = t1 - r.t0;
    double p50 = lc_lat_pct(&r.lat, 50), p99 = lc_lat_pct(&r.lat, 99),
           mx = lc_lat_pct(&r.lat, 100);
    printf("{\"mode\":\"%s\",\"conns\":%d,\"size\":%" PRIu64
           ",\"done\":%" PRIu64 ",\"errors\":%" PRIu64
           ",\"seconds\":%.6f,\"per_s\":%.1f,\"mb_per_s\":%.1f,"
           "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
           "\"rss_start_kb\":%ld,\"rss_max_kb\":%ld,\"package\":\"%s\"}\n",
           o->mode == MODE_UPLOAD ? "upload"
           : o->mode == MODE_GET  ? "get"
                                  : "create",
           o->conns, o->mode == MODE_UPLOAD ? o->size : 0,
           r.done, r.errors, secs, (double)r.done / secs,
           (double)r.bytes / secs / 1e6, p50, p99, mx, r.rss_start, r.rss_max,
           r.pkg);
  }
  for (int i = 0; i < o->conns; i++)
    lc_conn_free(conns[i]);
  free(conns);
  free(r.lat.v);
  return r.errors == 0 && r.done > 0 ? 0 : 1;
}
