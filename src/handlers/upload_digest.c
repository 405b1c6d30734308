/*
 * upload_digest.c: the digests a producer announces with an upload.
 *
 * Every announcement is binding (docs/API.md, PUT .../files):
 *
 *   - Repr-Digest and Content-Digest (RFC 9530) are Structured Field
 *     Dictionaries (RFC 9651), parsed strictly; several lines of one field
 *     are joined with ", " first (RFC 9110 section 5.3).  A malformed
 *     field is 400 invalid-digest-header.  `sha-256` is the algorithm we
 *     check (we compute SHA-256 and BLAKE3, and IANA's registry has no
 *     BLAKE3 key): other keys beside it are ignored, a field with members
 *     but no sha-256 is 400 naming sha-256, and a sha-256 that is not a
 *     byte sequence of 32 bytes is 400.  An empty dictionary is an absent
 *     field (RFC 9651 section 3.2).
 *   - Uploads are whole: a Content-Range is refused (RFC 9110 section
 *     14.5), and a Content-Encoding is not removed (the stored bytes are
 *     the bytes sent), so both fields describe exactly the body bytes.
 *   - X-Content-Address: every line, each a comma-separated list of
 *     content addresses (blake3:<hex> or sha256:<hex>).
 *
 * Two announcements of one algorithm that differ are 400 digest-mismatch
 * before the body is read: no content can match both.  What remains is
 * the one expectation the blob store checks when the upload ends.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers/upload_digest.h"
#include "loop/sfdict.h"
#include "store/codec/caddr.h"

/* The announced digests so far, and the field that named each. */
struct announced {
  struct digest_pair *d;
  const char *b3_from, *s2_from; /* NULL: not announced */
};

static int announce(struct announced *a, enum caddr_alg alg,
                    const uint8_t d[DIGEST_LEN], const char *from,
                    enum problem_id *prob, struct errbuf *e) {
  bool b3 = alg == CADDR_BLAKE3;
  uint8_t *slot = b3 ? a->d->blake3 : a->d->sha256;
  const char **src = b3 ? &a->b3_from : &a->s2_from;
  const char *alg_name = b3 ? "BLAKE3" : "SHA-256";

  *prob = PROB_DIGEST_MISMATCH;
  /* the store also reads all-zero as "not announced" */
  if (sodium_is_zero(d, DIGEST_LEN))
    return err_set(e, UV_EINVAL,
                   "%s announces an all-zero %s digest, which no content "
                   "has; nothing was stored",
                   from, alg_name);
  if (*src != NULL && memcmp(slot, d, DIGEST_LEN) != 0) {
    if (strcmp(*src, from) == 0)
      return err_set(e, UV_EINVAL,
                     "%s announces two different %s digests, which no "
                     "content has; nothing was stored",
                     from, alg_name);
    return err_set(e, UV_EINVAL,
                   "%s and %s announce different %s digests, which no "
                   "content has; nothing was stored",
                   *src, from, alg_name);
  }
  memcpy(slot, d, DIGEST_LEN);
  *src = from;
  return 0;
}

/* The value of every line of the field name, joined with ", " (RFC 9110
 * section 5.3).  *val is NULL when there is none; *buf is what to free. */
static int header_field(const struct http_req *req, const char *name,
                        const char **val, size_t *n, char **buf) {
  const struct http_header *one = NULL;
  size_t lines = 0, total = 0;
  char *p;

  *val = NULL;
  *n = 0;
  *buf = NULL;
  for (size_t i = 0; i < req->nheaders; i++)
    if (strcasecmp(req->headers[i].name, name) == 0) {
      one = &req->headers[i];
      lines++;
      total += one->value_len;
    }
  if (lines <= 1) {
    if (one != NULL) {
      *val = one->value;
      *n = one->value_len;
    }
    return 0;
  }
  /* bounded: the head is at most HTTP_HEADER_BLOCK_MAX bytes */
  total += 2 * (lines - 1);
  if ((p = malloc(total + 1)) == NULL)
    return UV_ENOMEM;
  *buf = p;
  *val = p;
  *n = total;
  for (size_t i = 0, k = 0; i < req->nheaders; i++)
    if (strcasecmp(req->headers[i].name, name) == 0) {
      if (k++ > 0) {
        memcpy(p, ", ", 2);
        p += 2;
      }
      memcpy(p, req->headers[i].value, req->headers[i].value_len);
      p += req->headers[i].value_len;
    }
  *p = '\0';
  return 0;
}

struct dict_scan {
  struct sf_member sha256; /* the last one: the last value wins */
  bool have_sha256;
  size_t members;
};

static int dict_member_cb(const struct sf_member *m, void *arg) {
  struct dict_scan *s = arg;

  s->members++;
  if (m->key_len == 7 && memcmp(m->key, "sha-256", 7) == 0) {
    s->sha256 = *m;
    s->have_sha256 = true;
  }
  return 0;
}

/* Repr-Digest or Content-Digest (name as spelled in messages). */
static int read_dict_field(const struct http_req *req, const char *name,
                           struct announced *a, enum problem_id *prob,
                           struct errbuf *e) {
  struct errbuf pe = {{0}};
  struct dict_scan s = {0};
  uint8_t d[DIGEST_LEN];
  const char *v;
  char *buf;
  size_t n;
  int rc;

  *prob = PROB_INTERNAL;
  if ((rc = header_field(req, name, &v, &n, &buf)) != 0)
    return err_set(e, rc, "out of memory reading %s", name);
  if (v == NULL)
    return 0;
  *prob = PROB_INVALID_DIGEST_HEADER;
  rc = sfdict_parse(v, n, dict_member_cb, &s, &pe);
  if (rc != 0)
    rc = err_set(e, UV_EINVAL,
                 "%s is not a structured field dictionary (RFC 9651): %s",
                 name, err_msg(&pe, rc));
  else if (s.members == 0)
    rc = 0; /* an empty dictionary is an absent field */
  else if (!s.have_sha256)
    rc = err_set(e, UV_EINVAL,
                 "%s names no algorithm this server checks: the one "
                 "supported is sha-256 (RFC 9530)",
                 name);
  else if (s.sha256.value.type != SF_BYTES)
    rc = err_set(e, UV_EINVAL,
                 "%s: sha-256 must be a byte sequence, "
                 ":<base64 of the 32-byte SHA-256>: (RFC 9530)",
                 name);
  else if (s.sha256.value.len != DIGEST_LEN)
    rc = err_set(e, UV_EINVAL,
                 "%s: sha-256 holds %zu bytes; a SHA-256 digest is 32", name,
                 s.sha256.value.len);
  else {
    sfdict_bytes_decode(&s.sha256.value, d);
    rc = announce(a, CADDR_SHA256, d, name, prob, e);
  }
  free(buf);
  return rc;
}

/* X-Content-Address: every line, each a list of content addresses. */
static int read_content_addresses(const struct http_req *req,
                                  struct announced *a, enum problem_id *prob,
                                  struct errbuf *e) {
  static const char name[] = "X-Content-Address";
  struct errbuf ce = {{0}};
  struct caddr ca;
  int rc;

  for (size_t i = 0; i < req->nheaders; i++) {
    const char *p = req->headers[i].value;
    const char *end = p + req->headers[i].value_len;
    if (strcasecmp(req->headers[i].name, name) != 0)
      continue;
    for (;;) {
      const char *comma = memchr(p, ',', (size_t)(end - p));
      const char *s = p, *t = comma != NULL ? comma : end;
      while (s < t && (*s == ' ' || *s == '\t'))
        s++;
      while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
        t--;
      *prob = PROB_INVALID_DIGEST_HEADER;
      if (caddr_parse(s, (size_t)(t - s), &ca, &ce) != 0)
        return err_set(e, UV_EINVAL, "%s: %s", name, err_msg(&ce, UV_EINVAL));
      if ((rc = announce(a, ca.alg, ca.d, name, prob, e)) != 0)
        return rc;
      if (comma == NULL)
        break;
      p = comma + 1;
    }
  }
  return 0;
}

int upload_digest_read(const struct http_req *req, struct digest_pair *out,
                       bool *any, enum problem_id *prob, struct errbuf *e) {
  struct announced a = {out, NULL, NULL};
  int rc;

  memset(out, 0, sizeof *out);
  *any = false;
  if (http_header(req, "content-range") != NULL) {
    *prob = PROB_BAD_REQUEST;
    return err_set(e, UV_EINVAL,
                   "Content-Range: an upload is a whole file, never a part "
                   "of one (RFC 9110 section 14.5); send it all");
  }
  if ((rc = read_dict_field(req, "Repr-Digest", &a, prob, e)) != 0 ||
      (rc = read_dict_field(req, "Content-Digest", &a, prob, e)) != 0 ||
      (rc = read_content_addresses(req, &a, prob, e)) != 0)
    return rc;
  *any = a.b3_from != NULL || a.s2_from != NULL;
  return 0;
}
