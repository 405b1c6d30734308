/*
 * views_int.h: what the view functions share (private to
 * src/store/registry): reading payload fields in place and running a
 * statement so that an event the views cannot take is named
 * (views_payload.c), and the apply functions of the retention lifecycle
 * (views_retention.c) for views.c's dispatch table.
 */
#ifndef AS_VIEWS_INT_H
#define AS_VIEWS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/codec/caddr.h"
#include "store/codec/cview.h"
#include "store/codec/digest.h"
#include "store/codec/uuid.h"
#include "store/evlog/evlog.h"
#include "store/registry/views.h"

struct views_text {
  const char *s;
  size_t n;
};

/* Runs st once its binds are done (rc: how they went), then resets it; a
 * constraint the event breaks is UV_EPROTO naming the event. */
int views_run(struct evlog_stmt *st, int rc, const struct event_rec *ev,
              const char *what, struct errbuf *e);
/* UV_EPROTO: payload field key is missing or has the wrong type. */
int views_bad(const struct event_rec *ev, const char *key, struct errbuf *e);
/* The fields keys[0..n) of map m into out ({NULL, 0} when absent). */
int views_fields(const struct cview *m, const char *const *keys, size_t n,
                 struct cview *out, const struct event_rec *ev,
                 struct errbuf *e);
int views_text(const struct cview *v, const char *key,
               const struct event_rec *ev, struct views_text *out,
               struct errbuf *e);
int views_int(const struct cview *v, const char *key,
              const struct event_rec *ev, int64_t *out, struct errbuf *e);
/* An integer or null (*null set). */
int views_opt_int(const struct cview *v, const char *key,
                  const struct event_rec *ev, int64_t *out, bool *null,
                  struct errbuf *e);
int views_uuid(const struct cview *v, const char *key,
               const struct event_rec *ev, struct uuid *out,
               struct errbuf *e);
int views_digest(const struct cview *v, const char *key, enum caddr_alg alg,
                 const struct event_rec *ev, uint8_t out[DIGEST_LEN],
                 struct errbuf *e);
/* The metadata object as JCS text (malloc'd). */
int views_metadata(const struct cview *v, const struct event_rec *ev,
                   char **json, size_t *len, struct errbuf *e);
int views_bind_text(struct evlog_stmt *st, int col,
                    const struct views_text *t);
int views_bind_opt_int(struct evlog_stmt *st, int col, int64_t v, bool null);

/* views_retention.c, one per event type (payloads in docs/EVENTS.md) */
typedef int (*views_apply_fn)(struct evlog_db *db, const struct event_rec *ev,
                              const struct cview *payload, struct errbuf *e);
int views_class_defined(struct evlog_db *db, const struct event_rec *ev,
                        const struct cview *p, struct errbuf *e);
int views_class_removed(struct evlog_db *db, const struct event_rec *ev,
                        const struct cview *p, struct errbuf *e);
int views_retention_extended(struct evlog_db *db, const struct event_rec *ev,
                             const struct cview *p, struct errbuf *e);
int views_hold_placed(struct evlog_db *db, const struct event_rec *ev,
                      const struct cview *p, struct errbuf *e);
int views_hold_released(struct evlog_db *db, const struct event_rec *ev,
                        const struct cview *p, struct errbuf *e);
int views_package_ended(struct evlog_db *db, const struct event_rec *ev,
                        const struct cview *p, struct errbuf *e);
int views_blob_collected(struct evlog_db *db, const struct event_rec *ev,
                         const struct cview *p, struct errbuf *e);

#endif
