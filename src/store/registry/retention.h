/*
 * retention.h: the client's retention operations (issue 13,
 * docs/OPERATOR.md "Retention", payloads in docs/EVENTS.md), writer jobs
 * like those of registry.h: define and remove classes, extend a
 * package's retention, place and release legal holds, delete a package.
 * Nothing here ever makes retention shorter.
 */
#ifndef AS_RETENTION_H
#define AS_RETENTION_H

#include <stdint.h>

#include "store/registry/registry.h"

#define REG_CLASS_NAME_MAX 64   /* bytes of a class name */
#define REG_NEVER (-1)          /* a duration: the class never expires */

/* 0 when name is a valid class name (1..REG_CLASS_NAME_MAX bytes of
 * a-z, 0-9, '-', '.', '_', starting with a letter or digit), else
 * UV_EINVAL with the reason in e. */
int reg_class_name_check(const char *name, struct errbuf *e);

/* Defines class name with duration seconds (1..REG_DURATION_MAX, or
 * REG_NEVER), or raises an existing class to it: res->created says a new
 * class; res->sequence is 0 when nothing changed (same duration); a
 * shorter one is REG_SHORTENING. */
int reg_class_define(struct writer *w, const char *name, int64_t duration,
                     const char *actor, reg_cb cb, void *arg);
/* Removes a class no package uses and the seed does not hold:
 * REG_UNKNOWN_RETENTION, REG_CLASS_IN_USE. */
int reg_class_remove(struct writer *w, const char *name, const char *actor,
                     reg_cb cb, void *arg);

/* Moves a package to class retention_class (not NULL), or (NULL) makes
 * it expire at expires_at (us; finalized packages only).  res->package
 * is the package after it; res->sequence 0 when nothing changed. */
int reg_retention_extend(struct writer *w, const struct uuid *package_id,
                         const char *retention_class, int64_t expires_at,
                         const char *actor, reg_cb cb, void *arg);

/* A new active hold on the package (reason: 1..REG_FIELD_MAX bytes of
 * UTF-8): res->hold_id, res->placed_at. */
int reg_hold_place(struct writer *w, const struct uuid *package_id,
                   const char *reason, const char *actor, reg_cb cb,
                   void *arg);
/* Releases an active hold of the package: REG_NO_HOLD when it has none
 * with this id. */
int reg_hold_release(struct writer *w, const struct uuid *package_id,
                     const struct uuid *hold_id, const char *actor,
                     reg_cb cb, void *arg);

/* DELETE of a package: aborts an open one (reason "deleted"), expires a
 * finalized one whose expires_at has passed; REG_PACKAGE_HELD,
 * REG_RETENTION_ACTIVE (res->expires_at), REG_PACKAGE_EXPIRED,
 * REG_PACKAGE_ABORTED.  res->package is the package after it. */
int reg_package_delete(struct writer *w, const struct uuid *package_id,
                       const char *actor, reg_cb cb, void *arg);

#endif
