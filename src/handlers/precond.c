/*
 * precond.c: entity-tag comparison for conditional requests (RFC 9110
 * section 13): If-Match (strong comparison), If-None-Match (weak
 * comparison) and If-Range (one strong tag; a date never matches, as no
 * Last-Modified is ever sent).  The evaluation order of section 13.2.2
 * is the handlers' (blobs.c, files.c, manifest.c); this only compares.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "handlers/internal.h"

static const char *precond_blank(const char *p) {
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

/* One element of the list at p: tag and n the quoted tag (with its quotes),
 * weak whether W/ came first.  Returns the position after it, or NULL
 * when the element is not an entity tag (the field is then ignored by
 * the caller as not matching). */
static const char *precond_tag(const char *p, const char **tag, size_t *n,
                               bool *weak) {
  const char *q;

  *weak = false;
  if (p[0] == 'W' && p[1] == '/') {
    *weak = true;
    p += 2;
  }
  if (*p != '"')
    return NULL;
  q = strchr(p + 1, '"');
  if (q == NULL)
    return NULL;
  *tag = p;
  *n = (size_t)(q + 1 - p);
  return q + 1;
}

bool precond_list_matches(const char *value, const char *etag, bool strong) {
  size_t elen = strlen(etag);
  const char *p = precond_blank(value);

  if (*p == '*')
    return *precond_blank(p + 1) == '\0';
  while (*p != '\0') {
    const char *tag;
    size_t n;
    bool weak;

    p = precond_tag(p, &tag, &n, &weak);
    if (p == NULL)
      return false;
    if (n == elen && memcmp(tag, etag, n) == 0 && !(strong && weak))
      return true;
    p = precond_blank(p);
    if (*p != ',' && *p != '\0')
      return false;
    while (*p == ',' || *p == ' ' || *p == '\t')
      p++;
  }
  return false;
}

bool precond_field_matches(const struct http_req *req, const char *name,
                           const char *etag, bool strong) {
  /* a list field sent as several lines is one list (RFC 9110 section
   * 5.3): it matches when any line has a matching member */
  for (size_t i = 0; i < req->nheaders; i++)
    if (strcasecmp(req->headers[i].name, name) == 0 &&
        precond_list_matches(req->headers[i].value, etag, strong))
      return true;
  return false;
}

bool precond_if_range(const char *value, const char *etag) {
  const char *tag, *end;
  size_t n;
  bool weak;

  end = precond_tag(precond_blank(value), &tag, &n, &weak);
  return end != NULL && !weak && *precond_blank(end) == '\0' &&
         n == strlen(etag) && memcmp(tag, etag, n) == 0;
}
