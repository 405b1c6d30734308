/*
 * ccbor.h: canonical CBOR (RFC 8949 section 4.2.1 deterministic encoding)
 * for the JSON data model subset of DESIGN.md invariant 4, over libcbor.
 *
 * Subset: maps with text-string keys, arrays, text strings (valid UTF-8
 * without U+0000, so every document has an exact JCS form and C-string
 * keys), integers in [-(2^53), 2^53], true, false, null.  No byte strings,
 * floats, tags, undefined or indefinite lengths.
 *
 * The encoder takes any libcbor item tree within the subset (maps may be
 * built in any key order) and emits the canonical bytes: shortest argument
 * forms, definite lengths, map keys sorted by their encoded bytes.
 * Duplicate keys are an error.  The decoder accepts only bytes that are
 * exactly canonical; re-encoding what it returns yields the same bytes.
 */
#ifndef AS_CCBOR_H
#define AS_CCBOR_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

#include "util/common.h"

#define CCBOR_MAX_DEPTH 64 /* nesting levels accepted by encoder and decoder */
#define CCBOR_MAX_INT ((int64_t)1 << 53)

/* Encodes item into a malloc'd buffer (*out, *outlen); caller frees.
 * UV_EINVAL (with reason) when the tree leaves the subset or a map has a
 * duplicate key; UV_ENOMEM. */
int ccbor_encode(const cbor_item_t *item, uint8_t **out, size_t *outlen,
                 struct errbuf *e);

/* Decodes exactly len bytes of canonical CBOR into a new item tree (caller
 * releases with cbor_decref).  UV_EINVAL (with reason) for malformed,
 * trailing, non-canonical or out-of-subset input. */
int ccbor_decode(const uint8_t *buf, size_t len, cbor_item_t **out,
                 struct errbuf *e);

/* Convenience builders for payload code.  Each returns 0 or UV_ENOMEM /
 * UV_EINVAL; "put" adds key -> value to a map built with
 * ccbor_map_new(), taking ownership of value (also on failure).  The map
 * grows past capacity (a hint) as needed; a duplicate or non-UTF-8 key is
 * UV_EINVAL; a NULL value (a failed builder) is UV_ENOMEM. */
cbor_item_t *ccbor_map_new(size_t capacity);
int ccbor_map_put(cbor_item_t *map, const char *key, cbor_item_t *value);
int ccbor_map_put_str(cbor_item_t *map, const char *key, const char *value);
int ccbor_map_put_int(cbor_item_t *map, const char *key, int64_t value);
int ccbor_map_put_null(cbor_item_t *map, const char *key);
cbor_item_t *ccbor_int(int64_t v);  /* NULL when out of range or ENOMEM */
cbor_item_t *ccbor_str(const char *s, size_t n);

/* Lookup helpers for decoded trees: the value for key, or NULL. */
const cbor_item_t *ccbor_map_get(const cbor_item_t *map, const char *key);
/* 0 with *v set, or UV_EINVAL when item is not an integer. */
int ccbor_get_int(const cbor_item_t *item, int64_t *v);

#endif
