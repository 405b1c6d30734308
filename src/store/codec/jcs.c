/*
 * jcs.c: the RFC 8785 (JCS) text of canonical CBOR documents, and JSON
 * text back to canonical CBOR (see jcs.h).
 *
 * Output format, for the ccbor.h subset only:
 *   - no whitespace anywhere;
 *   - integers in shortest decimal form ("-5", "0", "9007199254740992");
 *   - true, false, null;
 *   - strings in double quotes; escaped are only '"' -> \", '\' -> \\,
 *     U+0008 \b, U+0009 \t, U+000A \n, U+000C \f, U+000D \r and the other
 *     controls below U+0020 as \u00xx with lowercase hex; everything else
 *     (DEL, non-ASCII) is written as its UTF-8 bytes;
 *   - object members sorted by the UTF-16 code units of their keys.  This
 *     differs from the CBOR order (shorter encoding first): "aa" < "b" in
 *     JCS but "b" < "aa" in CBOR, and U+1F600 (D83D DE00) < U+FB01 in JCS
 *     but U+FB01 (3 bytes) < U+1F600 (4 bytes) in CBOR.
 *
 * Because every value is exact in both forms, JCS -> CBOR -> JCS and
 * CBOR -> JCS -> CBOR are byte-identical.
 */
#include "store/codec/jcs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/codec/ccbor.h"
#include "util/hex.h"
#include "util/sbuf.h"
#include "util/utf8.h"

/* ------------------------------------------------------------------ */
/* CBOR -> JCS                                                         */
/* ------------------------------------------------------------------ */

/* Walks UTF-8 text as UTF-16 code units. */
struct jcs_u16 {
  const uint8_t *s;
  size_t n;
  size_t pos;
  uint16_t low; /* pending low surrogate, 0 when none */
};

/* The next code unit, or -1 at the end. */
static int32_t jcs_u16_next(struct jcs_u16 *it) {
  uint32_t cp;
  size_t k;

  if (it->low != 0) {
    cp = it->low;
    it->low = 0;
    return (int32_t)cp;
  }
  if (it->pos >= it->n)
    return -1;
  k = utf8_decode(it->s + it->pos, it->n - it->pos, &cp);
  if (k == 0) { /* cannot happen for validated text; stay total */
    k = 1;
    cp = it->s[it->pos];
  }
  it->pos += k;
  if (cp >= 0x10000) {
    cp -= 0x10000;
    it->low = (uint16_t)(0xdc00 | (cp & 0x3ff));
    return (int32_t)(0xd800 | (cp >> 10));
  }
  return (int32_t)cp;
}

static int jcs_pair_cmp(const void *a, const void *b) {
  const struct cbor_pair *pa = *(const struct cbor_pair *const *)a;
  const struct cbor_pair *pb = *(const struct cbor_pair *const *)b;
  struct jcs_u16 ia = {cbor_string_handle(pa->key),
                       cbor_string_length(pa->key), 0, 0};
  struct jcs_u16 ib = {cbor_string_handle(pb->key),
                       cbor_string_length(pb->key), 0, 0};
  int32_t ua, ub;

  do {
    ua = jcs_u16_next(&ia);
    ub = jcs_u16_next(&ib);
    if (ua != ub)
      return ua < ub ? -1 : 1; /* end (-1) sorts first: prefix first */
  } while (ua != -1);
  return 0;
}

int jcs_put_string(struct sbuf *b, const uint8_t *s, size_t n) {
  static const char short_esc[0x20] = {
      ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r'};
  size_t i, run = 0;
  uint8_t esc[6];
  int rc = sbuf_putc(b, '"');

  for (i = 0; rc == 0 && i < n; i++) {
    uint8_t c = s[i];
    size_t elen;

    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    esc[0] = '\\';
    if (c == '"' || c == '\\') {
      esc[1] = c, elen = 2;
    } else if (short_esc[c] != 0) {
      esc[1] = (uint8_t)short_esc[c], elen = 2;
    } else {
      esc[1] = 'u', esc[2] = '0', esc[3] = '0';
      esc[4] = (uint8_t)hex_digits[c >> 4], esc[5] = (uint8_t)hex_digits[c & 15];
      elen = 6;
    }
    rc = sbuf_put(b, s + run, i - run);
    if (rc == 0)
      rc = sbuf_put(b, esc, elen);
    run = i + 1;
  }
  if (rc == 0)
    rc = sbuf_put(b, s + run, n - run);
  if (rc == 0)
    rc = sbuf_putc(b, '"');
  return rc;
}

/* Emits a tree already checked by ccbor (subset, no duplicates, depth). */
static int jcs_emit(struct sbuf *b, const cbor_item_t *it) {
  const struct cbor_pair **sorted;
  struct cbor_pair *pairs;
  char num[32];
  size_t n, i;
  int rc, len;

  switch (cbor_typeof(it)) {
  case CBOR_TYPE_UINT:
    len = snprintf(num, sizeof num, "%" PRIu64, cbor_get_int(it));
    return sbuf_put(b, num, (size_t)len);
  case CBOR_TYPE_NEGINT: /* -1 - v; v < 2^53 so v + 1 cannot wrap */
    len = snprintf(num, sizeof num, "-%" PRIu64, cbor_get_int(it) + 1);
    return sbuf_put(b, num, (size_t)len);
  case CBOR_TYPE_STRING:
    return jcs_put_string(b, cbor_string_handle(it), cbor_string_length(it));
  case CBOR_TYPE_ARRAY:
    n = cbor_array_size(it);
    rc = sbuf_putc(b, '[');
    for (i = 0; rc == 0 && i < n; i++) {
      if (i > 0)
        rc = sbuf_putc(b, ',');
      if (rc == 0)
        rc = jcs_emit(b, cbor_array_handle(it)[i]);
    }
    return rc == 0 ? sbuf_putc(b, ']') : rc;
  case CBOR_TYPE_MAP:
    n = cbor_map_size(it);
    if (n == 0)
      return sbuf_put(b, "{}", 2);
    if (n > SIZE_MAX / sizeof *sorted)
      return UV_ENOMEM;
    sorted = malloc(n * sizeof *sorted);
    if (sorted == NULL)
      return UV_ENOMEM;
    pairs = cbor_map_handle(it);
    for (i = 0; i < n; i++)
      sorted[i] = &pairs[i];
    qsort(sorted, n, sizeof *sorted, jcs_pair_cmp);
    rc = sbuf_putc(b, '{');
    for (i = 0; rc == 0 && i < n; i++) {
      if (i > 0)
        rc = sbuf_putc(b, ',');
      if (rc == 0)
        rc = jcs_emit(b, sorted[i]->key);
      if (rc == 0)
        rc = sbuf_putc(b, ':');
      if (rc == 0)
        rc = jcs_emit(b, sorted[i]->value);
    }
    free(sorted);
    return rc == 0 ? sbuf_putc(b, '}') : rc;
  case CBOR_TYPE_FLOAT_CTRL:
    switch (cbor_ctrl_value(it)) {
    case CBOR_CTRL_TRUE:
      return sbuf_put(b, "true", 4);
    case CBOR_CTRL_FALSE:
      return sbuf_put(b, "false", 5);
    case CBOR_CTRL_NULL:
      return sbuf_put(b, "null", 4);
    }
    break;
  default:
    break;
  }
  return UV_EINVAL; /* ccbor_encode rejected these before we got here */
}

static int jcs_emit_error(int rc, struct errbuf *e) {
  return rc == UV_ENOMEM ? err_set(e, rc, "out of memory writing JCS")
                         : err_set(e, rc, "item outside the canonical subset");
}

static int jcs_finish(struct sbuf *b, int rc, char **out, size_t *outlen,
                      struct errbuf *e) {
  if (rc == 0) {
    *out = (char *)sbuf_take(b, outlen);
    if (*out != NULL)
      return 0;
    rc = UV_ENOMEM;
  }
  sbuf_free(b);
  return jcs_emit_error(rc, e);
}

int jcs_from_cbor(const cbor_item_t *item, char **out, size_t *outlen,
                  struct errbuf *e) {
  struct sbuf b = SBUF_INIT;
  uint8_t *bytes;
  size_t nbytes;
  int rc;

  *out = NULL;
  *outlen = 0;
  /* The canonical encoder is the one definition of the subset (types,
   * ranges, UTF-8, duplicate keys, depth); its bytes are not needed. */
  rc = ccbor_encode(item, &bytes, &nbytes, e);
  if (rc != 0)
    return rc;
  free(bytes);
  return jcs_finish(&b, jcs_emit(&b, item), out, outlen, e);
}

int jcs_put_cbor_bytes(struct sbuf *b, const uint8_t *buf, size_t len,
                       struct errbuf *e) {
  cbor_item_t *item;
  int rc;

  rc = ccbor_decode(buf, len, &item, e); /* strict: already canonical */
  if (rc != 0)
    return rc; /* the decoder's own reason stays in e */
  rc = jcs_emit(b, item);
  cbor_decref(&item);
  return rc == 0 ? 0 : jcs_emit_error(rc, e);
}

int jcs_from_cbor_bytes(const uint8_t *buf, size_t len, char **out,
                        size_t *outlen, struct errbuf *e) {
  struct sbuf b = SBUF_INIT;
  int rc;

  *out = NULL;
  *outlen = 0;
  rc = jcs_put_cbor_bytes(&b, buf, len, e);
  if (rc != 0) {
    sbuf_free(&b);
    return rc;
  }
  return jcs_finish(&b, 0, out, outlen, e);
}

/* ------------------------------------------------------------------ */
/* JSON -> CBOR                                                        */
/* ------------------------------------------------------------------ */

static int jcs_text_ok(const char *s, size_t n, const char *what,
                       struct errbuf *e) {
  if (utf8_valid_prefix((const uint8_t *)s, n) != n)
    return err_set(e, UV_EINVAL, "JSON %s is not valid UTF-8", what);
  if (memchr(s, 0, n) != NULL)
    return err_set(e, UV_EINVAL,
                   "JSON %s contains \\u0000, which canonical payloads do "
                   "not allow", what);
  return 0;
}

static int jcs_json_item(const json_t *j, int depth, cbor_item_t **out,
                         struct errbuf *e) {
  const char *key;
  json_t *val;
  cbor_item_t *c, *k, *v;
  json_int_t iv;
  size_t i, n;
  bool ok;
  int rc;

  *out = NULL;
  switch (json_typeof(j)) {
  case JSON_OBJECT:
  case JSON_ARRAY:
    if (depth >= CCBOR_MAX_DEPTH)
      return err_set(e, UV_EINVAL, "JSON nests deeper than %d levels",
                     CCBOR_MAX_DEPTH);
    break;
  default:
    break;
  }
  switch (json_typeof(j)) {
  case JSON_OBJECT:
    c = cbor_new_definite_map(json_object_size(j));
    if (c == NULL)
      return UV_ENOMEM;
    json_object_foreach((json_t *)j, key, val) {
      rc = jcs_text_ok(key, strlen(key), "object key", e);
      if (rc == 0)
        rc = jcs_json_item(val, depth + 1, &k, e);
      if (rc != 0) {
        cbor_decref(&c);
        return rc;
      }
      v = k;
      k = cbor_build_stringn(key, strlen(key));
      ok = k != NULL &&
           cbor_map_add(c, (struct cbor_pair){.key = k, .value = v});
      if (k != NULL)
        cbor_decref(&k);
      cbor_decref(&v);
      if (!ok) {
        cbor_decref(&c);
        return UV_ENOMEM;
      }
    }
    break;
  case JSON_ARRAY:
    n = json_array_size(j);
    c = cbor_new_definite_array(n);
    if (c == NULL)
      return UV_ENOMEM;
    for (i = 0; i < n; i++) {
      rc = jcs_json_item(json_array_get(j, i), depth + 1, &k, e);
      if (rc != 0) {
        cbor_decref(&c);
        return rc;
      }
      ok = cbor_array_push(c, k);
      cbor_decref(&k);
      if (!ok) {
        cbor_decref(&c);
        return UV_ENOMEM;
      }
    }
    break;
  case JSON_STRING:
    n = json_string_length(j);
    rc = jcs_text_ok(json_string_value(j), n, "string", e);
    if (rc != 0)
      return rc;
    c = cbor_build_stringn(json_string_value(j), n);
    break;
  case JSON_INTEGER:
    iv = json_integer_value(j);
    if (iv > CCBOR_MAX_INT || iv < -CCBOR_MAX_INT)
      return err_set(e, UV_EINVAL,
                     "JSON integer %" JSON_INTEGER_FORMAT " is outside "
                     "+-2^53 (+-9007199254740992); send it as a string", iv);
    c = ccbor_int((int64_t)iv);
    break;
  case JSON_REAL:
    return err_set(e, UV_EINVAL,
                   "JSON number %.17g has a fraction or exponent; canonical "
                   "payloads allow only integers within +-2^53, so use an "
                   "integer or a string", json_real_value(j));
  case JSON_TRUE:
    c = cbor_build_bool(true);
    break;
  case JSON_FALSE:
    c = cbor_build_bool(false);
    break;
  case JSON_NULL:
    c = cbor_new_null();
    break;
  default:
    return err_set(e, UV_EINVAL, "unknown JSON value type");
  }
  if (c == NULL)
    return UV_ENOMEM;
  *out = c;
  return 0;
}

int jcs_json_to_cbor(const json_t *json, cbor_item_t **out, struct errbuf *e) {
  int rc;

  *out = NULL;
  if (json == NULL)
    return err_set(e, UV_EINVAL, "no JSON value");
  rc = jcs_json_item(json, 0, out, e);
  return rc == UV_ENOMEM ? err_set(e, rc, "out of memory converting JSON")
                         : rc;
}

int jcs_text_to_ccbor(const char *text, size_t len, uint8_t **out,
                      size_t *outlen, struct errbuf *e) {
  json_error_t jerr;
  cbor_item_t *item;
  json_t *json;
  int rc;

  *out = NULL;
  *outlen = 0;
  /* JSON_DECODE_INT_AS_REAL and JSON_ALLOW_NUL stay off on purpose */
  json = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                    &jerr);
  if (json == NULL)
    return err_set(e, UV_EINVAL, "invalid JSON at line %d column %d: %s",
                   jerr.line, jerr.column, jerr.text);
  rc = jcs_json_to_cbor(json, &item, e);
  json_decref(json);
  if (rc != 0)
    return rc;
  rc = ccbor_encode(item, out, outlen, e);
  cbor_decref(&item);
  return rc;
}
