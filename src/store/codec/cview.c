/*
 * cview.c: in-place reads of canonical CBOR maps (see cview.h; wire format
 * at the top of ccbor.c).  Every read is bounds-checked against the item's
 * bytes; nesting is limited to CCBOR_MAX_DEPTH like the decoder's.
 */
#include "store/codec/cview.h"

#include <string.h>

#include "util/common.h"
#include "store/codec/ccbor.h"
#include "util/utf8.h"

#define CVIEW_MAJOR_UINT 0
#define CVIEW_MAJOR_NEGINT 1
#define CVIEW_MAJOR_TEXT 3
#define CVIEW_MAJOR_ARRAY 4
#define CVIEW_MAJOR_MAP 5
#define CVIEW_MAJOR_SIMPLE 7

struct cview_cur {
  const uint8_t *p;
  size_t pos, len;
};

/* Reads a head; UV_EPROTO when truncated or outside the subset. */
static int cview_head(struct cview_cur *c, unsigned *major, uint64_t *arg) {
  unsigned ai;
  size_t n;
  uint64_t v = 0;

  if (c->pos >= c->len)
    return UV_EPROTO;
  *major = c->p[c->pos] >> 5;
  ai = c->p[c->pos] & 0x1f;
  c->pos++;
  if (*major == CVIEW_MAJOR_SIMPLE) {
    /* false, true, null: the only simple values of the subset */
    if (ai < 20 || ai > 22)
      return UV_EPROTO;
    *arg = ai;
    return 0;
  }
  if (*major == 2 || *major == 6)
    return UV_EPROTO; /* byte strings and tags are not in the subset */
  if (ai < 24) {
    *arg = ai;
    return 0;
  }
  if (ai > 27)
    return UV_EPROTO;
  n = (size_t)1 << (ai - 24);
  if (c->len - c->pos < n)
    return UV_EPROTO;
  for (size_t i = 0; i < n; i++)
    v = (v << 8) | c->p[c->pos + i];
  c->pos += n;
  *arg = v;
  return 0;
}

/* Moves past one item. */
static int cview_skip(struct cview_cur *c, int depth) {
  unsigned major;
  uint64_t arg;
  int rc;

  if (depth > CCBOR_MAX_DEPTH)
    return UV_EPROTO;
  if ((rc = cview_head(c, &major, &arg)) != 0)
    return rc;
  switch (major) {
  case CVIEW_MAJOR_TEXT:
    if (arg > c->len - c->pos)
      return UV_EPROTO;
    c->pos += (size_t)arg;
    return 0;
  case CVIEW_MAJOR_ARRAY:
  case CVIEW_MAJOR_MAP:
    /* Each item takes at least one byte: bounds the loop. */
    if (arg > c->len - c->pos)
      return UV_EPROTO;
    if (major == CVIEW_MAJOR_MAP)
      arg *= 2;
    for (uint64_t i = 0; i < arg; i++)
      if ((rc = cview_skip(c, depth + 1)) != 0)
        return rc;
    return 0;
  default:
    return 0; /* integers and simple values: the head is the item */
  }
}

int cview_map(const struct cview *m, const char *const *keys, size_t nkeys,
              struct cview *out) {
  struct cview_cur c = {m->p, 0, m->n};
  const uint8_t *prev = NULL;
  size_t prev_len = 0;
  unsigned major;
  uint64_t pairs;
  int rc;

  memset(out, 0, nkeys * sizeof *out);
  if (m->p == NULL || (rc = cview_head(&c, &major, &pairs)) != 0 ||
      major != CVIEW_MAJOR_MAP || pairs > c.len - c.pos)
    return UV_EPROTO;
  for (uint64_t i = 0; i < pairs; i++) {
    const uint8_t *key;
    uint64_t klen;
    size_t start;

    if ((rc = cview_head(&c, &major, &klen)) != 0 ||
        major != CVIEW_MAJOR_TEXT || klen > c.len - c.pos)
      return UV_EPROTO;
    key = c.p + c.pos;
    c.pos += (size_t)klen;
    /* Canonical order: shorter first, then bytewise; strictly. */
    if (prev != NULL &&
        (klen < prev_len ||
         (klen == prev_len && memcmp(prev, key, (size_t)klen) >= 0)))
      return UV_EPROTO;
    prev = key;
    prev_len = (size_t)klen;
    start = c.pos;
    if ((rc = cview_skip(&c, 1)) != 0)
      return rc;
    for (size_t k = 0; k < nkeys; k++) {
      if (strlen(keys[k]) == klen && memcmp(keys[k], key, (size_t)klen) == 0) {
        out[k].p = c.p + start;
        out[k].n = c.pos - start;
        break;
      }
    }
  }
  return c.pos == c.len ? 0 : UV_EPROTO;
}

int cview_text(const struct cview *v, const char **s, size_t *n) {
  struct cview_cur c = {v->p, 0, v->n};
  unsigned major;
  uint64_t len;

  if (v->p == NULL || cview_head(&c, &major, &len) != 0 ||
      major != CVIEW_MAJOR_TEXT || len != c.len - c.pos)
    return UV_EPROTO;
  if (utf8_valid_prefix(c.p + c.pos, (size_t)len) != len ||
      (len > 0 && memchr(c.p + c.pos, 0, (size_t)len) != NULL))
    return UV_EPROTO;
  *s = (const char *)(c.p + c.pos);
  *n = (size_t)len;
  return 0;
}

int cview_int(const struct cview *v, int64_t *out) {
  struct cview_cur c = {v->p, 0, v->n};
  unsigned major;
  uint64_t arg;

  if (v->p == NULL || cview_head(&c, &major, &arg) != 0 || c.pos != c.len)
    return UV_EPROTO;
  if (major == CVIEW_MAJOR_UINT && arg <= (uint64_t)CCBOR_MAX_INT) {
    *out = (int64_t)arg;
    return 0;
  }
  if (major == CVIEW_MAJOR_NEGINT && arg < (uint64_t)CCBOR_MAX_INT) {
    *out = -1 - (int64_t)arg;
    return 0;
  }
  return UV_EPROTO;
}

int cview_is_map(const struct cview *v) {
  return v->p != NULL && v->n > 0 && (v->p[0] >> 5) == CVIEW_MAJOR_MAP;
}

int cview_is_null(const struct cview *v) {
  return v->p != NULL && v->n == 1 && v->p[0] == 0xf6;
}
