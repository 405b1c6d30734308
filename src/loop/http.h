/*
 * http.h: what handlers see of the HTTP/1.1 server in src/loop.
 *
 * A connection (struct conn, private to conn.c) parses one request at a
 * time.  The router picks a route when the headers are complete:
 *
 *   - plain routes (route.handle) get the whole request, body buffered up
 *     to HTTP_BODY_BUFFER_MAX, once the message is complete;
 *   - streaming routes (route.stream) are started at the end of the headers
 *     with the parser paused.  The handler calls http_body_continue() when it
 *     wants the body (this also answers `Expect: 100-continue`), receives
 *     each body piece through ops->body (return AS_AGAIN to stop reading
 *     until it calls http_body_continue() again), then ops->end.
 *
 * Every request is answered exactly once with http_respond(),
 * http_problem() or the streamed form (http_resp_head/_write/_end).  When
 * the peer goes away or the server cuts the connection, the handler's abort
 * callback (http_set_ctx) runs once; after it, the handler must not touch
 * the connection again except through http_conn_release().
 *
 * Asynchronous work that will call back with the connection takes a
 * reference (http_conn_hold) and drops it when done (http_conn_release);
 * check http_conn_alive() first in the callback.  Loop thread only.
 *
 * Re-entrancy: finishing a response can run other code before the call
 * returns, so a handler hands its connection back in this order:
 *
 *   1. detach: http_set_ctx(c, NULL, NULL), and http_timer(c, 0, NULL) if
 *      it armed the timer;
 *   2. finish: http_respond(), http_problem*() or http_resp_end();
 *   3. touch c no more, except to http_conn_release() a hold it took (c
 *      stays valid memory until the current callback returns, or while
 *      held, but it may belong to another request already).
 *
 * Why: once a response is ended and its last write is done, the
 * connection goes straight on to the next pipelined request on the same
 * struct conn, whose handler may set its own ctx and timer.  When:
 *
 *   - http_respond() and http_problem*() always queue a write, so the next
 *     request starts later, from that write's callback.  If the write
 *     cannot be queued they close the connection inside the call (and run
 *     the abort callback there, if still attached).
 *   - http_resp_end() while a write is pending: from the callback of the
 *     last write, after its http_write_cb has returned.
 *   - http_resp_end() with no write pending (as when called from the
 *     http_write_cb of the last body write): inside http_resp_end(), which
 *     may parse the next request and run its handler before returning.
 *
 * A handler still attached when its response is done is treated as
 * having abandoned the request: its abort callback runs then (inside
 * http_resp_end() in the last case).  Answering from inside a parser
 * callback (route.handle, ops->start, ->body, ->end) is safe: the head's
 * write is still pending when the callback returns, so a next request
 * never starts inside one.
 *
 * Who may call what from the callbacks:
 *
 *   - route.handle, ops->start, ops->end, the http_timer callback:
 *     anything in this header, for their own connection.
 *   - ops->body: returns 0 or AS_AGAIN.  http_body_continue() called from
 *     inside it undoes only the pause that very call returns (resume at
 *     once); called from a piece that returns 0 it does nothing.
 *   - http_write_cb: status 0: the buffer is free again; write the next
 *     piece or end.  status < 0: the connection is closing (UV_ECANCELED
 *     when it was closed first): neither write nor end; the abort
 *     callback, if still attached, has run or runs right after.
 *   - the abort callback: runs once, from inside whatever closes the
 *     connection (peer gone, write error, timeouts, server stop, the
 *     handler's own http_abort(): detach first when freeing your state
 *     yourself).  Release your state; answering is a no-op now.  Writes
 *     still pending complete afterwards with status < 0, so their
 *     buffers must live until their http_write_cb.
 */
#ifndef AS_HTTP_H
#define AS_HTTP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "loop/problem.h"
#include "util/common.h"

#define HTTP_URL_MAX (8 * 1024)            /* bytes, else 414 */
#define HTTP_HEADER_BLOCK_MAX (16 * 1024)  /* bytes of header lines, else 431 */
#define HTTP_HEADERS_MAX 64                /* header lines, else 431 */
#define HTTP_BODY_BUFFER_MAX (1024 * 1024) /* buffered (JSON) bodies, else 413 */
#define HTTP_PARAMS_MAX 4                  /* {captures} in a route pattern */
#define HTTP_CHUNK_EXT_MAX (4 * 1024)      /* bytes of chunk extensions per request, else 400 */
#define HTTP_CHUNK_STALL_MAX (4 * 1024)    /* chunked body bytes without progress (a chunk-size
                                            * line of leading zeros), else 400 */

struct conn;
struct server;

struct http_span {
  const char *p;
  size_t n;
};

struct http_header {
  const char *name;  /* NUL-terminated, as sent */
  const char *value; /* NUL-terminated, surrounding blanks removed */
  size_t name_len, value_len;
};

struct http_req {
  int method;                 /* llhttp_method_t */
  const char *method_name;    /* "GET", ... */
  const char *url;            /* raw request target, NUL-terminated */
  struct http_span path;      /* url up to '?' */
  struct http_span query;     /* after '?', without it; n == 0 when none */
  struct http_header *headers; /* nheaders entries */
  size_t nheaders;
  struct http_span params[HTTP_PARAMS_MAX]; /* route captures, raw bytes */
  size_t nparams;
  bool has_length;            /* Content-Length present */
  uint64_t content_length;
  bool chunked;
  bool expect_continue;
  const char *body;           /* plain routes: the buffered body */
  size_t body_len;
};

struct http_stream_ops {
  /* Headers are complete and the parser is paused.  Call
   * http_body_continue() (now or later) to receive the body, or answer. */
  void (*start)(struct conn *c, const struct http_req *req);
  /* A piece of the body (valid during the call only).  0 to go on,
   * AS_AGAIN to pause until http_body_continue(). */
  int (*body)(struct conn *c, const char *data, size_t len);
  /* The body is complete. */
  void (*end)(struct conn *c);
};

struct route {
  int method;                 /* llhttp_method_t */
  const char *pattern;        /* "/v1/packages/{id}/files/{path...}" */
  void (*handle)(struct conn *c, const struct http_req *req);
  const struct http_stream_ops *stream; /* instead of handle */
};

/* --- request helpers --- */

/* The header's value, or NULL (name matched case-insensitively). */
const char *http_header(const struct http_req *req, const char *name);
/* The value of query parameter key, percent-decoded into buf (size
 * bytes, NUL-terminated; *len gets the length).  Names are compared
 * decoded; the first match wins; a name without '=' has the value "".
 * '+' stays '+' (RFC 3986; not form encoding).  0, or UV_ENOENT when
 * absent, UV_EINVAL for a bad %-escape or %00, UV_ENOBUFS when the value
 * does not fit (a decoded value is never longer than req->query.n). */
int http_query_value(const struct http_req *req, const char *key, char *buf,
                     size_t size, size_t *len);
/* Percent-decodes s into a malloc'd NUL-terminated string; *outlen gets
 * its length (a decoded %00 stays inside).  UV_EINVAL on a bad escape. */
int http_pct_decode(const char *s, size_t n, char **out, size_t *outlen);
/* Does the Accept header prefer `type` (e.g. "application/cbor") over
 * `dflt`?  Simple: true when type is listed with q > 0. */
bool http_accepts(const struct http_req *req, const char *type);

/* --- connection state for handlers --- */

void http_set_ctx(struct conn *c, void *ctx,
                  void (*abort_cb)(struct conn *c, void *ctx));
void *http_ctx(struct conn *c);
void http_conn_hold(struct conn *c);
void http_conn_release(struct conn *c);
bool http_conn_alive(const struct conn *c);
void *http_server_data(struct conn *c); /* the pointer given to server_new */
bool http_is_head(const struct conn *c);
/* The request being handled (valid until its response is done). */
const struct http_req *http_conn_req(struct conn *c);
/* Cuts the connection (e.g. a streamed body cannot be completed). */
void http_abort(struct conn *c);
/* Used by the events handler: one timer per connection, free while a
 * request is being handled.  Calling again restarts it; 0 ms stops it. */
void http_timer(struct conn *c, uint64_t ms, void (*cb)(struct conn *c));
void http_set_actor(struct conn *c, const char *actor);

/* Streaming routes: ask for (more of) the body. */
void http_body_continue(struct conn *c);

/* --- responses --- */

/* Extra headers are "Name: value\r\n" lines (or NULL).  The body is
 * copied.  HEAD requests get the headers only. */
void http_respond(struct conn *c, int status, const char *content_type,
                  const char *extra_headers, const void *body, size_t len);
/* RFC 9457 problem id (problem.h gives its status, slug and title) with a
 * detail; the detail is JSON-escaped by the encoder, never echoed raw. */
void http_problem(struct conn *c, enum problem_id id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with extra "Name: value\r\n" header lines. */
void http_problem_with(struct conn *c, enum problem_id id,
                       const char *extra_headers, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same with one extension member (RFC 9457 section 3.2) holding an
 * integer, e.g. "last_sequence". */
void http_problem_member(struct conn *c, enum problem_id id,
                         const char *member, int64_t value, const char *fmt,
                         ...) __attribute__((format(printf, 5, 6)));
/* The same with any extension members: members is a JSON object (or
 * NULL), consumed; a member named like a standard one replaces it, so
 * callers use other names. */
struct json_t; /* jansson's json_t */
void http_problem_members(struct conn *c, enum problem_id id,
                          struct json_t *members, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Streamed responses: the head with a known length, then writes of
 * caller-owned buffers one at a time (cb when the buffer is free again),
 * then the end. */
typedef void (*http_write_cb)(struct conn *c, int status, void *arg);
void http_resp_head(struct conn *c, int status, const char *content_type,
                    const char *extra_headers, uint64_t content_length);
int http_resp_write(struct conn *c, const void *buf, size_t len,
                    http_write_cb cb, void *arg);
void http_resp_end(struct conn *c);

/* --- routing --- */

/* Finds the route for method and path; fills req->params.  NULL when none:
 * *status is 404, or 405 with allow (comma-separated methods). */
const struct route *router_match(const struct route *routes, size_t n,
                                 int method, const char *path, size_t len,
                                 struct http_req *req, int *status,
                                 char *allow, size_t allow_size);

/* --- the server --- */

struct server_opts {
  const char *host;            /* IPv4 or IPv6 literal, or a name */
  int port;                    /* 0: ephemeral */
  unsigned max_conns;
  uint64_t header_timeout_ms;  /* from the first byte to the blank line */
  uint64_t idle_timeout_ms;    /* keep-alive: between requests */
  uint64_t body_timeout_ms;    /* no body byte for this long */
  uint64_t send_timeout_ms;    /* a pending write makes no progress for
                                * this long: close; 0: never */
  const struct route *routes;
  size_t nroutes;
  void *data;                  /* http_server_data() */
  bool log_requests;           /* one JSON line per request on stderr */
  const char *log_actor;       /* logged when the handler named no actor
                                * (http_set_actor); NULL: "-" */
};

int server_new(uv_loop_t *loop, const struct server_opts *o,
               struct server **out, struct errbuf *e);
/* The bound address as "HOST:PORT" (IPv6 as "[ADDR]:PORT").  UV_ENOBUFS
 * when it does not fit size; buf is "" after an error. */
int server_address(struct server *s, char *buf, size_t size);
/* Stops accepting, closes idle connections, lets requests in progress end
 * (they get Connection: close); after grace_ms cuts the rest.  done_cb runs
 * once every connection is gone; then call server_free. */
void server_stop(struct server *s, uint64_t grace_ms,
                 void (*done_cb)(struct server *s, void *arg), void *arg);
void server_free(struct server *s);

#endif
