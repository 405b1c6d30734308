/*
 * jcs.h: the RFC 8785 (JSON Canonicalization Scheme) projection of
 * canonical CBOR documents, and JSON back to canonical CBOR.
 *
 * Because the CBOR subset (ccbor.h) holds only integers within +-2^53, text
 * keys and the JSON literals, JCS of a document is exact and converting it
 * back yields byte-identical canonical CBOR.  JSON numbers with a fraction
 * or exponent, or integers outside +-2^53, are rejected with a clear error.
 */
#ifndef AS_JCS_H
#define AS_JCS_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>
#include <jansson.h>

#include "util/common.h"
#include "util/sbuf.h"

/* JCS text of item (malloc'd, NUL-terminated, *outlen excludes the NUL). */
int jcs_from_cbor(const cbor_item_t *item, char **out, size_t *outlen,
                  struct errbuf *e);

/* Canonical CBOR bytes straight to JCS text. */
int jcs_from_cbor_bytes(const uint8_t *buf, size_t len, char **out,
                        size_t *outlen, struct errbuf *e);

/* A jansson value to a libcbor tree within the subset (caller decrefs). */
int jcs_json_to_cbor(const json_t *json, cbor_item_t **out, struct errbuf *e);

/* JSON text (any formatting) to canonical CBOR bytes (malloc'd).  Rejects
 * duplicate object keys, non-integers, integers beyond +-2^53. */
int jcs_text_to_ccbor(const char *text, size_t len, uint8_t **out,
                      size_t *outlen, struct errbuf *e);

/* Appends the JCS text of canonical CBOR bytes to b (no NUL).  0, or an
 * error as jcs_from_cbor_bytes; b may then hold a partial text. */
int jcs_put_cbor_bytes(struct sbuf *b, const uint8_t *buf, size_t len,
                       struct errbuf *e);

/* Appends s[0..n) (UTF-8) as a JCS string literal, quotes included: only
 * '"', '\\' and control characters are escaped.  0 or UV_ENOMEM. */
int jcs_put_string(struct sbuf *b, const uint8_t *s, size_t n);

#endif
