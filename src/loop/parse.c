/*
 * parse.c: the head of a request, from llhttp's callbacks to struct
 * http_req.
 *
 * It exists so that the bytes-to-request step, where every byte is the
 * peer's, can be read and checked on its own: it owns the head fields of
 * struct conn (hbuf, hoff, hblock, url_len, head_bytes, in_value,
 * head_error) and builds c->req from them, and nothing else.  It changes
 * no connection state, calls no handler and starts no I/O; conn.c drives
 * the parser, routes and dispatches (on_message_begin,
 * on_headers_complete, on_body and on_message_complete are its
 * callbacks).
 *
 * While the head arrives, the URL and each header name and value are
 * appended to hbuf, each NUL-terminated, and hoff records where names
 * and values start (internal.h proves those offsets fit in uint16_t).
 * Limits are checked before a byte is stored.  When the head is complete,
 * parse_build_req() moves it into one exactly sized block and points
 * c->req into it.
 *
 * The on_* functions follow llhttp's callback contract, not ours: 0 to go
 * on, -1 to fail (with head_error saying which answer to give, and
 * parse_problem() wording it).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "loop/internal.h"

int parse_fail(struct conn *c, int status) {
  c->head_error = status;
  return -1;
}

static int parse_hbuf_add(struct conn *c, const char *p, size_t n) {
  return sbuf_put(&c->hbuf, p, n);
}

/* The current end of hbuf as an offset for hoff (see CONN_HBUF_MAX). */
static uint16_t parse_hoff(const struct conn *c) {
  assert(c->hbuf.len <= CONN_HBUF_MAX);
  return (uint16_t)c->hbuf.len;
}

static int on_url(llhttp_t *p, const char *at, size_t n) {
  struct conn *c = p->data;

  c->url_len += n;
  if (c->url_len > HTTP_URL_MAX)
    return parse_fail(c, 414);
  return parse_hbuf_add(c, at, n) == 0 ? 0 : parse_fail(c, 500);
}

static int on_url_complete(llhttp_t *p) {
  struct conn *c = p->data;
  return parse_hbuf_add(c, "", 1) == 0 ? 0 : parse_fail(c, 500);
}

static int on_header_field(llhttp_t *p, const char *at, size_t n) {
  struct conn *c = p->data;

  /* trailers of a chunked body come after the head was built: counted
   * against the head's limits, not kept */
  if (framing_progress(c, at, at + n) != 0)
    return -1;
  if (c->state != CONN_HEAD)
    return framing_trailer(c, n, false);

  if (c->req.nheaders >= HTTP_HEADERS_MAX)
    return parse_fail(c, 431);
  if (c->hoff[c->req.nheaders][0] == 0) /* offset 0 is the URL: unset */
    c->hoff[c->req.nheaders][0] = parse_hoff(c);
  c->head_bytes += n;
  if (c->head_bytes > HTTP_HEADER_BLOCK_MAX)
    return parse_fail(c, 431);
  return parse_hbuf_add(c, at, n) == 0 ? 0 : parse_fail(c, 500);
}

static int on_header_field_complete(llhttp_t *p) {
  struct conn *c = p->data;

  if (c->state != CONN_HEAD) /* a trailer line (see on_header_field) */
    return framing_trailer(c, 0, true);

  if (c->req.nheaders >= HTTP_HEADERS_MAX)
    return parse_fail(c, 431);
  if (c->hoff[c->req.nheaders][0] == 0) /* empty name cannot happen */
    c->hoff[c->req.nheaders][0] = parse_hoff(c);
  c->head_bytes += 4; /* ": " and CRLF */
  return parse_hbuf_add(c, "", 1) == 0 ? 0 : parse_fail(c, 500);
}

static int on_header_value(llhttp_t *p, const char *at, size_t n) {
  struct conn *c = p->data;

  /* the head's spans say where its bytes end, for framing_progress */
  if (framing_progress(c, at, at + n) != 0)
    return -1;
  if (c->state != CONN_HEAD) /* a trailer (see on_header_field) */
    return framing_trailer(c, n, false);

  if (!c->in_value) {
    c->in_value = true;
    c->hoff[c->req.nheaders][1] = parse_hoff(c);
  }
  c->head_bytes += n;
  if (c->head_bytes > HTTP_HEADER_BLOCK_MAX)
    return parse_fail(c, 431);
  return parse_hbuf_add(c, at, n) == 0 ? 0 : parse_fail(c, 500);
}

static int on_header_value_complete(llhttp_t *p) {
  struct conn *c = p->data;

  if (c->state != CONN_HEAD) /* a trailer (see on_header_field) */
    return 0;

  if (!c->in_value)
    c->hoff[c->req.nheaders][1] = parse_hoff(c);
  c->in_value = false;
  if (parse_hbuf_add(c, "", 1) != 0)
    return parse_fail(c, 500);
  c->req.nheaders++;
  if (c->req.nheaders < HTTP_HEADERS_MAX)
    c->hoff[c->req.nheaders][0] = 0;
  return 0;
}

void parse_settings(llhttp_settings_t *s) {
  s->on_url = on_url;
  s->on_url_complete = on_url_complete;
  s->on_header_field = on_header_field;
  s->on_header_field_complete = on_header_field_complete;
  s->on_header_value = on_header_value;
  s->on_header_value_complete = on_header_value_complete;
  framing_settings(s);
}

void parse_begin(struct conn *c) {
  c->hbuf.len = c->url_len = c->head_bytes = 0;
  free(c->hblock); /* normally released with the previous response */
  c->hblock = NULL;
  c->in_value = false;
  c->hoff[0][0] = 0;
  memset(&c->req, 0, sizeof c->req);
  c->head_why = 0;
  c->ext_bytes = 0;
  c->trailer_lines = 0;
  c->stall_bytes = 0;
  c->body_progress = false;
  /* any digit for a version: framing_check answers 2.0 with 505 and
   * serves 1.2 as 1.1 (llhttp refuses all but 0.9, 1.0, 1.1 and 2.0
   * otherwise, as malformed).  It is read after the message begins. */
  c->parser.lenient_flags |= LENIENT_VERSION;
}

size_t parse_authority(const char *url, size_t n, size_t *start) {
  size_t i;

  if (n >= 7 && strncasecmp(url, "http://", 7) == 0)
    i = 7;
  else if (n >= 8 && strncasecmp(url, "https://", 8) == 0)
    i = 8;
  else
    return *start = 0;
  *start = i;
  while (i < n && url[i] != '/' && url[i] != '?')
    i++;
  return i - *start;
}

/* Moves the head into one exactly sized block (the headers array, the
 * text, and for an absolute-form target a copy of its authority) and sets
 * the request's pointers: a request waiting for a long time keeps only
 * what it needs. */
int parse_build_req(struct conn *c) {
  struct http_req *r = &c->req;
  size_t hsz = r->nheaders * sizeof(struct http_header);
  size_t a_off = 0, a_len = 0;
  bool absolute;
  char *text, *auth;
  const char *q, *ex;

  if (c->url_len == 0)
    return UV_EINVAL;
  a_len = parse_authority((const char *)c->hbuf.p, c->url_len, &a_off);
  absolute = a_off != 0;
  c->hblock = malloc(hsz + c->hbuf.len + 1 + (absolute ? a_len + 1 : 0));
  if (c->hblock == NULL)
    return UV_ENOMEM;
  text = c->hblock + hsz;
  if (c->hbuf.len != 0)
    memcpy(text, c->hbuf.p, c->hbuf.len);
  text[c->hbuf.len] = '\0';
  auth = text + c->hbuf.len + 1;
  if (absolute) {
    memcpy(auth, text + a_off, a_len);
    auth[a_len] = '\0';
  }
  sbuf_free(&c->hbuf);
  r->headers = (struct http_header *)(void *)c->hblock;
  r->method = llhttp_get_method(&c->parser);
  r->method_name = llhttp_method_name((llhttp_method_t)r->method);
  r->url = text;
  q = memchr(r->url, '?', c->url_len);
  r->path.p = r->url;
  r->path.n = q != NULL ? (size_t)(q - r->url) : c->url_len;
  r->query.p = q != NULL ? q + 1 : r->url + c->url_len;
  r->query.n = q != NULL ? c->url_len - r->path.n - 1 : 0;
  if (absolute) {
    /* RFC 9112 3.2.2: route on the path; the authority is the Host */
    r->path.p += a_off + a_len;
    r->path.n -= a_off + a_len;
    if (r->path.n == 0)
      r->path = (struct http_span){"/", 1};
  }
  for (size_t i = 0; i < r->nheaders; i++) {
    struct http_header *h = &r->headers[i];
    char *v = text + c->hoff[i][1];
    size_t vl = strlen(v);
    while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
      v[--vl] = '\0';
    h->name = text + c->hoff[i][0];
    h->name_len = strlen(h->name);
    h->value = v;
    h->value_len = vl;
    if (absolute && strcasecmp(h->name, "host") == 0) {
      h->value = auth;
      h->value_len = a_len;
    }
  }
  r->chunked = (c->parser.flags & F_CHUNKED) != 0;
  r->has_length = (c->parser.flags & F_CONTENT_LENGTH) != 0;
  r->content_length = r->has_length ? c->parser.content_length : 0;
  ex = http_header(r, "expect");
  r->expect_continue = ex != NULL && strcasecmp(ex, "100-continue") == 0;
  return 0;
}

enum problem_id parse_problem(const struct conn *c, enum llhttp_errno e,
                              char *detail, size_t size) {
  enum problem_id id;

  if (framing_problem(c, e, &id, detail, size))
    return id;
  switch (c->head_error) {
  case 414:
    snprintf(detail, size, "the request target is longer than %d bytes",
             HTTP_URL_MAX);
    return PROB_URI_TOO_LONG;
  case 431:
    snprintf(detail, size,
             "the header block is limited to %d bytes and %d lines",
             HTTP_HEADER_BLOCK_MAX, HTTP_HEADERS_MAX);
    return PROB_HEADERS_TOO_LARGE;
  case 500:
    snprintf(detail, size, "out of memory while reading the request");
    return PROB_INTERNAL;
  default: /* llhttp's own verdict; its reason is a constant string */
    snprintf(detail, size, "malformed HTTP/1.1 request (%s: %s)",
             llhttp_errno_name(e),
             c->parser.reason != NULL ? c->parser.reason : "");
    return PROB_BAD_REQUEST;
  }
}

void parse_reset(struct conn *c) {
  sbuf_free(&c->hbuf);
  free(c->hblock);
  c->hblock = NULL;
  memset(&c->req, 0, sizeof c->req);
  memset(c->hoff, 0, sizeof c->hoff[0]);
  c->head_error = 0;
  c->head_why = 0;
}
