/*
 * resp.c: writing responses (fixed and streamed), RFC 9457 problem
 * documents, and the one-line JSON request log.
 *
 * Every response is at least one uv_write (the head); a connection moves
 * on to its next request only from a write callback, never from inside a
 * handler, so handlers may answer synchronously from parser callbacks.
 * Streamed bodies are written one caller-owned buffer at a time.
 */
#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loop/internal.h"
#include "util/logq.h"

#define RESP_HEAD_MAX 4096
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
}

static bool resp_will_close(const struct conn *c) {
  return !c->msg_complete || !c->keep_alive || c->early || c->reject ||
         c->srv->stopping;
}

/* The status line and headers into a malloc'd buffer (*len bytes). */
static char *resp_build_head(struct conn *c, int status, const char *ctype,
                             const char *extra, bool has_len, uint64_t clen,
                             size_t *len) {
  char date[64];
  time_t now = time(NULL);
  struct tm tm;
  size_t cap = RESP_HEAD_MAX + (extra != NULL ? strlen(extra) : 0);
  char *h = malloc(cap);
  int n;

  if (h == NULL)
    return NULL;
  if (!c->msg_complete) {
    c->early = true; /* the rest of the request is not read */
    if (c->state == CONN_HEAD || c->state == CONN_BODY)
      c->state = CONN_HANDLING;
  }
  gmtime_r(&now, &tm);
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  n = snprintf(h, cap, "HTTP/1.1 %d %s\r\nDate: %s\r\n%s%s%s", status,
               resp_reason(status), date, ctype != NULL ? "Content-Type: " : "",
               ctype != NULL ? ctype : "", ctype != NULL ? "\r\n" : "");
  if (has_len && status != 304 && status != 204)
    n += snprintf(h + n, cap - (size_t)n, "Content-Length: %llu\r\n",
                  (unsigned long long)clen);
  if (resp_will_close(c))
    n += snprintf(h + n, cap - (size_t)n, "Connection: close\r\n");
  n += snprintf(h + n, cap - (size_t)n, "%s\r\n", extra != NULL ? extra : "");
  if (n < 0 || (size_t)n >= cap) {
    free(h);
    return NULL;
  }
  *len = (size_t)n;
  return h;
}

static void resp_write_cb(uv_write_t *w, int status) {
  struct resp_wreq *r = container_of(w, struct resp_wreq, w);
  struct conn *c = r->c;

  free(r->owned);
  assert(c->writes_pending > 0);
  c->writes_pending--;
  if (r->cb != NULL)
    r->cb(c, status, r->arg);
  free(r);
  if (c->state != CONN_CLOSING) {
    if (status < 0)
      conn_close(c);
    else if (c->resp_ended && c->writes_pending == 0)
      conn_response_done(c);
  }
  conn_unref(c);
}

/* Queues a write; owned (may be NULL) is freed when it completes. */
static int resp_queue(struct conn *c, const void *buf, size_t len, char *owned,
                      http_write_cb cb, void *arg) {
  struct resp_wreq *r;
  uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
  int rc;

  if (c->state == CONN_CLOSING) {
    free(owned);
    return UV_ECANCELED;
  }
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

void http_respond(struct conn *c, int status, const char *content_type,
                  const char *extra_headers, const void *body, size_t len) {
  size_t hlen;
  char *h;
  bool send_body = c->req.method != HTTP_HEAD && status != 304 &&
                   status != 204;

  if (c->resp_started || c->state == CONN_CLOSING)
    return;
  c->resp_started = true;
  c->status = status;
  h = resp_build_head(c, status, content_type, extra_headers, true, len, &hlen);
  if (h != NULL && send_body && len > 0) {
    char *nh = realloc(h, hlen + len);
    if (nh == NULL) {
      free(h);
      h = NULL;
    } else {
      h = nh;
      memcpy(h + hlen, body, len);
      hlen += len;
      c->bytes_out = len;
    }
  }
  c->resp_ended = true;
  if (h == NULL || resp_queue(c, h, hlen, h, NULL, NULL) != 0)
    conn_close(c);
}

void http_resp_head(struct conn *c, int status, const char *content_type,
                    const char *extra_headers, uint64_t content_length) {
  size_t hlen;
  char *h;

  if (c->resp_started || c->state == CONN_CLOSING)
    return;
  c->resp_started = true;
  c->status = status;
  h = resp_build_head(c, status, content_type, extra_headers, true,
                      content_length, &hlen);
  if (h == NULL || resp_queue(c, h, hlen, h, NULL, NULL) != 0)
    conn_close(c);
}

int http_resp_write(struct conn *c, const void *buf, size_t len,
                    http_write_cb cb, void *arg) {
  int rc;

  assert(c->resp_started && !c->resp_ended);
  rc = resp_queue(c, buf, len, NULL, cb, arg);
  if (rc == 0)
    c->bytes_out += len;
  return rc;
}

void http_resp_end(struct conn *c) {
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

__attribute__((format(printf, 4, 0)))
static void resp_vproblem(struct conn *c, enum problem_id id, const char *extra,
                          const char *fmt, va_list ap) {
  const struct problem *p = problem_get(id);
  char detail[PROBLEM_DETAIL_MAX];
  char uri[160], headers[256];
  char *text;
  json_t *o;

  vsnprintf(detail, sizeof detail, fmt, ap);
  resp_sanitize(detail);
  snprintf(uri, sizeof uri, "%s%s", HTTP_PROBLEM_BASE, p->slug);
  o = json_pack("{s:s, s:s, s:i, s:s}", "type", uri, "title", p->title,
                "status", p->status, "detail", detail);
  text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(o);
  snprintf(headers, sizeof headers, "%s%s%s%s",
           p->status == 405 ? "Allow: " : "", p->status == 405 ? c->allow : "",
           p->status == 405 ? "\r\n" : "", extra != NULL ? extra : "");
  if (text == NULL) {
    http_respond(c, p->status, NULL, headers, NULL, 0);
    return;
  }
  http_respond(c, p->status, "application/problem+json", headers, text,
               strlen(text));
  free(text);
}

void http_problem(struct conn *c, enum problem_id id, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  resp_vproblem(c, id, NULL, fmt, ap);
  va_end(ap);
}

void http_problem_with(struct conn *c, enum problem_id id,
                       const char *extra_headers, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  resp_vproblem(c, id, extra_headers, fmt, ap);
  va_end(ap);
}

void resp_log(struct conn *c) {
  char path[512];
  size_t n;
  json_t *o;
  double ms;

  if (!c->srv->o.log_requests)
    return;
  n = c->req.path.n < sizeof path - 1 ? c->req.path.n : sizeof path - 1;
  if (n != 0)
    memcpy(path, c->req.path.p, n);
  path[n] = '\0';
  resp_sanitize(path);
  ms = (double)(uv_hrtime() - c->t_start) / 1e6;
  o = json_pack("{s:s, s:s, s:s, s:i, s:I, s:f, s:s}", "msg", "request",
                "method", c->req.method_name != NULL ? c->req.method_name : "-",
                "path", path, "status", c->status, "bytes",
                (json_int_t)c->bytes_out, "duration_ms", ms, "actor",
                c->actor[0] != '\0' ? c->actor : "anonymous");
  logq_json(o);
}
