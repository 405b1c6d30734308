/*
 * domain.h: what the domain above the event-log engine tells it: how an
 * event changes the views, and which tables are views.  The writer applies
 * every event it appends through it; replay rebuilds the views with it and
 * digests them in its table order.  The engine never names a table or an
 * event type of its own beyond `events` and `state`.
 */
#ifndef AS_DOMAIN_H
#define AS_DOMAIN_H

#include <stddef.h>

#include "store/evlog/event.h"
#include "store/evlog/evlog.h"

struct evlog_view_table {
  const char *name;
  const char *order_by; /* its primary key: the digest's row order */
};

struct evlog_domain {
  /* Applies one event, already in the log, to the views (the writer
   * thread, or a rebuild).  UV_EPROTO with a message when the event does
   * not fit them; other errors are the database's. */
  int (*apply)(struct evlog_db *db, const struct event_rec *ev,
               struct errbuf *e);
  const char *reset_sql; /* empties every derived view before a rebuild */
  const struct evlog_view_table *tables; /* in view digest order */
  size_t ntables;
};

#endif
