/*
 * events.c: GET /v1/events?since=N&limit=M&wait=S, the long-poll tail.
 *
 * Recent events are answered from the in-memory ring (evring); a cursor
 * older than the ring goes to SQLite on the threadpool.  When nothing is
 * newer than `since` and wait > 0, the request parks: a waiter is a list
 * node plus the connection's own timer, no buffer.  The daemon calls
 * events_hub_notify() after every commit; each waiter whose cursor now has
 * events is answered from the ring.
 *
 * Representations:
 *   application/json (default): {"events":[EVENT...],"next":N} where EVENT
 *     has the fields of DESIGN.md and "payload" is the JCS text of the
 *     stored canonical CBOR payload.
 *   application/cbor-seq (RFC 8742): one CBOR map per event, keys as in
 *     JSON; "payload" is tag 24 (encoded CBOR data item) around a byte
 *     string holding the stored payload bytes unchanged, so
 *     blake3(payload) == payload_digest can be checked directly.  The cursor
 *     for the next call is the last record's sequence (or `since` when
 *     there is none), also sent in the X-Next-Cursor header.
 */
#include <cbor.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/internal.h"
#include "handlers/work.h"
#include "store/codec/caddr.h"
#include "store/codec/jcs.h"

#define EVENTS_LIMIT_DEFAULT 100
#define EVENTS_LIMIT_MAX 1000
#define EVENTS_WAIT_MAX 60 /* seconds */

struct waiter {
  struct work w; /* first: references, abort, detach (work.h) */
  struct waiter *prev, *next; /* hub->head, while parked */
  struct events_hub *hub;
  int64_t since;
  int64_t wait_s; /* 0: answer now, even with nothing */
  unsigned limit;
  bool cbor, linked;
  bool ahead; /* since is past the ring: SQLite decides (events_get) */
};

struct events_hub {
  struct app *app;
  struct waiter *head;
  size_t n;
};

int events_hub_new(struct app *app, struct events_hub **out) {
  struct events_hub *h = calloc(1, sizeof *h);
  if (h == NULL)
    return UV_ENOMEM;
  h->app = app;
  *out = h;
  return 0;
}

void events_hub_free(struct events_hub *h) { free(h); }
size_t events_hub_waiters(const struct events_hub *h) { return h->n; }

static void hub_link(struct events_hub *h, struct waiter *w) {
  w->prev = NULL;
  w->next = h->head;
  if (h->head != NULL)
    h->head->prev = w;
  h->head = w;
  h->n++;
  w->linked = true;
}

static void hub_unlink(struct waiter *w) {
  struct events_hub *h = w->hub;
  if (!w->linked)
    return;
  if (w->prev != NULL)
    w->prev->next = w->next;
  else
    h->head = w->next;
  if (w->next != NULL)
    w->next->prev = w->prev;
  h->n--;
  w->linked = false;
}

/* --- rendering --- */

/* Page text is built with a sticky error: the first failed append makes
 * every later one a no-op and the render report UV_ENOMEM once. */
struct out {
  struct sbuf b;
  bool failed;
};

static void sb_add(struct out *o, const void *data, size_t n) {
  if (!o->failed && sbuf_put(&o->b, data, n) != 0)
    o->failed = true;
}

static void sb_str(struct out *o, const char *s) { sb_add(o, s, strlen(s)); }

static void sb_json_string(struct out *o, const char *s) {
  if (s == NULL)
    s = "";
  if (!o->failed && jcs_put_string(&o->b, (const uint8_t *)s, strlen(s)) != 0)
    o->failed = true;
}

static int events_json(const struct event_rec *const *evs, size_t n,
                       int64_t next, struct out *b) {
  char num[32], ts[TS_STRLEN + 1], id[UUID_STRLEN + 1], a[CADDR_BUFSIZE];

  sb_str(b, "{\"events\":[");
  for (size_t i = 0; i < n; i++) {
    const struct event_rec *e = evs[i];
    snprintf(num, sizeof num, "%lld", (long long)e->sequence);
    ts_format(e->created_at, ts);
    uuid_format(&e->subject_id, id);
    sb_str(b, i == 0 ? "{\"sequence\":" : ",{\"sequence\":");
    sb_str(b, num);
    sb_str(b, ",\"created_at\":\"");
    sb_str(b, ts);
    sb_str(b, "\",\"event_type\":");
    sb_json_string(b, e->event_type);
    sb_str(b, ",\"subject_kind\":");
    sb_json_string(b, e->subject_kind);
    sb_str(b, ",\"subject_id\":\"");
    sb_str(b, id);
    sb_str(b, "\",\"actor\":");
    sb_json_string(b, e->actor);
    sb_str(b, ",\"payload\":");
    if (!b->failed &&
        jcs_put_cbor_bytes(&b->b, e->payload, e->payload_len, NULL) != 0)
      return UV_EINVAL;
    caddr_format_raw(CADDR_BLAKE3, e->payload_digest, a);
    sb_str(b, ",\"payload_digest\":\"");
    sb_str(b, a);
    caddr_format_raw(CADDR_BLAKE3, e->chain_digest, a);
    sb_str(b, "\",\"chain_digest\":\"");
    sb_str(b, a);
    sb_str(b, "\"}");
  }
  snprintf(num, sizeof num, "%lld", (long long)next);
  sb_str(b, "],\"next\":");
  sb_str(b, num);
  sb_str(b, "}\n"); /* every JSON body ends with a newline */
  return b->failed ? UV_ENOMEM : 0;
}

static bool cbor_put(cbor_item_t *map, const char *key, cbor_item_t *v) {
  cbor_item_t *k = cbor_build_string(key);
  bool ok = k != NULL && v != NULL &&
            cbor_map_add(map, (struct cbor_pair){.key = k, .value = v});
  if (k != NULL)
    cbor_decref(&k);
  if (v != NULL)
    cbor_decref(&v);
  return ok;
}

static int events_cbor(const struct event_rec *const *evs, size_t n,
                       struct out *b) {
  char ts[TS_STRLEN + 1], id[UUID_STRLEN + 1], pd[CADDR_BUFSIZE],
      cd[CADDR_BUFSIZE];

  for (size_t i = 0; i < n; i++) {
    const struct event_rec *e = evs[i];
    cbor_item_t *m = cbor_new_definite_map(9), *bytes, *tag;
    unsigned char *out = NULL;
    size_t outsz = 0, len;
    bool ok;

    if (m == NULL)
      return UV_ENOMEM;
    ts_format(e->created_at, ts);
    uuid_format(&e->subject_id, id);
    caddr_format_raw(CADDR_BLAKE3, e->payload_digest, pd);
    caddr_format_raw(CADDR_BLAKE3, e->chain_digest, cd);
    bytes = cbor_build_bytestring(e->payload, e->payload_len);
    tag = cbor_new_tag(24);
    if (tag != NULL && bytes != NULL)
      cbor_tag_set_item(tag, bytes);
    if (bytes != NULL)
      cbor_decref(&bytes);
    ok = cbor_put(m, "sequence", e->sequence >= 0
                                     ? cbor_build_uint64((uint64_t)e->sequence)
                                     : NULL) &&
         cbor_put(m, "created_at", cbor_build_string(ts)) &&
         cbor_put(m, "event_type", cbor_build_string(e->event_type)) &&
         cbor_put(m, "subject_kind", cbor_build_string(e->subject_kind)) &&
         cbor_put(m, "subject_id", cbor_build_string(id)) &&
         cbor_put(m, "actor", cbor_build_string(e->actor)) &&
         cbor_put(m, "payload", tag) &&
         cbor_put(m, "payload_digest", cbor_build_string(pd)) &&
         cbor_put(m, "chain_digest", cbor_build_string(cd));
    len = ok ? cbor_serialize_alloc(m, &out, &outsz) : 0;
    cbor_decref(&m);
    if (len == 0) {
      free(out);
      return UV_ENOMEM;
    }
    sb_add(b, out, len);
    free(out);
  }
  return b->failed ? UV_ENOMEM : 0;
}

/* A rendered page.  During one events_hub_notify() pass the ring does not
 * change, so every waiter with the same cursor, count and representation
 * gets the same bytes: they are rendered once and reused (after a commit
 * nearly all parked waiters sit at the same cursor). */
struct page {
  bool valid;
  bool cbor;
  int64_t since;
  size_t n;
  int rc;
  struct out out;
};

static void page_render(struct page *pg, bool cbor, int64_t since,
                        const struct event_rec *const *evs, size_t n) {
  int64_t next = n > 0 ? evs[n - 1]->sequence : since;

  sbuf_free(&pg->out.b);
  memset(pg, 0, sizeof *pg);
  pg->cbor = cbor;
  pg->since = since;
  pg->n = n;
  pg->rc = cbor ? events_cbor(evs, n, &pg->out)
              : events_json(evs, n, next, &pg->out);
  pg->valid = true;
}

static void page_send(struct conn *c, const struct page *pg,
                      const struct event_rec *const *evs) {
  int64_t next = pg->n > 0 ? evs[pg->n - 1]->sequence : pg->since;
  char extra[96];

  snprintf(extra, sizeof extra,
           "X-Next-Cursor: %lld\r\nCache-Control: no-store\r\n",
           (long long)next);
  if (pg->rc != 0)
    http_problem(c, PROB_INTERNAL, "could not render the events");
  else
    http_respond(c, 200,
                 pg->cbor ? "application/cbor-seq" : "application/json",
                 extra, pg->out.b.p != NULL ? (const char *)pg->out.b.p : "",
                 pg->out.b.len);
}

static void events_respond(struct conn *c, bool cbor, int64_t since,
                           const struct event_rec *const *evs, size_t n) {
  struct page pg = {0};

  page_render(&pg, cbor, since, evs, n);
  page_send(c, &pg, evs);
  sbuf_free(&pg.out.b);
}

/* --- waiting --- */

/* The one way a waiter is freed (work.h). */
static void waiter_free_cb(struct work *ww) {
  struct waiter *w = container_of(ww, struct waiter, w);

  hub_unlink(w);
  free(w);
}

/* Ends the request: out of the hub, detached; the connection to answer. */
static struct conn *waiter_end(struct waiter *w) {
  hub_unlink(w);
  return work_end(&w->w);
}

/* Answers with evs[0..n).  memo (NULL, or two pages: JSON and CBOR)
 * reuses what an earlier waiter of the same notify pass rendered. */
static void waiter_answer(struct waiter *w, const struct event_rec *const *evs,
                          size_t n, struct page *memo) {
  struct conn *c = waiter_end(w);

  if (memo == NULL) {
    events_respond(c, w->cbor, w->since, evs, n);
  } else {
    struct page *pg = &memo[w->cbor ? 1 : 0];
    if (!pg->valid || pg->since != w->since || pg->n != n)
      page_render(pg, w->cbor, w->since, evs, n);
    page_send(c, pg, evs);
  }
}

static void waiter_timeout_cb(struct work *ww) {
  waiter_answer(container_of(ww, struct waiter, w), NULL, 0, NULL);
}

static void waiter_park(struct waiter *w) {
  hub_link(w->hub, w);
  work_timer(&w->w, (uint64_t)w->wait_s * 1000, waiter_timeout_cb);
}

/* since is past the log's end (last): 409 with the head. */
static void events_cursor_ahead(struct conn *c, int64_t since, int64_t last) {
  http_problem_member(c, PROB_CURSOR_AHEAD, "last_sequence", last,
                      "since=%lld is beyond the last event of this log "
                      "(%lld): the consumer's cursor belongs to another "
                      "log, or this store was restored from an older "
                      "backup; resynchronise the consumer",
                      (long long)since, (long long)last);
}

static void waiter_query_cb(struct query_result *res, void *arg) {
  struct waiter *w = arg;
  const struct event_rec *evs[EVENTS_LIMIT_MAX];
  size_t n = 0;

  if (!work_live(&w->w)) {
    ; /* the client has gone */
  } else if (res->status != 0) {
    struct conn *c = waiter_end(w);
    if (!fence_db_error(c, res->status, "reading the event log",
                        err_msg(&res->msg, res->status)))
      http_problem(c, PROB_DATABASE_UNAVAILABLE,
                   "reading the event log failed: %s",
                   err_msg(&res->msg, res->status));
  } else if (w->ahead && w->since > res->last_sequence) {
    events_cursor_ahead(waiter_end(w), w->since, res->last_sequence);
  } else if (res->count == 0 && w->wait_s > 0 && !w->hub->app->stopping) {
    /* nothing newer in the database: maybe committed meanwhile */
    if (evring_since(w->hub->app->ring, w->since, w->limit, evs, &n) == 0 &&
        n > 0)
      waiter_answer(w, evs, n, NULL);
    else
      waiter_park(w);
  } else {
    waiter_answer(w, (const struct event_rec *const *)res->events, res->count,
                  NULL);
  }
  query_result_free(res);
  work_unref(&w->w);
}

/* The cursor is older than the ring: read SQLite instead. */
static void waiter_query(struct waiter *w) {
  work_ref(&w->w);
  if (query_events_since(w->hub->app->reader, w->since, w->limit,
                         waiter_query_cb, w) != 0) {
    work_unref(&w->w);
    http_problem(waiter_end(w), PROB_DATABASE_UNAVAILABLE,
                 "cannot read the event log");
  }
}

void events_hub_notify(struct events_hub *h) {
  const struct event_rec *evs[EVENTS_LIMIT_MAX];
  struct waiter *w, *next;
  struct page memo[2] = {{0}, {0}};
  size_t n;

  for (w = h->head; w != NULL; w = next) {
    next = w->next;
    work_ref(&w->w);
    if (evring_since(h->app->ring, w->since, w->limit, evs, &n) == AS_AGAIN) {
      /* fell out of the ring (a huge batch): read SQLite instead, and
       * answer whatever it holds */
      hub_unlink(w);
      work_timer(&w->w, 0, NULL);
      w->wait_s = 0;
      waiter_query(w);
    } else if (n > 0) {
      waiter_answer(w, evs, n, memo);
    }
    work_unref(&w->w);
  }
  sbuf_free(&memo[0].out.b);
  sbuf_free(&memo[1].out.b);
}

void events_hub_flush(struct events_hub *h) {
  while (h->head != NULL) {
    struct waiter *w = h->head;
    work_ref(&w->w);
    waiter_answer(w, NULL, 0, NULL);
    work_unref(&w->w);
  }
}

void events_get(struct conn *c, const struct http_req *req) {
  struct app *app = handlers_app(c);
  const struct event_rec *evs[EVENTS_LIMIT_MAX];
  int64_t since = 0, limit = EVENTS_LIMIT_DEFAULT, wait_s = 0;
  struct waiter *w;
  size_t n = 0;

  if (!handlers_query_int(c, req, "since", 0, INT64_MAX, &since) ||
      !handlers_query_int(c, req, "limit", 1, EVENTS_LIMIT_MAX, &limit) ||
      !handlers_query_int(c, req, "wait", 0, EVENTS_WAIT_MAX, &wait_s))
    return;
  w = calloc(1, sizeof *w);
  if (w == NULL) {
    http_problem(c, PROB_INTERNAL, "out of memory");
    return;
  }
  work_init(&w->w, c, waiter_free_cb);
  w->hub = app->hub;
  w->since = since;
  w->limit = (unsigned)limit;
  w->wait_s = app->stopping ? 0 : wait_s;
  w->cbor = http_accepts(req, "application/cbor-seq");
  /* A cursor past the ring's end is one this log never reached (the
   * consumer followed another log, or this store was restored from an
   * older backup: an empty page would make it wait for sequences that
   * mean other events), or one SQLite has committed and the ring has not
   * heard of yet (the writer tells the loop after its COMMIT): SQLite
   * decides, and the first is 409 cursor-ahead. */
  w->ahead = since > evring_last(app->ring);
  if (w->ahead ||
      evring_since(app->ring, w->since, w->limit, evs, &n) == AS_AGAIN)
    waiter_query(w); /* older than the ring holds, or newer */
  else if (n > 0 || w->wait_s == 0)
    waiter_answer(w, evs, n, NULL);
  else
    waiter_park(w);
  work_unref(&w->w);
}
