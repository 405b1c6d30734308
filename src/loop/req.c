/*
 * req.c: small readers of a parsed request: headers, query parameters,
 * percent-decoding and Accept.  Everything here treats its input as
 * hostile: bounded, no allocation beyond the input size.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "loop/http.h"
#include "util/hex.h"

const char *http_header(const struct http_req *req, const char *name) {
  for (size_t i = 0; i < req->nheaders; i++)
    if (strcasecmp(req->headers[i].name, name) == 0)
      return req->headers[i].value;
  return NULL;
}

bool http_query_get(const struct http_req *req, const char *key,
                    struct http_span *out) {
  const char *p = req->query.p, *end = req->query.p + req->query.n;
  size_t klen = strlen(key);

  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp != NULL ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(stop - p));
    const char *kend = eq != NULL ? eq : stop;
    if ((size_t)(kend - p) == klen && memcmp(p, key, klen) == 0) {
      out->p = eq != NULL ? eq + 1 : stop;
      out->n = (size_t)(stop - out->p);
      return true;
    }
    p = stop + (amp != NULL ? 1 : 0);
  }
  return false;
}

int http_pct_decode(const char *s, size_t n, char **out, size_t *outlen) {
  char *d = malloc(n + 1);
  size_t j = 0;

  if (d == NULL)
    return UV_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    int hi, lo;
    if (s[i] != '%') {
      d[j++] = s[i];
      continue;
    }
    if (n - i < 3 || (hi = hex_val(s[i + 1])) < 0 ||
        (lo = hex_val(s[i + 2])) < 0) {
      free(d);
      return UV_EINVAL;
    }
    d[j++] = (char)(hi << 4 | lo);
    i += 2;
  }
  d[j] = '\0';
  *out = d;
  *outlen = j;
  return 0;
}

/* True when type is listed in Accept without q=0 (no wildcard matching:
 * callers ask about the one alternative they offer beside the default). */
bool http_accepts(const struct http_req *req, const char *type) {
  const char *a = http_header(req, "accept");
  size_t tl = strlen(type);

  if (a == NULL)
    return false;
  for (const char *p = a; (p = strcasestr(p, type)) != NULL; p += tl) {
    const char *after = p + tl, *end;
    bool start_ok = p == a || p[-1] == ',' || p[-1] == ' ' || p[-1] == '\t';
    if (!start_ok || (*after != '\0' && *after != ',' && *after != ';' &&
                      *after != ' '))
      continue;
    end = strchr(after, ',');
    if (end == NULL)
      end = after + strlen(after);
    for (const char *q = after; q + 2 <= end; q++) {
      if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=' &&
          strtod(q + 2, NULL) <= 0.0)
        return false;
    }
    return true;
  }
  return false;
}
