/*
 * handlers.h: the API v1 as the daemon sees it: the application state the
 * handlers reach through http_server_data(), the route table, the
 * long-poll hub and the health monitor.  What the resource files share
 * among themselves is in handlers/internal.h.
 */
#ifndef AS_HANDLERS_H
#define AS_HANDLERS_H

#include <stdbool.h>

#include "loop/http.h"

struct blob_store;
struct evring;
struct reader;
struct writer;
struct events_hub;
struct health_monitor;
struct retention;

/* What the daemon has learnt about its store while running (fence.c):
 * a refusal lasts until restart, a failing write until one succeeds. */
struct store_fence {
  int refused;              /* 0, or why every write is refused:
                             * EVLOG_ECORRUPT (damaged database) or
                             * UV_ENODEV (data directory gone/replaced) */
  int failing;              /* 0, or the cause of the last failed write */
  char refused_why[320], failing_why[320];
};

struct app {
  const char *data_dir;          /* the health monitor watches it */
  uv_loop_t *loop;
  struct blob_store *blobs;
  struct writer *writer;
  struct reader *reader;
  struct evring *ring;
  struct events_hub *hub;
  struct health_monitor *health; /* NULL: /health checks on demand */
  struct retention *retention;   /* the sweeper; NULL: none */
  struct store_fence fence;
  bool stopping;
};

/* routes.c: method + pattern -> handler, for server_opts. */
extern const struct route handlers_routes[];
extern const size_t handlers_nroutes;

/* health.c: the periodic checks GET /health answers from.  With
 * app->data_dir and db_path (the database file) set, it also watches that
 * they stay the ones open now (fence.c).  stop closes the timer; the
 * monitor frees itself once its last check returns. */
int health_monitor_start(struct app *app, const char *db_path,
                         struct health_monitor **out);
void health_monitor_stop(struct health_monitor *m);

/* events.c: the long-poll hub */
int events_hub_new(struct app *app, struct events_hub **out);
/* New events were pushed into app->ring: answer the waiters. */
void events_hub_notify(struct events_hub *h);
/* Answer every waiter now (shutdown). */
void events_hub_flush(struct events_hub *h);
void events_hub_free(struct events_hub *h);
size_t events_hub_waiters(const struct events_hub *h);

#endif
