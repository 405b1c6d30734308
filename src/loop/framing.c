/*
 * framing.c: what RFC 9112 asks of a request's framing beyond what llhttp
 * checks, and the bounds on what a request carries besides its head and
 * body.
 *
 * It exists so that the rules deciding where a request ends, and so
 * whether two parties agree on it (request smuggling), can be read in one
 * place.  llhttp 8.1 (Debian's node-llhttp) parses; this file refuses what
 * it lets through:
 *   - a version other than HTTP/1.x (505; llhttp is told to accept any
 *     digit so that 1.2 is served as 1.1 and 2.0 gets a proper answer);
 *   - Transfer-Encoding in HTTP/1.0 (400, faulty framing, RFC 9112 6.1),
 *     chunked not last or twice (400), a coding other than chunked (501);
 *   - a missing, repeated or malformed Host (400, RFC 9112 3.2), an
 *     absolute-form target without a host or with user information
 *     (400; parse.c routes on its path and makes its authority the Host);
 *   - an Expect other than 100-continue (417, RFC 9110 10.1.1);
 *   - an unknown method (501 naming it, not llhttp's error code);
 *   - chunk extensions past HTTP_CHUNK_EXT_MAX bytes per request (400) and
 *     trailers past the head's own limits, counted together with the head
 *     (431): neither reaches the body limits, so without a bound a peer
 *     could stream without end into a request whose body is capped;
 *   - more than HTTP_CHUNK_STALL_MAX bytes of a chunked body without
 *     progress (400): llhttp reads a chunk-size line of leading zeros
 *     without end and calls nothing until it ends.
 *
 * Progress is what a callback reports: a body piece, a chunk header or
 * its end, an extension's or a trailer's bytes.  Each marks a point in
 * the data llhttp executes (framing_progress); the bytes consumed between
 * two such points add up across reads (stall_bytes).  A callback without
 * a position (on_chunk_header, on_chunk_complete: each follows an LF)
 * marks the first LF after the previous point, which is never past the
 * true one, so the count can only run high, by a CRLF or so.
 *
 * It owns the framing fields of struct conn (head_why, ext_bytes,
 * trailer_lines, stall_bytes, stall_mark, exec_end, body_progress,
 * head_token) and words its refusals; parse.c calls it
 * while the head arrives and conn.c once the head is complete.  Every
 * refusal closes the connection (conn.c answers parse failures early).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "loop/internal.h"

enum framing_why {
  WHY_NONE,
  WHY_VERSION,      /* 505 */
  WHY_TE_HTTP10,    /* 400 */
  WHY_TE_TWICE,     /* 400 */
  WHY_TE_NOT_LAST,  /* 400 */
  WHY_CODING,       /* 501, head_token */
  WHY_NO_HOST,      /* 400 */
  WHY_TWO_HOSTS,    /* 400 */
  WHY_EXPECT,       /* 417 */
  WHY_METHOD,       /* 501, head_token */
  WHY_CHUNK_EXT,    /* 400 */
  WHY_TRAILERS,     /* 431 */
  WHY_AUTHORITY,    /* 400 */
  WHY_BAD_HOST,     /* 400 */
  WHY_STALL,        /* 400 */
};

static int framing_fail(struct conn *c, enum framing_why why, int status) {
  c->head_why = why;
  return parse_fail(c, status);
}

/* RFC 9110 5.6.2 tchar */
static bool framing_tchar(unsigned char ch) {
  return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
         (ch >= 'A' && ch <= 'Z') ||
         (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* RFC 3986 host [":" port]: reg-name, IPv4 or an IP literal in brackets;
 * only the alphabet is checked (an empty Host is allowed, RFC 9112 3.2). */
static bool framing_host_ok(const char *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)v[i];
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
          (ch >= 'A' && ch <= 'Z') ||
          (ch != '\0' && strchr("-._~%!$&'()*+,;=:[]", ch) != NULL)))
      return false;
  }
  return true;
}

static void framing_token(struct conn *c, const char *p, size_t n) {
  if (n > FRAMING_TOKEN_MAX)
    n = FRAMING_TOKEN_MAX;
  memcpy(c->head_token, p, n);
  c->head_token[n] = '\0';
}

/* --- progress through a chunked body --- */

void framing_exec_begin(struct conn *c, const char *data, size_t len) {
  c->stall_mark = data;
  c->exec_end = data + len;
}

/* stall_mark moves to end; what lay between it and start was no progress */
static int framing_stall(struct conn *c, const char *start, const char *end) {
  const char *mark = c->stall_mark;

  c->stall_mark = end > mark ? end : mark;
  if (c->state != CONN_BODY || !c->req.chunked || c->early) {
    c->stall_bytes = 0; /* the head's bytes, or ones answered already */
    return 0;
  }
  if (start > mark &&
      (size_t)(start - mark) > HTTP_CHUNK_STALL_MAX - c->stall_bytes)
    return framing_fail(c, WHY_STALL, 400);
  c->stall_bytes += start > mark ? (uint32_t)(start - mark) : 0;
  return 0;
}

int framing_progress(struct conn *c, const char *start, const char *end) {
  if (framing_stall(c, start, end) != 0)
    return -1;
  c->stall_bytes = 0;
  if (c->state == CONN_BODY)
    c->body_progress = true;
  return 0;
}

int framing_exec_end(struct conn *c, const char *end) {
  return end != NULL ? framing_stall(c, end, end) : 0;
}

/* on_chunk_header and on_chunk_complete: just after an LF */
static int on_chunk_line(llhttp_t *p) {
  struct conn *c = p->data;
  const char *mark = c->stall_mark, *lf = NULL;

  if (mark != NULL && c->exec_end > mark)
    lf = memchr(mark, '\n', (size_t)(c->exec_end - mark));
  lf = lf != NULL ? lf + 1 : mark;
  return framing_progress(c, lf, lf);
}

/* --- chunk extensions and trailers --- */

static int framing_ext(struct conn *c, size_t n) {
  if (n > HTTP_CHUNK_EXT_MAX - c->ext_bytes)
    return framing_fail(c, WHY_CHUNK_EXT, 400);
  c->ext_bytes += (uint32_t)n;
  return 0;
}

static int on_ext_name(llhttp_t *p, const char *at, size_t n) {
  if (framing_progress(p->data, at, at + n) != 0)
    return -1;
  return framing_ext(p->data, n);
}

/* the ';' or '=' each name or value ends with counts too, so that empty
 * names cannot repeat for free */
static int on_ext_done(llhttp_t *p) { return framing_ext(p->data, 1); }

void framing_settings(llhttp_settings_t *s) {
  s->on_chunk_extension_name = on_ext_name;
  s->on_chunk_extension_value = on_ext_name;
  s->on_chunk_extension_name_complete = on_ext_done;
  s->on_chunk_extension_value_complete = on_ext_done;
  s->on_chunk_header = on_chunk_line;
  s->on_chunk_complete = on_chunk_line;
}

int framing_trailer(struct conn *c, size_t n, bool line) {
  if (line) {
    if (c->req.nheaders + c->trailer_lines >= HTTP_HEADERS_MAX)
      return framing_fail(c, WHY_TRAILERS, 431);
    c->trailer_lines++;
    n += 4; /* ": " and CRLF, as parse.c counts the head's lines */
  }
  if (n > HTTP_HEADER_BLOCK_MAX || c->head_bytes > HTTP_HEADER_BLOCK_MAX - n)
    return framing_fail(c, WHY_TRAILERS, 431);
  c->head_bytes += n;
  return 0;
}

/* --- the head --- */

/* Transfer-Encoding: the codings of every line, in order (RFC 9112 6.1).
 * chunked must come last (else the body's end is unknown: 400, RFC 9112
 * 6.3), once, and be the only one: we decode no other (501). */
static int framing_codings(struct conn *c, const struct http_req *r) {
  unsigned chunked = 0;
  bool last_chunked = false, other = false;

  if (c->parser.http_minor == 0)
    return framing_fail(c, WHY_TE_HTTP10, 400);
  for (size_t i = 0; i < r->nheaders; i++) {
    const char *v = r->headers[i].value;
    if (strcasecmp(r->headers[i].name, "transfer-encoding") != 0)
      continue;
    for (;;) {
      size_t n;
      while (*v == ' ' || *v == '\t' || *v == ',')
        v++;
      n = strcspn(v, ", \t");
      if (n == 0)
        break; /* end of the value */
      last_chunked = n == 7 && strncasecmp(v, "chunked", 7) == 0;
      if (last_chunked) {
        chunked++;
      } else if (!other) {
        other = true;
        framing_token(c, v, n);
      }
      v += n;
    }
  }
  if (!last_chunked)
    return framing_fail(c, WHY_TE_NOT_LAST, 400);
  if (chunked > 1)
    return framing_fail(c, WHY_TE_TWICE, 400);
  return other ? framing_fail(c, WHY_CODING, 501) : 0;
}

int framing_check(struct conn *c) {
  const struct http_req *r = &c->req;
  size_t hosts = 0, a_off, a_len;
  bool te = false;

  /* the head ends with the last span's line (no span reports it): the
   * body's first byte is the first after it that is none of these */
  while (c->stall_mark != NULL && c->stall_mark < c->exec_end &&
         *c->stall_mark != '\0' &&
         strchr(": \t\r\n", *c->stall_mark) != NULL)
    c->stall_mark++;
  if (c->parser.http_major != 1)
    return framing_fail(c, WHY_VERSION, 505);
  /* absolute form: a host is required, userinfo is refused (RFC 9110
   * 4.2.1 and 4.2.4) */
  a_len = parse_authority(r->url, c->url_len, &a_off);
  if (a_off != 0 &&
      (a_len == 0 || memchr(r->url + a_off, '@', a_len) != NULL))
    return framing_fail(c, WHY_AUTHORITY, 400);
  for (size_t i = 0; i < r->nheaders; i++) {
    const struct http_header *h = &r->headers[i];
    if (strcasecmp(h->name, "host") == 0 &&
        !framing_host_ok(h->value, h->value_len))
      return framing_fail(c, WHY_BAD_HOST, 400);
    if (strcasecmp(h->name, "host") == 0)
      hosts++;
    else if (strcasecmp(h->name, "transfer-encoding") == 0)
      te = true;
  }
  if (te || (c->parser.flags & F_TRANSFER_ENCODING) != 0) {
    int rc = framing_codings(c, r);
    if (rc != 0)
      return rc;
  }
  if (hosts > 1)
    return framing_fail(c, WHY_TWO_HOSTS, 400);
  if (hosts == 0 && c->parser.http_minor != 0)
    return framing_fail(c, WHY_NO_HOST, 400);
  for (size_t i = 0; i < r->nheaders; i++) {
    const struct http_header *h = &r->headers[i];
    if (strcasecmp(h->name, "expect") == 0 &&
        strcasecmp(h->value, "100-continue") != 0)
      return framing_fail(c, WHY_EXPECT, 417);
  }
  return 0;
}

void framing_note_error(struct conn *c, const char *data, size_t len) {
  size_t i = 0, n = 0;

  if (llhttp_get_errno(&c->parser) != HPE_INVALID_METHOD)
    return;
  /* The message starts here: each one is fed from its first byte, as the
   * parser pauses at the end of the one before.  Only a method split
   * across two reads would be named by its second part. */
  while (i < len && (data[i] == '\r' || data[i] == '\n'))
    i++;
  while (i + n < len && n <= FRAMING_TOKEN_MAX &&
         framing_tchar((unsigned char)data[i + n]))
    n++;
  /* a token and a space: a method, just not one we know; anything else
   * is a malformed request line (llhttp's answer) */
  if (n == 0 || n > FRAMING_TOKEN_MAX || i + n >= len || data[i + n] != ' ')
    return;
  framing_token(c, data + i, n);
  c->head_why = WHY_METHOD;
  c->head_error = 501;
}

bool framing_problem(const struct conn *c, enum llhttp_errno e,
                     enum problem_id *id, char *detail, size_t size) {
  if (e == HPE_PAUSED_H2_UPGRADE) { /* the HTTP/2 connection preface */
    snprintf(detail, size, "HTTP/2 is not supported; use HTTP/1.1");
    *id = PROB_VERSION_NOT_SUPPORTED;
    return true;
  }
  *id = PROB_BAD_REQUEST;
  switch ((enum framing_why)c->head_why) {
  case WHY_NONE:
    return false;
  case WHY_VERSION:
    snprintf(detail, size, "HTTP/%d.%d is not supported; use HTTP/1.1",
             c->parser.http_major, c->parser.http_minor);
    *id = PROB_VERSION_NOT_SUPPORTED;
    break;
  case WHY_TE_HTTP10:
    snprintf(detail, size,
             "Transfer-Encoding in an HTTP/1.0 request is faulty framing; "
             "use HTTP/1.1 or Content-Length");
    break;
  case WHY_TE_TWICE:
    snprintf(detail, size, "the chunked transfer coding is applied twice");
    break;
  case WHY_TE_NOT_LAST:
    snprintf(detail, size,
             "the final transfer coding must be chunked (else the body's "
             "end is unknown); send chunked or Content-Length");
    break;
  case WHY_CODING:
    snprintf(detail, size,
             "transfer coding %s is not supported; only chunked is",
             c->head_token);
    *id = PROB_NOT_IMPLEMENTED;
    break;
  case WHY_AUTHORITY:
    snprintf(detail, size,
             "an absolute-form request target needs a host and no "
             "user information");
    break;
  case WHY_BAD_HOST:
    snprintf(detail, size,
             "the Host header is not a host and optional port");
    break;
  case WHY_NO_HOST:
    snprintf(detail, size, "an HTTP/1.1 request needs a Host header");
    break;
  case WHY_TWO_HOSTS:
    snprintf(detail, size, "a request may carry only one Host header");
    break;
  case WHY_EXPECT:
    snprintf(detail, size,
             "the only expectation supported is Expect: 100-continue");
    *id = PROB_EXPECTATION_FAILED;
    break;
  case WHY_METHOD:
    snprintf(detail, size, "method %s is not supported", c->head_token);
    *id = PROB_NOT_IMPLEMENTED;
    break;
  case WHY_STALL:
    snprintf(detail, size,
             "a chunk-size line is limited to %d bytes (leading zeros "
             "included)",
             HTTP_CHUNK_STALL_MAX);
    break;
  case WHY_CHUNK_EXT:
    snprintf(detail, size,
             "chunk extensions are limited to %d bytes per request",
             HTTP_CHUNK_EXT_MAX);
    break;
  case WHY_TRAILERS:
    snprintf(detail, size,
             "the header block and trailers together are limited to %d "
             "bytes and %d lines",
             HTTP_HEADER_BLOCK_MAX, HTTP_HEADERS_MAX);
    *id = PROB_HEADERS_TOO_LARGE;
    break;
  }
  return true;
}
