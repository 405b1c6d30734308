/*
 * views_payload.c: reading event payloads for the view functions (the
 * fields of a canonical CBOR map, in place: cview.h), and running their
 * statements so that an event the views cannot take is named.
 */
#include "store/registry/views_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/codec/ccbor.h"
#include "store/codec/jcs.h"

/* Runs st once its binds are done (rc: how they went), then resets it.
 * A constraint the event breaks (a package or class it names is missing,
 * an id or path it adds exists) is UV_EPROTO naming the event: the log
 * holds something the views cannot take.  No lookup ahead of the write
 * finds these, to keep the writer and replay fast: the caller's savepoint
 * (writer) or transaction (replay) undoes what the event had changed, and
 * a rebuild, which runs with reference checks off, finds broken
 * references in bulk before it commits (evlog_check). */
int views_run(struct evlog_stmt *st, int rc,
                     const struct event_rec *ev, const char *what,
                     struct errbuf *e) {
  if (rc != 0) {
    evlog_reset(st);
    return err_set(e, rc, "database: %s failed: cannot bind a value: %s",
                   what, uv_strerror(rc));
  }
  rc = evlog_run(st, what, e);
  if (rc == UV_EEXIST) {
    char why[ERRBUF_MAX];
    snprintf(why, sizeof why, "%s", err_msg(e, rc));
    return err_set(e, UV_EPROTO,
                   "event %lld (%s) does not fit the views (%s): run "
                   "--verify-log",
                   (long long)ev->sequence, ev->event_type, why);
  }
  return rc;
}

/* ---- payload access ---------------------------------------------------- */

/* Payload fields are read in place (cview.h): no item tree per event. */

int views_bad(const struct event_rec *ev, const char *key,
                     struct errbuf *e) {
  return err_set(e, UV_EPROTO,
                 "event %lld (%s): payload field \"%s\" is missing or has the "
                 "wrong type",
                 (long long)ev->sequence, ev->event_type, key);
}

/* Reads the fields keys[0..n) of map m into out; a malformed map names
 * the event. */
int views_fields(const struct cview *m, const char *const *keys,
                        size_t n, struct cview *out,
                        const struct event_rec *ev, struct errbuf *e) {
  if (cview_map(m, keys, n, out) != 0)
    return err_set(e, UV_EPROTO,
                   "event %lld (%s): payload is not a canonical CBOR map",
                   (long long)ev->sequence, ev->event_type);
  return 0;
}

int views_text(const struct cview *v, const char *key,
                      const struct event_rec *ev, struct views_text *out,
                      struct errbuf *e) {
  if (cview_text(v, &out->s, &out->n) != 0)
    return views_bad(ev, key, e);
  return 0;
}

int views_int(const struct cview *v, const char *key,
                     const struct event_rec *ev, int64_t *out,
                     struct errbuf *e) {
  if (cview_int(v, out) != 0)
    return views_bad(ev, key, e);
  return 0;
}

int views_uuid(const struct cview *v, const char *key,
                      const struct event_rec *ev, struct uuid *out,
                      struct errbuf *e) {
  struct views_text t;

  if (views_text(v, key, ev, &t, e) != 0 || uuid_parse(t.s, t.n, out) != 0)
    return views_bad(ev, key, e);
  return 0;
}

int views_digest(const struct cview *v, const char *key,
                        enum caddr_alg alg, const struct event_rec *ev,
                        uint8_t out[DIGEST_LEN], struct errbuf *e) {
  struct views_text t;
  struct caddr a;

  if (views_text(v, key, ev, &t, e) != 0 ||
      caddr_parse(t.s, t.n, &a, NULL) != 0 || a.alg != alg)
    return views_bad(ev, key, e);
  memcpy(out, a.d, DIGEST_LEN);
  return 0;
}

/* The metadata object as JCS text (malloc'd): the one nested value a
 * handler needs whole, decoded strictly. */
int views_metadata(const struct cview *v, const struct event_rec *ev,
                          char **json, size_t *len, struct errbuf *e) {
  cbor_item_t *meta = NULL;
  int rc;

  if (!cview_is_map(v) || ccbor_decode(v->p, v->n, &meta, NULL) != 0)
    return views_bad(ev, "metadata", e);
  rc = jcs_from_cbor(meta, json, len, e);
  cbor_decref(&meta);
  return rc;
}

int views_bind_text(struct evlog_stmt *st, int col,
                           const struct views_text *t) {
  return evlog_bind_text(st, col, t->s, t->n);
}


int views_opt_int(const struct cview *v, const char *key,
                  const struct event_rec *ev, int64_t *out, bool *null,
                  struct errbuf *e) {
  *null = cview_is_null(v);
  *out = 0;
  if (*null)
    return 0;
  return views_int(v, key, ev, out, e);
}

int views_bind_opt_int(struct evlog_stmt *st, int col, int64_t v,
                       bool null) {
  return null ? evlog_bind_null(st, col) : evlog_bind_int(st, col, v);
}
