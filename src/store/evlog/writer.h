/*
 * writer.h: the single SQLite writer thread and the registry operations.
 *
 * One thread owns the only read-write connection.  The loop queues
 * requests; the thread takes everything queued, runs it in one transaction
 * with a SAVEPOINT per request (a failing request rolls back alone), commits
 * once (group commit) and hands results back with uv_async_send.  A
 * request's callback runs on the loop thread only after its commit is
 * durable (WAL, synchronous=FULL).  Each request validates against the
 * views, emits its events and applies them through the same view handlers
 * that replay uses (views.h).
 */
#ifndef AS_WRITER_H
#define AS_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "util/common.h"
#include "store/evlog/event.h"
#include "store/registry/model.h"

struct writer;

/* Domain outcomes, each mapped by the HTTP layer to one problem type. */
enum reg_error {
  REG_OK = 0,
  REG_INVALID,              /* a field is missing or malformed */
  REG_UNKNOWN_RETENTION,    /* retention_class is not a known class */
  REG_NO_PACKAGE,           /* package id does not exist */
  REG_PACKAGE_FINALIZED,    /* package is finalized: no more files */
  REG_DUPLICATE_PATH,       /* path already exists in the package */
  REG_ALREADY_FINALIZED,    /* finalize on a finalized package */
  REG_INTERNAL,             /* database failure */
};

struct reg_result {
  enum reg_error error;
  struct errbuf msg;           /* set when error != REG_OK */
  struct package *package;     /* create, finalize: the package after it */
  struct file_rec *file;       /* file ingest: the recorded file */
  int64_t sequence;            /* last event sequence written */
};

/* Called on the loop thread; res and everything in it is freed after the
 * callback returns (copy what you keep). */
typedef void (*reg_cb)(const struct reg_result *res, void *arg);

/* Called on the loop thread after every commit with the new events in
 * sequence order (for the in-memory ring and long-poll wake-ups). */
typedef void (*writer_commit_cb)(const struct event_rec *evs, size_t n,
                                 void *arg);

struct writer_stats {
  uint64_t batches;            /* committed transactions */
  uint64_t requests;           /* requests processed */
  uint64_t max_batch;          /* largest batch seen */
  uint64_t multi_batches;      /* batches holding more than one request */
  int64_t last_sequence;
};

/* Opens the database (creating it, applying migrations), starts the thread.
 * Synchronous; call before the loop runs. */
int writer_open(uv_loop_t *loop, const char *db_path, struct writer **out,
                struct errbuf *e);
void writer_set_commit_cb(struct writer *w, writer_commit_cb cb, void *arg);
/* Stops accepting, drains the queue, joins the thread, closes the
 * database, and calls done_cb on the loop thread; w is freed after. */
void writer_close(struct writer *w, void (*done_cb)(void *arg), void *arg);
void writer_get_stats(struct writer *w, struct writer_stats *out);
/* Test hook: while held, the thread takes no new work; releasing it lets
 * the thread take everything queued meanwhile as one batch. */
void writer_hold(struct writer *w, bool hold);
/* Test hook: in the next batch, after its `after`-th request, roll the
 * whole transaction back the way SQLite does on an I/O error or a full
 * disk.  0 turns it off. */
void writer_test_rollback(struct writer *w, unsigned after);

struct pkg_create_req {
  const char *name, *producer, *subject, *retention_class;
  const char *metadata_json;   /* JSON object text, or NULL for {} */
  const char *actor;
};

struct file_ingest_req {
  struct uuid package_id;
  const char *path;            /* already checked by relpath_check */
  const char *media_type;
  uint64_t size;
  struct digest_pair digests;
  const char *actor;
};

/* Each returns 0 when queued (cb will run) or a negative code (cb will
 * not run).  Strings are copied. */
int reg_package_create(struct writer *w, const struct pkg_create_req *req,
                       reg_cb cb, void *arg);
int reg_file_ingest(struct writer *w, const struct file_ingest_req *req,
                    reg_cb cb, void *arg);
int reg_package_finalize(struct writer *w, const struct uuid *package_id,
                         const char *actor, reg_cb cb, void *arg);

#endif
