/*
 * model.h: the domain records the registry hands to handlers.  Records
 * returned by the store are single allocations (the strings live inside
 * them) released with free().
 */
#ifndef AS_MODEL_H
#define AS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/codec/digest.h"
#include "store/codec/ts.h"
#include "store/codec/uuid.h"

enum pkg_status {
  PKG_OPEN = 1,
  PKG_FINALIZED = 2,
  PKG_EXPIRED = 3,   /* finalized, then expired: contents gone */
  PKG_ABORTED = 4,   /* never finalized: deleted or past the open TTL */
};

struct package {
  struct uuid id;
  const char *name;
  const char *producer;
  const char *subject;
  const char *retention_class;
  const char *metadata_json;   /* JCS text of the metadata object */
  const char *holds_json;      /* JSON array text of the active holds,
                                * [{id, package_id, reason, placed_at,
                                * actor}] as the API shows them */
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
  enum pkg_status package_status; /* of the package holding the file */
};

#endif
