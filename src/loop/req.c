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

/* The byte a %-escape at s (n bytes left) stands for, or -1 when it is
 * not one: '%' and two hex digits. */
static int req_pct_byte(const char *s, size_t n) {
  int hi, lo;

  if (n < 3 || (hi = hex_val(s[1])) < 0 || (lo = hex_val(s[2])) < 0)
    return -1;
  return hi << 4 | lo;
}

/* Does the raw (percent-encoded) name s, n bytes, decode to key?  A bad
 * escape matches nothing. */
static bool req_name_is(const char *s, size_t n, const char *key) {
  size_t i = 0;

  for (; i < n && *key != '\0'; key++) {
    int ch = (unsigned char)s[i];
    if (ch == '%') {
      if ((ch = req_pct_byte(s + i, n - i)) < 0)
        return false;
      i += 2;
    }
    if (ch != (unsigned char)*key)
      return false;
    i++;
  }
  return i == n && *key == '\0';
}

int http_query_value(const struct http_req *req, const char *key, char *buf,
                     size_t size, size_t *len) {
  const char *p = req->query.p, *end = req->query.p + req->query.n;

  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp != NULL ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(stop - p));
    const char *kend = eq != NULL ? eq : stop;
    if (req_name_is(p, (size_t)(kend - p), key)) {
      const char *v = eq != NULL ? eq + 1 : stop;
      size_t j = 0;
      for (; v < stop; v++) {
        int ch = (unsigned char)*v;
        if (ch == '%') {
          if ((ch = req_pct_byte(v, (size_t)(stop - v))) <= 0)
            return UV_EINVAL; /* a bad escape, or %00 */
          v += 2;
        }
        if (j + 1 >= size)
          return UV_ENOBUFS;
        buf[j++] = (char)ch; /* '+' is a plus (RFC 3986), not a space */
      }
      if (size == 0)
        return UV_ENOBUFS;
      buf[j] = '\0';
      *len = j;
      return 0;
    }
    p = stop + (amp != NULL ? 1 : 0);
  }
  return UV_ENOENT;
}

int http_pct_decode(const char *s, size_t n, char **out, size_t *outlen) {
  char *d = malloc(n + 1);
  size_t j = 0;

  if (d == NULL)
    return UV_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    int ch;
    if (s[i] != '%') {
      d[j++] = s[i];
      continue;
    }
    if ((ch = req_pct_byte(s + i, n - i)) < 0) {
      free(d);
      return UV_EINVAL;
    }
    d[j++] = (char)ch;
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
