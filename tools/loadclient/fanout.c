/*
 * fanout.c: the fanout mode of loadclient: W long-poll waiters parked on
 * /v1/events, one POST /v1/packages, and the time until every waiter has
 * its answer, with the daemon's RSS idle and with the waiters parked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "loadclient.h"

int lc_mode_fanout(const struct lc_opts *o) {
  struct lc_conn **w = calloc((size_t)o->conns, sizeof *w);
  struct lc_conn *trig = NULL;
  struct epoll_event evs[LC_EVENTS];
  struct lc_lat lat = {0};
  long rss_idle, rss_waiters = -1, rss_after;
  int opened = 0, connecting = 0, parked = 0, answered = 0, errors = 0,
      early = 0;
  double t_parked = 0, t_trigger = 0, t_commit = -1, deadline;
  bool triggered = false;

  if (w == NULL)
    lc_die("out of memory");
  rss_idle = lc_rss_kb(o->pid);
  deadline = lc_now() + o->timeout;
  while (answered + errors + early < o->conns) {
    int n;
    if (lc_now() > deadline) {
      fprintf(stderr,
              "loadclient: fan-out timed out: %d parked, %d answered\n",
              parked, answered);
      break;
    }
    while (opened < o->conns && connecting < LC_CONNECT_WINDOW) {
      w[opened++] = lc_conn_new(KIND_WAITER);
      connecting++;
    }
    if (!triggered && parked == o->conns && t_parked == 0)
      t_parked = lc_now();
    if (!triggered && t_parked > 0 &&
        lc_now() - t_parked >= o->settle_ms / 1e3) {
      rss_waiters = lc_rss_kb(o->pid);
      trig = lc_conn_new(KIND_TRIGGER);
      triggered = true;
    }
    n = epoll_wait(lc_ep, evs, LC_EVENTS, LC_TICK_MS);
    if (n < 0 && errno != EINTR)
      lc_die_errno("epoll_wait");
    for (int i = 0; i < n; i++) {
      struct lc_conn *c = evs[i].data.ptr;
      int rc = 0;
      if (c->state == ST_CONNECTING) {
        lc_conn_connected(c, "connect (is the listen backlog large enough?)");
        if (c->kind == KIND_TRIGGER) {
          t_trigger = lc_now();
          lc_req_create(c);
        } else {
          connecting--;
          lc_req_wait(c, o->since);
        }
      }
      if (c->state == ST_SENDING && lc_conn_send(c) != 0)
        rc = -1;
      if (c->kind == KIND_WAITER && c->state == ST_READING &&
          c->watching == EPOLLIN && c->hdr_off == c->hdr_len &&
          c->t_start >= 0) {
        parked++;
        c->t_start = -1; /* counted */
      }
      if (rc == 0 && c->state == ST_READING &&
          (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        rc = lc_conn_read(c);
      if (rc == 0)
        continue;
      epoll_ctl(lc_ep, EPOLL_CTL_DEL, c->fd, NULL);
      c->state = ST_DONE;
      if (c->kind == KIND_TRIGGER) {
        if (rc != 1 || c->status != 201)
          lc_die("the trigger POST /v1/packages failed");
        t_commit = lc_now() - t_trigger;
        continue;
      }
      if (!triggered) {
        early++;
        if (early <= 3)
          fprintf(stderr,
                  "loadclient: a waiter was answered before the commit "
                  "(status %d): is --since the last sequence?\n",
                  c->status);
      } else if (rc == 1 && c->status == 200) {
        answered++;
        lc_lat_add(&lat, lc_now() - t_trigger);
      } else {
        errors++;
        lc_report_error(c, (uint64_t)errors);
      }
    }
  }
  rss_after = lc_rss_kb(o->pid);
  printf("{\"mode\":\"fanout\",\"waiters\":%d,\"answered\":%d,\"errors\":%d,"
         "\"early\":%d,\"commit_ms\":%.3f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
         "\"max_ms\":%.3f,\"rss_idle_kb\":%ld,\"rss_waiters_kb\":%ld,"
         "\"rss_after_kb\":%ld}\n",
         o->conns, answered, errors, early,
         t_commit < 0 ? -1 : t_commit * 1e3, lc_lat_pct(&lat, 50),
         lc_lat_pct(&lat, 99), lc_lat_pct(&lat, 100), rss_idle, rss_waiters,
         rss_after);
  for (int i = 0; i < opened; i++)
    lc_conn_free(w[i]);
  lc_conn_free(trig);
  free(w);
  free(lat.v);
  return answered == o->conns ? 0 : 1;
}
