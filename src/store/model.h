/*
 * model.h: the domain records the store hands to handlers, plus ids and
 * timestamps.  Records returned by the store are single allocations (the
 * strings live inside them) released with free().
 */
#ifndef AS_MODEL_H
#define AS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/digest.h"

#define UUID_LEN 16
#define UUID_STRLEN 36          /* 8-4-4-4-12, lowercase */
#define TS_STRLEN 27            /* 2026-11-22T14:24:53.123456Z */
#define TS_NONE INT64_MIN       /* timestamp not set (JSON null) */

struct uuid {
  uint8_t b[UUID_LEN];
};

/* Accepts the 36-character hyphenated form, either case. 0 or UV_EINVAL. */
int uuid_parse(const char *s, size_t n, struct uuid *out);
void uuid_format(const struct uuid *u, char out[UUID_STRLEN + 1]);
/* RFC 9562 UUIDv7 for the given Unix time in milliseconds. */
void uuid_v7(uint64_t unix_ms, struct uuid *out);

/* Microseconds since the Unix epoch, UTC, from the wall clock. */
int64_t ts_now_us(void);
/* RFC 3339 UTC with microseconds; out holds TS_STRLEN + 1 bytes. */
void ts_format(int64_t us, char out[TS_STRLEN + 1]);

enum pkg_status {
  PKG_OPEN = 1,
  PKG_FINALIZED = 2,
};

struct package {
  struct uuid id;
  const char *name;
  const char *producer;
  const char *subject;
  const char *retention_class;
  const char *metadata_json;   /* JCS text of the metadata object */
  enum pkg_status status;
  int64_t created_at;          /* us */
  int64_t finalized_at;        /* us or TS_NONE */
  int64_t expires_at;          /* us or TS_NONE (permanent) */
  bool has_manifest;
  uint8_t manifest_digest[DIGEST_LEN]; /* blake3 of the manifest CBOR */
};

struct file_rec {
  struct uuid id;
  struct uuid package_id;
  const char *path;
  const char *media_type;
  uint64_t size;
  struct digest_pair digests;
};

struct event_rec {
  int64_t sequence;
  int64_t created_at;          /* us */
  const char *event_type;      /* e.g. "v1.package.created" */
  const char *subject_kind;    /* "package", "file", ... */
  struct uuid subject_id;
  const char *actor;
  const uint8_t *payload;      /* canonical CBOR */
  size_t payload_len;
  uint8_t payload_digest[DIGEST_LEN];
  uint8_t chain_digest[DIGEST_LEN];
};

/* Deep copy of an event into one allocation (free() releases it). */
struct event_rec *event_rec_dup(const struct event_rec *ev);
/* Bytes event_rec_dup allocates for ev; 0 when that would overflow. */
size_t event_rec_size(const struct event_rec *ev);

#endif
