/*
 * registry.h: the registry's operations (DESIGN.md, "Domain"): create a
 * package, record an ingested file, finalize.  Each is a job of the writer
 * thread (store/evlog/writer.h): it validates against the views, chooses
 * ids and timestamps, emits its event, and its callback runs on the loop
 * thread only after the event is committed.
 */
#ifndef AS_REGISTRY_H
#define AS_REGISTRY_H

#include <stdint.h>

#include "store/evlog/writer.h"
#include "store/registry/model.h"
#include "util/common.h"

#define REG_FIELD_MAX 1024            /* bytes of name, producer, ... */
#define REG_METADATA_MAX (64 * 1024)  /* bytes of metadata JSON */
#define REG_ACTOR_ANONYMOUS "anonymous" /* the actor when none is known */
#define REG_MEDIA_DEFAULT "application/octet-stream"
#define REG_DURATION_MAX 6311520000LL  /* seconds of a class: 200 years (an
                                       * expiry must stay a CBOR integer, at
                                       * most 2^53 us: the year 2255) */

/* Domain outcomes, each mapped by the HTTP layer to one problem type. */
enum reg_error {
  REG_OK = 0,
  REG_INVALID,              /* a field is missing or malformed */
  REG_UNKNOWN_RETENTION,    /* retention_class is not a known class */
  REG_NO_PACKAGE,           /* package id does not exist */
  REG_PACKAGE_FINALIZED,    /* package is finalized: no more files */
  REG_DUPLICATE_PATH,       /* path already exists in the package */
  REG_ALREADY_FINALIZED,    /* finalize on a finalized package */
  REG_PACKAGE_EXPIRED,      /* the package expired: contents gone */
  REG_PACKAGE_ABORTED,      /* the package was aborted */
  REG_NOT_FINALIZED,        /* needs a finalized package */
  REG_SHORTENING,           /* would make retention shorter */
  REG_RETENTION_ACTIVE,     /* delete before expiry */
  REG_PACKAGE_HELD,         /* an active hold forbids it */
  REG_NO_HOLD,              /* the package has no such active hold */
  REG_CLASS_IN_USE,         /* class removal while packages use it */
  REG_INTERNAL,             /* database failure: status says which */
};

/* A blob the collector collected (or, in a dry run, would collect). */
struct reg_collected {
  uint8_t blake3[DIGEST_LEN];
  uint64_t size;
  int64_t unreferenced_seq;    /* 0: an orphan */
  int64_t unreferenced_at;     /* us, 0 for an orphan */
  int64_t sequence;            /* its v1.blob.collected (0 in a dry run) */
};

struct reg_result {
  enum reg_error error;
  struct errbuf msg;           /* set when error != REG_OK */
  int status;                  /* REG_INTERNAL: the UV_E* cause (UV_ENOSPC,
                                * UV_EIO, EVLOG_ECORRUPT, ...), or 0 */
  struct package *package;     /* create, finalize: the package after it */
  struct file_rec *file;       /* file ingest: the recorded file */
  int64_t sequence;            /* last event sequence written */
  /* sweeper and collector (lifecycle.h) */
  unsigned expired, aborted;   /* sweep: packages ended by this job */
  struct reg_collected *collected; /* collect: malloc'd, ncollected */
  size_t ncollected;
  bool more;                   /* the limit was reached: run again */
  /* retention (retention.h) */
  bool created;                /* class define: the class is new */
  struct uuid hold_id;         /* hold place: the new hold */
  int64_t placed_at;           /* hold place: us */
  int64_t expires_at;          /* REG_RETENTION_ACTIVE: when the package
                                * expires (TS_NONE: never) */
};

/* Called on the loop thread; res and everything in it is freed after the
 * callback returns (copy what you keep). */
typedef void (*reg_cb)(const struct reg_result *res, void *arg);

struct pkg_create_req {
  const char *name, *producer, *subject, *retention_class;
  const char *metadata_json;   /* JSON object text, or NULL for {} */
  const char *actor;           /* NULL or "": REG_ACTOR_ANONYMOUS */
};

struct file_ingest_req {
  struct uuid package_id;
  const char *path;            /* already checked by relpath_check */
  const char *media_type;      /* NULL or "": REG_MEDIA_DEFAULT */
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
