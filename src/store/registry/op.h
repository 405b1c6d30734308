/*
 * op.h: what the registry's operations share (private to
 * src/store/registry: packages.c, files.c).  An operation is a writer job
 * (struct reg_job, first in the operation's struct, allocated with its
 * string arguments by strpack_alloc) carrying its caller's callback and
 * its result; op.c
 * submits it, turns a writer failure into REG_INTERNAL and hands the
 * result to the caller on the loop thread.  The helpers build the event
 * payload (canonical CBOR) and emit it.
 */
#ifndef AS_REG_OP_H
#define AS_REG_OP_H

#include <stdbool.h>
#include <stddef.h>

#include <cbor.h>

#include "store/codec/caddr.h"
#include "store/registry/registry.h"
#include "util/strpack.h"

struct reg_job {
  struct writer_job wj;
  reg_cb cb;
  void *arg;
  const char *actor;           /* points into the job (copied) */
  struct reg_result res;
};

/* Queues j (freed with its result after the callback, or here when
 * queueing fails). */
int reg_job_submit(struct writer *w, struct reg_job *j, writer_run_cb run,
                   reg_cb cb, void *arg);
/* What a run callback returns: 0 to keep, non-zero to roll back. */
int reg_job_status(const struct reg_job *j);

void reg_err(struct reg_result *res, enum reg_error err, const char *fmt,
             ...) __attribute__((format(printf, 3, 4)));
/* REG_INTERNAL with e's message. */
void reg_internal(struct reg_result *res, int rc, const struct errbuf *e);
/* Checks a required text field: non-empty, at most REG_FIELD_MAX bytes,
 * UTF-8.  false with res filled. */
bool reg_field(struct reg_result *res, const char *name, const char *v);
/* Microseconds now; *unix_ms the same in milliseconds (for ids). */
int64_t reg_now(int64_t *unix_ms);
int reg_put_uuid(cbor_item_t *map, const char *key, const struct uuid *id);
int reg_put_caddr(cbor_item_t *map, const char *key, enum caddr_alg alg,
                  const uint8_t *d);
/* JSON object text (or NULL for {}) to a CBOR map; fills res on error. */
int reg_metadata(const char *text, cbor_item_t **out,
                 struct reg_result *res);
/* Encodes map (released here; build_rc is the result of building it) and
 * emits it as the job's event; fills j->res (sequence, or the error). */
void reg_emit(struct wtx *tx, struct reg_job *j, cbor_item_t *map,
              int build_rc, const char *type, const char *kind,
              const struct uuid *subject, int64_t created_at);

/* Emits v1.package.expired (expired: the package was finalized and
 * expires_at, when it fell due, had passed at as_of) or v1.package.aborted
 * (an open package; reason "deleted" or "open-package-ttl") for package
 * id, decided at as_of, with the job's actor.  Fills j->res as reg_emit. */
void reg_emit_ended(struct wtx *tx, struct reg_job *j, const struct uuid *id,
                    bool expired, int64_t expires_at, const char *reason,
                    int64_t as_of);
/* How many active holds the package has (0 or more), or a negative error
 * with res filled. */
int64_t reg_active_holds(struct wtx *tx, const struct uuid *id,
                         struct reg_result *res);

/* The package / file row as it is now, into the result. */
int reg_load_package(struct wtx *tx, const struct uuid *id,
                     struct package **out, struct errbuf *e);
int reg_load_file(struct wtx *tx, const struct uuid *id,
                  struct file_rec **out, struct errbuf *e);
/* true when the package exists and is open; else fills res with
 * REG_NO_PACKAGE or finalized_err. */
bool reg_open_package(struct wtx *tx, const struct uuid *id,
                      struct reg_result *res, enum reg_error finalized_err);

#endif
