/*
 * router.c: method + path pattern -> route.  Patterns are literal bytes
 * with captures: `{name}` takes one non-empty segment, `{name...}` takes
 * the non-empty rest of the path.  Captures are raw (still
 * percent-encoded); handlers decode and validate them.
 */
#include <llhttp.h>
#include <stdio.h>
#include <string.h>

#include "loop/http.h"

static bool router_try(const char *pat, const char *path, size_t len,
                       struct http_span *caps, size_t *ncaps) {
  size_t i = 0, n = 0;
  const char *p = pat;

  while (*p != '\0') {
    if (*p == '{') {
      const char *close = strchr(p, '}');
      size_t j = i;
      bool rest;
      if (close == NULL || n >= HTTP_PARAMS_MAX)
        return false;
      rest = close - p > 4 && memcmp(close - 3, "...", 3) == 0;
      if (rest)
        j = len;
      else
        while (j < len && path[j] != '/')
          j++;
      if (j == i)
        return false;
      caps[n].p = path + i;
      caps[n].n = j - i;
      n++;
      i = j;
      p = close + 1;
      continue;
    }
    if (i >= len || path[i] != *p)
      return false;
    i++;
    p++;
  }
  if (i != len)
    return false;
  *ncaps = n;
  return true;
}

const struct route *router_match(const struct route *routes, size_t n,
                                 int method, const char *path, size_t len,
                                 struct http_req *req, int *status,
                                 char *allow, size_t allow_size) {
  struct http_span caps[HTTP_PARAMS_MAX];
  size_t ncaps = 0, used = 0;
  bool path_known = false;

  if (allow_size > 0)
    allow[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    if (!router_try(routes[i].pattern, path, len, caps, &ncaps))
      continue;
    if (routes[i].method == method) {
      memcpy(req->params, caps, ncaps * sizeof caps[0]);
      req->nparams = ncaps;
      *status = 0;
      return &routes[i];
    }
    path_known = true;
    const char *name = llhttp_method_name((llhttp_method_t)routes[i].method);
    if (strstr(allow, name) == NULL && used < allow_size) {
      int w = snprintf(allow + used, allow_size - used, "%s%s",
                       used != 0 ? ", " : "", name);
      if (w > 0 && (size_t)w < allow_size - used)
        used += (size_t)w;
    }
  }
  /* HEAD is GET without the body (http_respond drops it) */
  if (method == HTTP_HEAD)
    for (size_t i = 0; i < n; i++)
      if (routes[i].method == HTTP_GET &&
          router_try(routes[i].pattern, path, len, caps, &ncaps)) {
        memcpy(req->params, caps, ncaps * sizeof caps[0]);
        req->nparams = ncaps;
        *status = 0;
        return &routes[i];
      }
  *status = path_known ? 405 : 404;
  return NULL;
}
