/*
 * ccbor.c: canonical CBOR for event payloads and manifests (see ccbor.h).
 *
 * libcbor holds the item trees; its serializer neither sorts map keys nor
 * checks our subset, and its decoder accepts non-canonical input, so both
 * directions are done here by hand.
 *
 * Wire format (RFC 8949 section 4.2.1, JSON data model subset):
 *
 *   head  = one byte (major type << 5 | additional info) and 0, 1, 2, 4
 *           or 8 argument bytes, big-endian.  The argument uses the
 *           shortest form: < 24 inline, else ai 24/25/26/27 only when the
 *           value does not fit the next smaller form.
 *   major 0  unsigned integer  0 .. 2^53
 *   major 1  negative integer  -1 - arg, arg 0 .. 2^53 - 1
 *   major 3  text string       arg = byte length; valid UTF-8, no U+0000
 *   major 4  array             arg = number of items
 *   major 5  map               arg = number of pairs; keys are text strings
 *                              in strictly increasing order of their encoded
 *                              bytes (shorter first, then bytewise)
 *   major 7  0xf4 false, 0xf5 true, 0xf6 null; nothing else
 *
 * Never used: major 2 (byte strings), major 6 (tags), floats, undefined,
 * other simple values, indefinite lengths (ai 31).  U+0000 is excluded so
 * that every document survives the JCS projection (jcs.h) and C-string
 * keys; containers nest at most CCBOR_MAX_DEPTH levels.
 */
#include "store/codec/ccbor.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"
#include "util/utf8.h"

#define CCBOR_MAJOR_UINT 0
#define CCBOR_MAJOR_NEGINT 1
#define CCBOR_MAJOR_BYTES 2
#define CCBOR_MAJOR_TEXT 3
#define CCBOR_MAJOR_ARRAY 4
#define CCBOR_MAJOR_MAP 5
#define CCBOR_MAJOR_TAG 6
#define CCBOR_MAJOR_SIMPLE 7

#define CCBOR_FALSE 0xf4
#define CCBOR_TRUE 0xf5
#define CCBOR_NULL 0xf6

#define CCBOR_MAX_UINT ((uint64_t)CCBOR_MAX_INT)       /* major 0 argument */
#define CCBOR_MAX_NEGARG ((uint64_t)CCBOR_MAX_INT - 1) /* major 1 argument */

#define CCBOR_FLOAT_MSG \
  "floats are not allowed in canonical payloads; use an integer or a string"

/* ------------------------------------------------------------------ */
/* Shared checks                                                       */
/* ------------------------------------------------------------------ */

/* Text must be valid UTF-8 without U+0000; off locates s for the message. */
static int ccbor_check_text(const uint8_t *s, size_t n, const char *what,
                            size_t off, struct errbuf *e) {
  size_t ok = utf8_valid_prefix(s, n);

  if (ok != n)
    return err_set(e, UV_EINVAL,
                   "%s is not valid UTF-8 (bad byte 0x%02x at offset %zu)",
                   what, s[ok], off + ok);
  if (n > 0 && memchr(s, 0, n) != NULL)
    return err_set(e, UV_EINVAL,
                   "%s contains U+0000, which canonical payloads do not allow",
                   what);
  return 0;
}

/* Order of two text keys by their canonical encoding.  A text head grows
 * with the length, so comparing encoded bytes means: shorter key first,
 * equal lengths bytewise. */
static int ccbor_key_order(const uint8_t *a, size_t alen, const uint8_t *b,
                           size_t blen) {
  if (alen != blen)
    return alen < blen ? -1 : 1;
  return alen == 0 ? 0 : memcmp(a, b, alen);
}

/* ------------------------------------------------------------------ */
/* Encoder                                                             */
/* ------------------------------------------------------------------ */

struct ccbor_enc {
  struct sbuf out;
  struct errbuf *e;
};

static int enc_head(struct sbuf *b, unsigned major, uint64_t arg) {
  uint8_t h[9];
  size_t n, i;

  major <<= 5;
  if (arg < 24) {
    h[0] = (uint8_t)(major | arg);
    return sbuf_put(b, h, 1);
  }
  if (arg <= UINT8_MAX)
    h[0] = (uint8_t)(major | 24), n = 1;
  else if (arg <= UINT16_MAX)
    h[0] = (uint8_t)(major | 25), n = 2;
  else if (arg <= UINT32_MAX)
    h[0] = (uint8_t)(major | 26), n = 4;
  else
    h[0] = (uint8_t)(major | 27), n = 8;
  for (i = 0; i < n; i++)
    h[1 + i] = (uint8_t)(arg >> (8 * (n - 1 - i)));
  return sbuf_put(b, h, 1 + n);
}

/* Validates a text item; *s and *n receive its bytes. */
static int enc_text_check(const cbor_item_t *it, const char *what,
                          const uint8_t **s, size_t *n, struct errbuf *e) {
  *s = NULL; /* defined on every path, also when refused */
  *n = 0;
  if (!cbor_string_is_definite(it))
    return err_set(e, UV_EINVAL,
                   "%s is a chunked (indefinite) string; build it with "
                   "cbor_build_stringn or ccbor_str", what);
  *n = cbor_string_length(it);
  *s = cbor_string_handle(it);
  if (*n > 0 && *s == NULL)
    return err_set(e, UV_EINVAL, "%s has no data", what);
  return ccbor_check_text(*s, *n, what, 0, e);
}

static int enc_pair_cmp(const void *a, const void *b) {
  const struct cbor_pair *pa = *(const struct cbor_pair *const *)a;
  const struct cbor_pair *pb = *(const struct cbor_pair *const *)b;

  return ccbor_key_order(cbor_string_handle(pa->key),
                         cbor_string_length(pa->key),
                         cbor_string_handle(pb->key),
                         cbor_string_length(pb->key));
}

static int enc_item(struct ccbor_enc *x, const cbor_item_t *it, int depth);

static int enc_map(struct ccbor_enc *x, const cbor_item_t *it, int depth) {
  size_t n = cbor_map_size(it), i, klen;
  struct cbor_pair *pairs = cbor_map_handle(it);
  const struct cbor_pair **sorted;
  const uint8_t *k;
  int rc;

  if (n == 0)
    return enc_head(&x->out, CCBOR_MAJOR_MAP, 0);
  if (n > SIZE_MAX / sizeof *sorted)
    return UV_ENOMEM;
  sorted = malloc(n * sizeof *sorted);
  if (sorted == NULL)
    return UV_ENOMEM;
  for (i = 0; i < n; i++) {
    if (pairs[i].key == NULL || pairs[i].value == NULL) {
      rc = err_set(x->e, UV_EINVAL, "map entry %zu has no key or no value", i);
      goto out;
    }
    if (!cbor_isa_string(pairs[i].key)) {
      rc = err_set(x->e, UV_EINVAL,
                   "map keys must be text strings (entry %zu is not)", i);
      goto out;
    }
    rc = enc_text_check(pairs[i].key, "map key", &k, &klen, x->e);
    if (rc != 0)
      goto out;
    sorted[i] = &pairs[i];
  }
  qsort(sorted, n, sizeof *sorted, enc_pair_cmp);
  for (i = 1; i < n; i++) {
    if (enc_pair_cmp(&sorted[i - 1], &sorted[i]) == 0) {
      klen = cbor_string_length(sorted[i]->key);
      rc = err_set(x->e, UV_EINVAL, "duplicate map key \"%.*s\"",
                   klen > 64 ? 64 : (int)klen,
                   (const char *)cbor_string_handle(sorted[i]->key));
      goto out;
    }
  }
  rc = enc_head(&x->out, CCBOR_MAJOR_MAP, n);
  for (i = 0; rc == 0 && i < n; i++) {
    rc = enc_item(x, sorted[i]->key, depth + 1);
    if (rc == 0)
      rc = enc_item(x, sorted[i]->value, depth + 1);
  }
out:
  free(sorted);
  return rc;
}

static int enc_simple(struct ccbor_enc *x, const cbor_item_t *it) {
  if (cbor_float_get_width(it) != CBOR_FLOAT_0)
    return err_set(x->e, UV_EINVAL, CCBOR_FLOAT_MSG);
  switch (cbor_ctrl_value(it)) {
  case CBOR_CTRL_FALSE:
    return sbuf_putc(&x->out, CCBOR_FALSE);
  case CBOR_CTRL_TRUE:
    return sbuf_putc(&x->out, CCBOR_TRUE);
  case CBOR_CTRL_NULL:
    return sbuf_putc(&x->out, CCBOR_NULL);
  case CBOR_CTRL_UNDEF:
    return err_set(x->e, UV_EINVAL,
                   "undefined is not allowed in canonical payloads; use null");
  default:
    return err_set(x->e, UV_EINVAL,
                   "simple value %u is not allowed in canonical payloads; "
                   "only true, false and null are", cbor_ctrl_value(it));
  }
}

/* depth: containers enclosing it. */
static int enc_item(struct ccbor_enc *x, const cbor_item_t *it, int depth) {
  const uint8_t *s;
  size_t n, i;
  uint64_t v;
  int rc;

  if (it == NULL)
    return err_set(x->e, UV_EINVAL, "missing item (NULL) in the tree");
  switch (cbor_typeof(it)) {
  case CBOR_TYPE_UINT:
    v = cbor_get_int(it);
    if (v > CCBOR_MAX_UINT)
      return err_set(x->e, UV_EINVAL,
                     "integer %" PRIu64 " is outside +-2^53, the range "
                     "canonical payloads allow; use a string", v);
    return enc_head(&x->out, CCBOR_MAJOR_UINT, v);
  case CBOR_TYPE_NEGINT:
    v = cbor_get_int(it);
    if (v > CCBOR_MAX_NEGARG)
      return err_set(x->e, UV_EINVAL,
                     "integer -1-%" PRIu64 " is outside +-2^53, the range "
                     "canonical payloads allow; use a string", v);
    return enc_head(&x->out, CCBOR_MAJOR_NEGINT, v);
  case CBOR_TYPE_BYTESTRING:
    return err_set(x->e, UV_EINVAL,
                   "byte strings are not allowed in canonical payloads; "
                   "encode binary data as hex or base64 text");
  case CBOR_TYPE_STRING:
    rc = enc_text_check(it, "text string", &s, &n, x->e);
    if (rc == 0)
      rc = enc_head(&x->out, CCBOR_MAJOR_TEXT, n);
    if (rc == 0)
      rc = sbuf_put(&x->out, s, n);
    return rc;
  case CBOR_TYPE_ARRAY:
    if (depth >= CCBOR_MAX_DEPTH)
      return err_set(x->e, UV_EINVAL, "nesting deeper than %d levels",
                     CCBOR_MAX_DEPTH);
    n = cbor_array_size(it);
    rc = enc_head(&x->out, CCBOR_MAJOR_ARRAY, n);
    for (i = 0; rc == 0 && i < n; i++)
      rc = enc_item(x, cbor_array_handle(it)[i], depth + 1);
    return rc;
  case CBOR_TYPE_MAP:
    if (depth >= CCBOR_MAX_DEPTH)
      return err_set(x->e, UV_EINVAL, "nesting deeper than %d levels",
                     CCBOR_MAX_DEPTH);
    return enc_map(x, it, depth);
  case CBOR_TYPE_TAG:
    return err_set(x->e, UV_EINVAL,
                   "tags are not allowed in canonical payloads (found tag "
                   "%" PRIu64 "); use a plain string or integer",
                   cbor_tag_value(it));
  case CBOR_TYPE_FLOAT_CTRL:
    return enc_simple(x, it);
  }
  return err_set(x->e, UV_EINVAL, "unknown libcbor item type");
}

int ccbor_encode(const cbor_item_t *item, uint8_t **out, size_t *outlen,
                 struct errbuf *e) {
  struct ccbor_enc x = {SBUF_INIT, e};
  int rc;

  *out = NULL;
  *outlen = 0;
  rc = enc_item(&x, item, 0);
  if (rc != 0) {
    sbuf_free(&x.out);
    return rc == UV_ENOMEM ? err_set(e, rc, "out of memory encoding CBOR")
                           : rc;
  }
  *out = sbuf_take(&x.out, outlen);
  if (*out == NULL)
    return err_set(e, UV_ENOMEM, "out of memory encoding CBOR");
  return 0;
}

/* ------------------------------------------------------------------ */
/* Decoder                                                             */
/* ------------------------------------------------------------------ */

struct ccbor_dec {
  const uint8_t *p;
  size_t len;
  size_t pos;
  struct errbuf *e;
};

static size_t dec_left(const struct ccbor_dec *d) {
  return d->len - d->pos;
}

static int dec_truncated(struct ccbor_dec *d) {
  return err_set(d->e, UV_EINVAL, "CBOR input is truncated at byte %zu",
                 d->len);
}

/* Reads the head at d->pos for majors 0..6; checks the shortest form. */
static int dec_head(struct ccbor_dec *d, unsigned *major, uint64_t *arg) {
  size_t start = d->pos, n, i;
  unsigned ai = d->p[d->pos] & 0x1f;
  uint64_t v = 0;

  *major = d->p[d->pos] >> 5;
  d->pos++;
  if (ai < 24) {
    *arg = ai;
    return 0;
  }
  if (ai == 31)
    return err_set(d->e, UV_EINVAL,
                   "indefinite-length item at byte %zu; canonical CBOR uses "
                   "definite lengths only", start);
  if (ai > 27)
    return err_set(d->e, UV_EINVAL,
                   "reserved additional information %u at byte %zu", ai,
                   start);
  n = (size_t)1 << (ai - 24);
  if (dec_left(d) < n)
    return dec_truncated(d);
  for (i = 0; i < n; i++)
    v = (v << 8) | d->p[d->pos + i];
  d->pos += n;
  if ((ai == 24 && v < 24) || (ai == 25 && v <= UINT8_MAX) ||
      (ai == 26 && v <= UINT16_MAX) || (ai == 27 && v <= UINT32_MAX))
    return err_set(d->e, UV_EINVAL,
                   "non-shortest encoding of %" PRIu64 " at byte %zu", v,
                   start);
  *arg = v;
  return 0;
}

static cbor_item_t *dec_build_uint(uint64_t v) {
  if (v <= UINT8_MAX)
    return cbor_build_uint8((uint8_t)v);
  if (v <= UINT16_MAX)
    return cbor_build_uint16((uint16_t)v);
  if (v <= UINT32_MAX)
    return cbor_build_uint32((uint32_t)v);
  return cbor_build_uint64(v);
}

static cbor_item_t *dec_build_negint(uint64_t v) {
  if (v <= UINT8_MAX)
    return cbor_build_negint8((uint8_t)v);
  if (v <= UINT16_MAX)
    return cbor_build_negint16((uint16_t)v);
  if (v <= UINT32_MAX)
    return cbor_build_negint32((uint32_t)v);
  return cbor_build_negint64(v);
}

static int dec_simple(struct ccbor_dec *d, cbor_item_t **out) {
  size_t at = d->pos;
  unsigned ai = d->p[at] & 0x1f;

  switch (ai) {
  case 20:
  case 21:
    *out = cbor_build_bool(ai == 21);
    break;
  case 22:
    *out = cbor_new_null();
    break;
  case 23:
    return err_set(d->e, UV_EINVAL,
                   "undefined at byte %zu is not allowed in canonical "
                   "payloads; use null", at);
  case 25:
  case 26:
  case 27:
    return err_set(d->e, UV_EINVAL, CCBOR_FLOAT_MSG " (float at byte %zu)",
                   at);
  case 31:
    return err_set(d->e, UV_EINVAL, "unexpected break byte at byte %zu", at);
  default:
    return err_set(d->e, UV_EINVAL,
                   "simple value at byte %zu is not allowed in canonical "
                   "payloads; only true, false and null are", at);
  }
  if (*out == NULL)
    return UV_ENOMEM;
  d->pos++;
  return 0;
}

static int dec_item(struct ccbor_dec *d, int depth, cbor_item_t **out);

static int dec_array(struct ccbor_dec *d, uint64_t n, int depth,
                     cbor_item_t **out) {
  cbor_item_t *a, *it;
  uint64_t i;
  int rc;

  a = cbor_new_definite_array((size_t)n);
  if (a == NULL)
    return UV_ENOMEM;
  for (i = 0; i < n; i++) {
    rc = dec_item(d, depth + 1, &it);
    if (rc != 0)
      goto fail;
    if (!cbor_array_push(a, it)) {
      cbor_decref(&it);
      rc = UV_ENOMEM;
      goto fail;
    }
    cbor_decref(&it);
  }
  *out = a;
  return 0;
fail:
  cbor_decref(&a);
  return rc;
}

static int dec_map(struct ccbor_dec *d, uint64_t n, int depth,
                   cbor_item_t **out) {
  cbor_item_t *m, *k = NULL, *v = NULL;
  size_t prev = 0, prevlen = 0, kstart;
  uint64_t i;
  bool ok;
  int rc, c;

  m = cbor_new_definite_map((size_t)n);
  if (m == NULL)
    return UV_ENOMEM;
  for (i = 0; i < n; i++) {
    kstart = d->pos;
    if (dec_left(d) == 0) {
      rc = dec_truncated(d);
      goto fail;
    }
    if (d->p[kstart] >> 5 != CCBOR_MAJOR_TEXT) {
      rc = err_set(d->e, UV_EINVAL,
                   "map key at byte %zu is not a text string", kstart);
      goto fail;
    }
    rc = dec_item(d, depth + 1, &k);
    if (rc != 0)
      goto fail;
    if (i > 0) {
      /* both spans are canonical text items, so this is RFC 8949 order */
      c = ccbor_key_order(d->p + prev, prevlen, d->p + kstart,
                          d->pos - kstart);
      if (c >= 0) {
        rc = err_set(d->e, UV_EINVAL,
                     c == 0 ? "duplicate map key at byte %zu"
                            : "map key at byte %zu is out of canonical order "
                              "(keys sort by encoded bytes: shorter first, "
                              "then bytewise)", kstart);
        goto fail;
      }
    }
    prev = kstart;
    prevlen = d->pos - kstart;
    rc = dec_item(d, depth + 1, &v);
    if (rc != 0)
      goto fail;
    ok = cbor_map_add(m, (struct cbor_pair){.key = k, .value = v});
    /* cbor_decref clears the pointer only when it frees the item */
    cbor_decref(&k);
    cbor_decref(&v);
    k = NULL;
    if (!ok) {
      rc = UV_ENOMEM;
      goto fail;
    }
  }
  *out = m;
  return 0;
fail:
  if (k != NULL)
    cbor_decref(&k);
  cbor_decref(&m);
  return rc;
}

/* depth: containers enclosing the item at d->pos. */
static int dec_item(struct ccbor_dec *d, int depth, cbor_item_t **out) {
  size_t at = d->pos;
  unsigned major;
  uint64_t arg = 0;
  int rc;

  *out = NULL;
  if (dec_left(d) == 0)
    return dec_truncated(d);
  switch (d->p[at] >> 5) {
  case CCBOR_MAJOR_SIMPLE:
    return dec_simple(d, out);
  case CCBOR_MAJOR_TAG:
    return err_set(d->e, UV_EINVAL,
                   "tag at byte %zu is not allowed in canonical payloads",
                   at);
  case CCBOR_MAJOR_BYTES:
    return err_set(d->e, UV_EINVAL,
                   "byte string at byte %zu is not allowed in canonical "
                   "payloads; binary data travels as hex or base64 text", at);
  }
  rc = dec_head(d, &major, &arg);
  if (rc != 0)
    return rc;
  switch (major) {
  case CCBOR_MAJOR_UINT:
    if (arg > CCBOR_MAX_UINT)
      return err_set(d->e, UV_EINVAL,
                     "integer at byte %zu is outside +-2^53", at);
    *out = dec_build_uint(arg);
    break;
  case CCBOR_MAJOR_NEGINT:
    if (arg > CCBOR_MAX_NEGARG)
      return err_set(d->e, UV_EINVAL,
                     "integer at byte %zu is outside +-2^53", at);
    *out = dec_build_negint(arg);
    break;
  case CCBOR_MAJOR_TEXT:
    if (arg > dec_left(d))
      return err_set(d->e, UV_EINVAL,
                     "truncated input: text string at byte %zu claims "
                     "%" PRIu64 " bytes but "
                     "only %zu remain", at, arg, dec_left(d));
    rc = ccbor_check_text(d->p + d->pos, (size_t)arg, "text string",
                          d->pos, d->e);
    if (rc != 0)
      return rc;
    /* never pass NULL to libcbor's memcpy, even for "" */
    *out = cbor_build_stringn((const char *)d->p + d->pos, (size_t)arg);
    if (*out != NULL)
      d->pos += (size_t)arg;
    break;
  case CCBOR_MAJOR_ARRAY:
  case CCBOR_MAJOR_MAP:
    if (depth >= CCBOR_MAX_DEPTH)
      return err_set(d->e, UV_EINVAL,
                     "nesting deeper than %d levels at byte %zu",
                     CCBOR_MAX_DEPTH, at);
    /* every item takes at least one byte, every pair two: bound the
     * peer's count by what is left before allocating for it */
    if (major == CCBOR_MAJOR_ARRAY ? arg > dec_left(d)
                                   : arg > dec_left(d) / 2)
      return err_set(d->e, UV_EINVAL,
                     "truncated input: %s at byte %zu claims %" PRIu64
                     " entries but only "
                     "%zu bytes remain",
                     major == CCBOR_MAJOR_ARRAY ? "array" : "map", at, arg,
                     dec_left(d));
    return major == CCBOR_MAJOR_ARRAY ? dec_array(d, arg, depth, out)
                                      : dec_map(d, arg, depth, out);
  }
  return *out == NULL ? UV_ENOMEM : 0;
}

int ccbor_decode(const uint8_t *buf, size_t len, cbor_item_t **out,
                 struct errbuf *e) {
  struct ccbor_dec d = {buf, len, 0, e};
  cbor_item_t *it;
  int rc;

  *out = NULL;
  if (len > 0 && buf == NULL)
    return err_set(e, UV_EINVAL, "no CBOR input");
  rc = dec_item(&d, 0, &it);
  if (rc != 0)
    return rc == UV_ENOMEM ? err_set(e, rc, "out of memory decoding CBOR")
                           : rc;
  if (d.pos != len) {
    cbor_decref(&it);
    return err_set(e, UV_EINVAL,
                   "%zu trailing bytes after the CBOR item (at byte %zu)",
                   len - d.pos, d.pos);
  }
  *out = it;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Builders and lookups                                                */
/* ------------------------------------------------------------------ */

cbor_item_t *ccbor_map_new(size_t capacity) {
  /* An indefinite libcbor map grows as pairs are put; libcbor's definite
   * maps cannot.  The encoder writes definite lengths either way. */
  (void)capacity;
  return cbor_new_indefinite_map();
}

int ccbor_map_put(cbor_item_t *map, const char *key, cbor_item_t *value) {
  cbor_item_t *k;
  size_t n;
  bool ok;

  if (value == NULL) /* a builder failed: almost always allocation */
    return UV_ENOMEM;
  n = strlen(key);
  if (map == NULL || !cbor_isa_map(map) ||
      ccbor_check_text((const uint8_t *)key, n, "map key", 0, NULL) != 0 ||
      ccbor_map_get(map, key) != NULL) {
    cbor_decref(&value);
    return UV_EINVAL;
  }
  k = cbor_build_stringn(key, n);
  if (k == NULL) {
    cbor_decref(&value);
    return UV_ENOMEM;
  }
  ok = cbor_map_add(map, (struct cbor_pair){.key = k, .value = value});
  cbor_decref(&k);
  cbor_decref(&value);
  return ok ? 0 : UV_ENOMEM;
}

int ccbor_map_put_str(cbor_item_t *map, const char *key, const char *value) {
  return ccbor_map_put(map, key, ccbor_str(value, strlen(value)));
}

int ccbor_map_put_int(cbor_item_t *map, const char *key, int64_t value) {
  if (value > CCBOR_MAX_INT || value < -CCBOR_MAX_INT)
    return UV_EINVAL;
  return ccbor_map_put(map, key, ccbor_int(value));
}

int ccbor_map_put_null(cbor_item_t *map, const char *key) {
  return ccbor_map_put(map, key, cbor_new_null());
}

cbor_item_t *ccbor_int(int64_t v) {
  if (v > CCBOR_MAX_INT || v < -CCBOR_MAX_INT)
    return NULL;
  if (v >= 0)
    return dec_build_uint((uint64_t)v);
  return dec_build_negint((uint64_t)(-1 - v));
}

cbor_item_t *ccbor_str(const char *s, size_t n) {
  return cbor_build_stringn(s != NULL ? s : "", s != NULL ? n : 0);
}

const cbor_item_t *ccbor_map_get(const cbor_item_t *map, const char *key) {
  size_t n, klen, i;
  struct cbor_pair *pairs;

  if (map == NULL || !cbor_isa_map(map))
    return NULL;
  n = cbor_map_size(map);
  pairs = cbor_map_handle(map);
  klen = strlen(key);
  for (i = 0; i < n; i++) {
    const cbor_item_t *k = pairs[i].key;
    if (k != NULL && cbor_isa_string(k) && cbor_string_is_definite(k) &&
        cbor_string_length(k) == klen &&
        (klen == 0 || memcmp(cbor_string_handle(k), key, klen) == 0))
      return pairs[i].value;
  }
  return NULL;
}

int ccbor_get_int(const cbor_item_t *item, int64_t *v) {
  uint64_t u;

  if (item == NULL || !cbor_is_int(item))
    return UV_EINVAL;
  u = cbor_get_int(item);
  if (cbor_isa_uint(item)) {
    if (u > CCBOR_MAX_UINT)
      return UV_EINVAL;
    *v = (int64_t)u;
  } else {
    if (u > CCBOR_MAX_NEGARG)
      return UV_EINVAL;
    *v = -1 - (int64_t)u;
  }
  return 0;
}
