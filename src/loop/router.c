/*
 * router.c: method + path pattern -> route.  Patterns are literal bytes
 * with captures: `{name}` takes one non-empty segment, `{name...}` takes
 * the non-empty rest of the path.  Captures are raw (still
 * percent-encoded); handlers decode and validate them.
 *
 * Allow (405 and OPTIONS answers) lists the methods of every route whose
 * pattern matches, HEAD wherever GET is, and OPTIONS, which every known
 * path answers here with 204 unless the table has its own OPTIONS route.
 */
#include <llhttp.h>
#include <stdio.h>
#include <string.h>

#include "loop/internal.h"

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

/* Appends method name to the comma-separated list allow (of size bytes,
 * *used of them taken) unless it is listed already.  server_new checks
 * that every method of the table fits. */
static void router_allow_add(char *allow, size_t size, size_t *used,
                             const char *name) {
  size_t n = strlen(name);
  int w;

  for (const char *p = allow; (p = strstr(p, name)) != NULL; p += n)
    if ((p == allow || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
      return;
  if (*used >= size)
    return;
  w = snprintf(allow + *used, size - *used, "%s%s", *used != 0 ? ", " : "",
               name);
  if (w > 0 && (size_t)w < size - *used)
    *used += (size_t)w;
  else
    allow[*used] = '\0'; /* never a cut name */
}

/* OPTIONS on a path that exists (or `OPTIONS *`, the server as a whole):
 * 204 with what router_match collected in c->allow. */
static void router_options(struct conn *c, const struct http_req *req) {
  char extra[sizeof "Allow: \r\n" + CONN_ALLOW_MAX];

  (void)req;
  snprintf(extra, sizeof extra, "Allow: %s\r\n", c->allow);
  http_respond(c, 204, NULL, extra, NULL, 0);
}

static const struct route router_options_route = {HTTP_OPTIONS, "*",
                                                  router_options, NULL};

const struct route *router_match(const struct route *routes, size_t n,
                                 int method, const char *path, size_t len,
                                 struct http_req *req, int *status,
                                 char *allow, size_t allow_size) {
  struct http_span caps[HTTP_PARAMS_MAX];
  size_t ncaps = 0, used = 0;
  bool path_known = false;
  /* `OPTIONS *` asks about the server: every method of the table */
  bool star = method == HTTP_OPTIONS && len == 1 && path[0] == '*';

  if (allow_size > 0)
    allow[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    if (!star && !router_try(routes[i].pattern, path, len, caps, &ncaps))
      continue;
    if (!star && routes[i].method == method) {
      memcpy(req->params, caps, ncaps * sizeof caps[0]);
      req->nparams = ncaps;
      *status = 0;
      return &routes[i];
    }
    path_known = true;
    router_allow_add(allow, allow_size, &used,
                     llhttp_method_name((llhttp_method_t)routes[i].method));
    if (routes[i].method == HTTP_GET) /* HEAD is GET without the body */
      router_allow_add(allow, allow_size, &used, "HEAD");
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
  if (path_known)
    router_allow_add(allow, allow_size, &used, "OPTIONS");
  if (path_known && method == HTTP_OPTIONS) {
    req->nparams = 0;
    *status = 0;
    return &router_options_route;
  }
  *status = path_known ? 405 : 404;
  return NULL;
}
