/*
 * resp.c: writing responses (fixed and streamed), RFC 9457 problem
 * documents, and the one-line JSON request log.
 *
 * Every response is at least one uv_write (the head), and every write to
 * the socket goes through resp_queue(): when the last one of an ended
 * response completes, conn.c moves on (conn_response_done).  That can be
 * from a write callback or inside http_resp_end(); http.h says what it
 * means for handlers.  Heads are built whole or not at all.  Streamed
 * bodies are written one caller-owned buffer at a time.
 *
 * Every head carries X-Request-Id (resp_request_id): the request's own
 * when well-formed (1 to 64 of [A-Za-z0-9._-]), else 16 hex digits
 * unique within the process (resp_next_id); the request log names the
 * same id.
 */
#include <assert.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loop/internal.h"
#include "util/hex.h"
#include "util/logq.h"
#include "util/sbuf.h"

#define RESP_LINE_MAX 128 /* a formatted head line: status, Date, length */
#define PROBLEM_DETAIL_MAX 512

struct resp_wreq {
  uv_write_t w;
  struct conn *c;
  http_write_cb cb;
  void *arg;
  char *owned;
};

static const char *resp_reason(int status) {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 406: return "Not Acceptable";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 416: return "Range Not Satisfiable";
  case 422: return "Unprocessable Content";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  case 507: return "Insufficient Storage";
  default: return "Unknown";
  }
}

void resp_reset(struct conn *c) {
  c->status = 0;
  c->resp_started = c->resp_ended = false;
  c->bytes_out = 0;
  c->bytes_in = 0;
  c->logged = false;
  c->req_id[0] = '\0';
}

static bool resp_req_id_ok(const char *s) {
  size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                       "0123456789._-");
  return n >= 1 && n <= CONN_REQ_ID_MAX && s[n] == '\0';
}

/* The request's id, chosen once per request: the client's X-Request-Id
 * when well-formed, else a new random one. */
/* A generated id: a random start drawn once, stepped per request and
 * mixed (splitmix64, a bijection), so ids are unique within the process,
 * unrelated across restarts, and cost no system call per request.  Loop
 * thread only. */
static uint64_t resp_next_id(void) {
  static uint64_t state;
  static bool seeded;
  uint64_t z;

  if (!seeded) {
    if (uv_random(NULL, NULL, &state, sizeof state, 0, NULL) != 0)
      state = uv_hrtime(); /* no randomness to give: still unique */
    seeded = true;
  }
  z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static const char *resp_request_id(struct conn *c) {
  const char *h;
  uint64_t v;
  uint8_t r[8];

  if (c->req_id[0] != '\0')
    return c->req_id;
  /* nheaders counts lines while the head is read; headers exists once
   * the head is complete */
  h = c->req.headers != NULL ? http_header(&c->req, "x-request-id") : NULL;
  if (h != NULL && resp_req_id_ok(h)) {
    snprintf(c->req_id, sizeof c->req_id, "%s", h);
    return c->req_id;
  }
  v = resp_next_id();
  memcpy(r, &v, sizeof r);
  hex_encode(r, sizeof r, c->req_id);
  c->req_id[2 * sizeof r] = '\0';
  return c->req_id;
}

void resp_set_peer(struct conn *c) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  char ip[INET6_ADDRSTRLEN] = "";

  c->peer[0] = '\0';
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
    return;
  if (ss.ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    uv_ip4_name(a, ip, sizeof ip);
    snprintf(c->peer, sizeof c->peer, "%s:%u", ip, ntohs(a->sin_port));
  } else if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
    uv_ip6_name(a, ip, sizeof ip);
    snprintf(c->peer, sizeof c->peer, "[%s]:%u", ip, ntohs(a->sin6_port));
  }
}

/* Appends a short formatted line; never cut: UV_ENOBUFS if it does not
 * fit RESP_LINE_MAX. */
static int resp_putf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int resp_putf(struct sbuf *b, const char *fmt, ...) {
  char line[RESP_LINE_MAX];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0)
    return UV_EINVAL;
  if ((size_t)n >= sizeof line)
    return UV_ENOBUFS;
  return sbuf_put(b, line, (size_t)n);
}

static int resp_puts(struct sbuf *b, const char *s) {
  return sbuf_put(b, s, strlen(s));
}

/* "Name: value" CRLF.  A value must not end the line itself (it may
 * come from stored client data, e.g. a media type). */
static int resp_put_header(struct sbuf *b, const char *name,
                           const char *value) {
  int rc;

  if (strpbrk(value, "\r\n") != NULL)
    return UV_EINVAL;
  rc = resp_puts(b, name);
  if (rc == 0)
    rc = resp_puts(b, ": ");
  if (rc == 0)
    rc = resp_puts(b, value);
  if (rc == 0)
    rc = resp_puts(b, "\r\n");
  return rc;
}

/* The status line and headers.  allow and extra may be NULL; extra is
 * whole "Name: value\r\n" lines.  Every piece is appended with a check:
 * a head is complete or not built at all. */
static int resp_build_head(struct conn *c, struct sbuf *b, int status,
                           const char *ctype, const char *allow,
                           const char *extra, uint64_t clen) {
  char date[64];
  time_t now = time(NULL);
  struct tm tm;
  int rc;

  if (gmtime_r(&now, &tm) == NULL ||
      strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
    return UV_EINVAL;
  rc = resp_putf(b, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status,
                 resp_reason(status), date);
  /* no client may guess a type other than the one we send (a stored
   * text/html file, a problem document) */
  if (rc == 0)
    rc = resp_puts(b, "X-Content-Type-Options: nosniff\r\n");
  if (rc == 0 && ctype != NULL)
    rc = resp_put_header(b, "Content-Type", ctype);
  if (rc == 0 && status != 304 && status != 204)
    rc = resp_putf(b, "Content-Length: %llu\r\n", (unsigned long long)clen);
  if (rc == 0 && conn_will_close(c))
    rc = resp_puts(b, "Connection: close\r\n");
  if (rc == 0 && allow != NULL)
    rc = resp_put_header(b, "Allow", allow);
  if (rc == 0 && extra != NULL)
    rc = resp_puts(b, extra);
  if (rc == 0)
    rc = resp_put_header(b, "X-Request-Id", resp_request_id(c));
  if (rc == 0)
    rc = resp_puts(b, "\r\n");
  return rc;
}

/* A response that cannot be sent as the handler meant it is not sent at
 * all: say why in the log and cut the connection (the client sees it
 * closed, never a partial or altered head). */
static void resp_fail(struct conn *c, int status, int rc) {
  logq_log(LOGQ_WARNING,
           json_pack("{s:s, s:i, s:s}", "msg", "response not sent", "status",
                     status, "error", uv_err_name(rc)));
  conn_close(c);
}

static void resp_write_cb(uv_write_t *w, int status) {
  struct resp_wreq *r = container_of(w, struct resp_wreq, w);
  struct conn *c = r->c;
  /* Only a response ended before this write completed is done here.  One
   * the handler ends from r->cb is done inside http_resp_end() (or by a
   * later write), and the connection may have moved on by the time r->cb
   * returns: looking at c->resp_ended then would finish it twice. */
  bool ended = c->resp_ended;

  CONN_CHECK(c);
  free(r->owned);
  assert(c->writes_pending > 0);
  c->writes_pending--;
  if (r->cb != NULL)
    r->cb(c, status, r->arg);
  free(r);
  if (c->state != CONN_CLOSING) {
    if (status < 0)
      conn_close(c);
    else if (ended && c->writes_pending == 0)
      conn_response_done(c);
  }
  conn_unref(c);
}

/* Queues a write; owned (may be NULL) is freed when it completes. */
static int resp_queue(struct conn *c, const void *buf, size_t len, char *owned,
                      http_write_cb cb, void *arg) {
  struct resp_wreq *r;
  uv_buf_t b;
  int rc;

  if (c->state == CONN_CLOSING) {
    free(owned);
    return UV_ECANCELED;
  }
  if (len > UINT_MAX) { /* uv_buf_t holds an unsigned length */
    free(owned);
    return UV_EINVAL;
  }
  b = uv_buf_init((char *)buf, (unsigned)len);
  r = calloc(1, sizeof *r);
  if (r == NULL) {
    free(owned);
    return UV_ENOMEM;
  }
  r->c = c;
  r->cb = cb;
  r->arg = arg;
  r->owned = owned;
  rc = uv_write(&r->w, (uv_stream_t *)&c->tcp, &b, 1, resp_write_cb);
  if (rc != 0) {
    free(owned);
    free(r);
    return rc;
  }
  c->writes_pending++;
  conn_ref(c);
  return 0;
}

int resp_continue(struct conn *c) {
  static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
  return resp_queue(c, msg, sizeof msg - 1, NULL, NULL, NULL);
}

/* Sends the head, followed by len bytes of body (0: none), as one write.
 * allow may be NULL. */
static void resp_start(struct conn *c, int status, const char *ctype,
                       const char *allow, const char *extra, uint64_t clen,
                       const void *body, size_t len) {
  struct sbuf b = SBUF_INIT;
  uint8_t *p = NULL;
  size_t plen = 0;
  int rc;

  conn_response_starting(c);
  rc = resp_build_head(c, &b, status, ctype, allow, extra, clen);
  if (rc == 0)
    rc = sbuf_put(&b, body, len);
  if (rc == 0 && (p = sbuf_take(&b, &plen)) == NULL)
    rc = UV_ENOMEM;
  sbuf_free(&b); /* after sbuf_take: nothing left to free */
  if (rc == 0)
    rc = resp_queue(c, p, plen, (char *)p, NULL, NULL); /* takes p */
  if (rc == 0)
    c->bytes_out = len;
  else
    resp_fail(c, status, rc);
  CONN_CHECK(c);
}

/* A whole response, head and body.  allow may be NULL. */
static void resp_respond(struct conn *c, int status, const char *ctype,
                         const char *allow, const char *extra,
                         const void *body, size_t len) {
  bool send_body = c->req.method != HTTP_HEAD && status != 304 &&
                   status != 204;

  if (c->resp_started || c->state == CONN_CLOSING)
    return;
  c->resp_started = true;
  c->resp_ended = true;
  c->status = status;
  resp_start(c, status, ctype, allow, extra, len, send_body ? body : NULL,
             send_body ? len : 0);
}

void http_respond(struct conn *c, int status, const char *content_type,
                  const char *extra_headers, const void *body, size_t len) {
  resp_respond(c, status, content_type, NULL, extra_headers, body, len);
}

void http_resp_head(struct conn *c, int status, const char *content_type,
                    const char *extra_headers, uint64_t content_length) {
  if (c->resp_started || c->state == CONN_CLOSING)
    return;
  c->resp_started = true;
  c->status = status;
  resp_start(c, status, content_type, NULL, extra_headers, content_length,
             NULL, 0);
}

int http_resp_write(struct conn *c, const void *buf, size_t len,
                    http_write_cb cb, void *arg) {
  int rc;

  CONN_CHECK(c);
  assert(c->resp_started && !c->resp_ended);
  rc = resp_queue(c, buf, len, NULL, cb, arg);
  if (rc == 0)
    c->bytes_out += len;
  return rc;
}

void http_resp_end(struct conn *c) {
  CONN_CHECK(c);
  if (c->resp_ended || c->state == CONN_CLOSING)
    return;
  c->resp_ended = true;
  if (c->writes_pending == 0)
    conn_response_done(c);
}

/* Printable ASCII only: details may quote client input. */
static void resp_sanitize(char *s) {
  for (; *s != '\0'; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
      *s = '?';
}

/* members (or NULL; consumed): extension members (RFC 9457 section 3.2),
 * after the standard ones. */
static void resp_vproblem(struct conn *c, enum problem_id id, const char *extra,
                          json_t *members, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static void resp_vproblem(struct conn *c, enum problem_id id, const char *extra,
                          json_t *members, const char *fmt, va_list ap) {
  const struct problem *p = problem_get(id);
  char detail[PROBLEM_DETAIL_MAX];
  const char *allow = p->status == 405 ? c->allow : NULL;
  char *text, *grown;
  size_t len;
  json_t *o;

  /* the detail is prose for a person, not protocol: a longer one is cut */
  vsnprintf(detail, sizeof detail, fmt, ap);
  resp_sanitize(detail);
  o = json_pack("{s:s+, s:s, s:i, s:s}", "type", HTTP_PROBLEM_BASE, p->slug,
                "title", p->title, "status", p->status, "detail", detail);
  if (o != NULL && members != NULL && json_object_update(o, members) != 0) {
    json_decref(o);
    o = NULL;
  }
  json_decref(members);
  text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(o);
  len = text != NULL ? strlen(text) : 0;
  /* room for the newline every JSON body ends with */
  grown = text != NULL ? realloc(text, len + 2) : NULL;
  if (grown == NULL) {
    free(text);
    resp_respond(c, p->status, NULL, allow, extra, NULL, 0);
    return;
  }
  grown[len++] = '\n';
  grown[len] = '\0';
  resp_respond(c, p->status, "application/problem+json", allow, extra, grown,
               len);
  free(grown);
}

void http_problem(struct conn *c, enum problem_id id, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  resp_vproblem(c, id, NULL, NULL, fmt, ap);
  va_end(ap);
}

void http_problem_with(struct conn *c, enum problem_id id,
                       const char *extra_headers, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  resp_vproblem(c, id, extra_headers, NULL, fmt, ap);
  va_end(ap);
}

void http_problem_member(struct conn *c, enum problem_id id,
                         const char *member, int64_t value, const char *fmt,
                         ...) {
  va_list ap;
  va_start(ap, fmt);
  resp_vproblem(c, id, NULL, json_pack("{s:I}", member, (json_int_t)value),
                fmt, ap);
  va_end(ap);
}

void http_problem_members(struct conn *c, enum problem_id id,
                          json_t *members, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  resp_vproblem(c, id, NULL, members, fmt, ap);
  va_end(ap);
}

/* A request field for the log: printable ASCII, cut to max bytes. */
static json_t *resp_log_str(const char *p, size_t n, size_t max) {
  char buf[512];
  size_t i;

  if (n > max)
    n = max;
  if (n > sizeof buf - 1)
    n = sizeof buf - 1;
  for (i = 0; i < n; i++)
    buf[i] = p[i];
  buf[n] = '\0';
  resp_sanitize(buf);
  return json_string(buf);
}

/* One line per request: who asked what, the answer, the bytes each way
 * and how long it took.  aborted: the connection ended first. */
static void resp_log_line(struct conn *c, bool aborted) {
  const struct http_req *q = &c->req;
  const char *ua = q->headers != NULL ? http_header(q, "user-agent") : NULL;
  double ms = (double)(uv_hrtime() - c->t_start) / 1e6;
  json_t *o;

  c->logged = true;
  o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:i, s:s, s:I, s:I, s:f, s:s, s:o}",
                "msg", aborted ? "request aborted" : "request",
                "request_id", resp_request_id(c),
                "client", c->peer[0] != '\0' ? c->peer : "-",
                "method", resp_log_str(q->method_name != NULL ? q->method_name
                                       : "-", q->method_name != NULL ?
                                       strlen(q->method_name) : 1, 32),
                "path", resp_log_str(q->path.p, q->path.n, 511),
                "status", c->status,
                "actor", c->actor[0] != '\0'          ? c->actor
                         : c->srv->o.log_actor != NULL ? c->srv->o.log_actor
                                                       : "-",
                "bytes_in", (json_int_t)c->bytes_in,
                "bytes_out", (json_int_t)c->bytes_out,
                "duration_ms", ms,
                "query", "",
                "user_agent", resp_log_str(ua != NULL ? ua : "",
                                           ua != NULL ? strlen(ua) : 0, 256));
  if (o != NULL && q->query.n != 0)
    json_object_set_new(o, "query", resp_log_str(q->query.p, q->query.n, 511));
  if (o != NULL && aborted && q->has_length)
    json_object_set_new(o, "content_length",
                        json_integer((json_int_t)q->content_length));
  logq_log(aborted ? LOGQ_WARNING : LOGQ_INFO, o);
}

void resp_log(struct conn *c) {
  if (!c->srv->o.log_requests || c->logged)
    return;
  resp_log_line(c, false);
}

void resp_log_abort(struct conn *c) {
  if (!c->srv->o.log_requests || c->logged)
    return;
  if (c->state != CONN_BODY && c->state != CONN_HANDLING)
    return;
  resp_log_line(c, true);
}
