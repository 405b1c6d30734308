/*
 * internal.h: the connection and server structs shared by conn.c (the
 * connection: reading, parsing, dispatch), conn_life.c (its lifetime and
 * what follows a response), parse.c (the request head), resp.c
 * (responses), server.c (listening, shutdown) and router.c (the OPTIONS
 * answer reads c->allow).  Nothing outside
 * src/loop includes this.
 *
 * Ownership of struct conn: conn.c and conn_life.c alone change the
 * connection's state
 * (state, early, paused, reading, ...); parse.c alone writes the request
 * head fields and builds c->req from them (conn.c adds the route's params
 * and a buffered body); resp.c alone changes the response fields at the
 * end of the struct and is the only writer to the socket.  Each asks the
 * others through the functions below.
 */
#ifndef AS_LOOP_INTERNAL_H
#define AS_LOOP_INTERNAL_H

#include <llhttp.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "loop/http.h"
#include "util/sbuf.h"

#define CONN_READ_BUF (64 * 1024)    /* shared read buffer per server */
#define CONN_TAIL_MAX (64 * 1024)    /* pipelined bytes kept while busy */
#define CONN_ACTOR_MAX 64            /* bytes of http_set_actor() kept */
#define CONN_ALLOW_MAX 48            /* bytes of an Allow value (405, OPTIONS) */
#define CONN_LINGER_MS 2000          /* discard unread body before close */
#define CONN_EMPTY_LINES_MAX 8       /* CRLFs allowed before a request */
#define PARSE_DETAIL_MAX 256         /* parse_problem() wording */
#define CONN_REQ_ID_MAX 64           /* X-Request-Id kept from a request */
#define CONN_PEER_MAX 56             /* "[v6 address]:port" */
#define FRAMING_TOKEN_MAX 24         /* bytes of a refused token quoted back */

/*
 * The request head is collected in hbuf: the URL and a NUL, then for each
 * header line its name, a NUL, its value and a NUL; hoff keeps the offsets
 * of names and values as uint16_t.  What bounds them:
 *   - the URL is refused past HTTP_URL_MAX bytes, before it is stored;
 *   - head_bytes counts each header line as name + value + 4 (": " and
 *     CRLF), which covers the line's two NULs, so hbuf never grows past
 *     the URL + 1 + head_bytes;
 *   - every name or value byte is refused once head_bytes would pass
 *     HTTP_HEADER_BLOCK_MAX, before it is stored; only the 4 added when a
 *     name ends can take head_bytes past it, by at most 4, until the next
 *     byte is refused.
 * So every length of hbuf, hence every offset stored in hoff, is at most
 * CONN_HBUF_MAX.
 */
#define CONN_HBUF_MAX (HTTP_URL_MAX + 1 + HTTP_HEADER_BLOCK_MAX + 4)
_Static_assert(CONN_HBUF_MAX <= UINT16_MAX,
               "hoff offsets into hbuf must fit in uint16_t: lower "
               "HTTP_URL_MAX or HTTP_HEADER_BLOCK_MAX, or widen hoff");
_Static_assert(HTTP_HEADERS_MAX >= 1, "hoff[0] is always written");

enum conn_state {
  CONN_IDLE,     /* between requests (keep-alive) */
  CONN_HEAD,     /* reading a request line and headers */
  CONN_BODY,     /* reading a body */
  CONN_HANDLING, /* message complete (or answered early), handler at work */
  CONN_CLOSING,  /* uv_close called or about to be */
};

struct conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  llhttp_t parser;
  struct server *srv;
  struct conn *prev, *next;    /* srv->conns */
  enum conn_state state;
  unsigned refs;               /* in-flight writes and handler work */
  unsigned handles_open;       /* tcp, timer: freed when 0 and refs 0 */

  bool reading;                /* uv_read_start active */
  bool in_execute;             /* inside llhttp_execute */
  bool paused;                 /* parser paused (HPE_PAUSED) */
  bool resume_wanted;          /* http_body_continue during execute */
  bool continue_sent;
  bool msg_complete;
  bool early;                  /* answered before the body was read */
  bool keep_alive;
  bool reject;                 /* over max_conns: answer 503 and close */
  bool lingering;              /* answered early: FIN sent, draining */
  bool peer_eof;               /* the peer sent FIN: nothing more is read */
  uint8_t empty_lines;         /* CRLFs since the last request began */
  uint64_t t_start;            /* uv_hrtime at message begin */
  int64_t send_mark;           /* conn_check_send: bytes taken when seen */
  uint64_t send_since;         /* ... at this uv_now; 0: nothing pending */

  /* unparsed bytes received while the parser was paused */
  struct sbuf tail;

  /* request head: url and header lines, grown up to the limits; written
   * by parse.c only */
  struct sbuf hbuf;
  size_t url_len, head_bytes;
  uint16_t hoff[HTTP_HEADERS_MAX][2]; /* name, value offsets into hbuf:
                                       * <= CONN_HBUF_MAX (above) */
  char *hblock;                /* after the head: headers array + text */
  bool in_value;
  int head_error;              /* status to answer a failed request with */
  /* framing.c: the request's framing, checked as it arrives */
  int head_why;                /* enum framing_why: why head_error, or 0 */
  uint32_t ext_bytes;          /* chunk extensions of this message */
  uint16_t trailer_lines;      /* trailer lines of this message */
  uint32_t stall_bytes;        /* chunked body bytes since the last progress */
  const char *stall_mark;      /* ... counted up to here in the executed data */
  const char *exec_end;        /* the end of the data llhttp executes */
  bool body_progress;          /* body progress since conn_update last ran */
  char head_token[FRAMING_TOKEN_MAX + 1]; /* a refused method or coding */
  struct http_req req;         /* parse.c, then route params and body */

  const struct route *route;
  int route_status;            /* 0, 404 or 405 */
  char allow[CONN_ALLOW_MAX];

  struct sbuf body;            /* buffered body for plain routes */

  /* handler */
  void *ctx;
  void (*abort_cb)(struct conn *c, void *ctx);
  void (*timer_cb)(struct conn *c);
  char actor[CONN_ACTOR_MAX];

  /* response: written by resp.c only */
  int status;
  bool resp_started, resp_ended;
  unsigned writes_pending;
  uint64_t bytes_out;          /* body bytes */
  /* request log (resp.c): reset by resp_reset() */
  uint64_t bytes_in;           /* body bytes received (conn.c counts) */
  bool logged;                 /* the request's log line is written */
  char req_id[CONN_REQ_ID_MAX + 1]; /* "": not chosen yet */
  char peer[CONN_PEER_MAX];    /* set at accept (resp_set_peer) */
};

struct server {
  uv_loop_t *loop;
  uv_poll_t listener;          /* the listening socket lfd (server.c) */
  int lfd;
  int reserve;                 /* held back for EMFILE (server.c), or -1 */
  uv_timer_t retry;            /* accepting paused: try again */
  bool retry_open, accept_paused;
  uv_timer_t sweep;            /* send timeouts (conn_check_send) */
  bool sweep_open;
  unsigned accept_fails;       /* since the last accepted connection */
  bool listening;
  struct server_opts o;
  struct conn *conns;
  unsigned nconns;
  bool stopping;
  uv_timer_t grace;
  bool grace_open;
  void (*done_cb)(struct server *s, void *arg);
  void *done_arg;
  char read_buf[CONN_READ_BUF];
};

/* conn.c */
/* Asserts what always holds of c; 1, so it can stand in assert().  It
 * runs at every step in debug builds (AS_DEBUG: buildtype debug, which
 * the sanitizer build of the tests uses); the optimised builds skip it,
 * where it cost about 5% of the loop's instructions in a fan-out of 3,000
 * long-polls (callgrind). */
#ifdef AS_DEBUG
int conn_ok(const struct conn *c);
#define CONN_CHECK(c) assert(conn_ok(c))
#else
#define CONN_CHECK(c) ((void)0)
#endif
/* Takes the accepted socket fd (closed here on failure); 0 or a UV_E*
 * code.  no_fds: it was accepted with the reserved descriptor: answer it
 * 503 out-of-descriptors and close. */
int conn_accept(struct server *s, int fd, bool no_fds);
/* Feeds data[0..len) to the parser (data may be c->tail's bytes). */
void conn_feed(struct conn *c, const char *data, size_t len);
/* Starts or stops reading and sets the timer for the current state. */
void conn_update(struct conn *c);
/* Keeps data[0..len) (possibly a suffix of c->tail) as the new tail;
 * 0 or UV_ENOMEM. */
int conn_keep_tail(struct conn *c, const char *data, size_t len);
/* The unparsed bytes, for llhttp. */
const char *conn_tail(const struct conn *c);
/* No request in progress (shutdown closes these at once). */
bool conn_is_idle(const struct conn *c);

/* conn_life.c */
/* Runs and forgets the handler's abort callback, if any. */
void conn_abort_handler(struct conn *c);
void conn_close(struct conn *c);
void conn_ref(struct conn *c);
void conn_unref(struct conn *c);
/* resp.c calls this when a response starts, before building its head:
 * if the request is not fully read, the connection gives up on the rest
 * (it is read and discarded, and the connection closes after the
 * response). */
void conn_response_starting(struct conn *c);
/* Does the connection close after the response in progress?  The one
 * decision behind both the Connection: close header and what
 * conn_response_done() does. */
bool conn_will_close(const struct conn *c);
/* resp.c calls this once the response is written and ended. */
void conn_response_done(struct conn *c);
/* The server's sweep (every SERVER_SWEEP_MS or so) calls this: a
 * connection whose pending writes have not moved for send_timeout_ms is
 * closed. */
void conn_check_send(struct conn *c, uint64_t now);

/* parse.c: the request head (see there). */
/* Sets llhttp's URL and header callbacks in s; conn.c sets the others. */
void parse_settings(llhttp_settings_t *s);
/* A message begins: forgets the previous head. */
void parse_begin(struct conn *c);
/* The head is complete: builds c->req.  UV_EINVAL without a URL,
 * UV_ENOMEM. */
int parse_build_req(struct conn *c);
/* The authority of an absolute-form target url[0..n) (RFC 9112 3.2.2):
 * its length, and its offset in *start; *start is 0 (and so the result)
 * for any other form. */
size_t parse_authority(const char *url, size_t n, size_t *start);
/* Records the status a failed request is answered with; returns -1, the
 * value an llhttp callback fails with. */
int parse_fail(struct conn *c, int status);
/* The problem that answers a request llhttp refused with e (or a callback
 * failed), its detail in detail[size]. */
enum problem_id parse_problem(const struct conn *c, enum llhttp_errno e,
                              char *detail, size_t size);
/* Frees the head and clears c->req. */
void parse_reset(struct conn *c);

/* framing.c: RFC 9112 framing and the limits of what a head and body
 * may carry besides the body (see there). */
/* Sets llhttp's chunk callbacks in s (parse_settings calls it). */
void framing_settings(llhttp_settings_t *s);
/* llhttp is about to execute data[0..len) (conn_feed). */
void framing_exec_begin(struct conn *c, const char *data, size_t len);
/* A body piece, an extension, a trailer or a head span lies at
 * start..end in the data executed: progress (on_body and the head's and
 * chunks' callbacks call it).  0, or -1 (an llhttp callback's failure)
 * when more than HTTP_CHUNK_STALL_MAX bytes of a chunked body came before
 * it without progress. */
int framing_progress(struct conn *c, const char *start, const char *end);
/* llhttp consumed the data executed up to end: 0, or -1 as above with the
 * answer recorded for parse_problem(). */
int framing_exec_end(struct conn *c, const char *end);
/* The head is built (parse_build_req): checks version, Host,
 * Transfer-Encoding and Expect.  0, or -1 (an llhttp callback's failure)
 * with the answer recorded for parse_problem(). */
int framing_check(struct conn *c);
/* A trailer line arrives: n more bytes (line == true once per line).
 * 0, or -1 past the head's limits. */
int framing_trailer(struct conn *c, size_t n, bool line);
/* llhttp refused data[0..len) (fed from the start of a message or a
 * continuation of one): notes an unknown method's name for the answer.
 * Call before the bytes are released. */
void framing_note_error(struct conn *c, const char *data, size_t len);
/* The answer for a framing failure noted above; false if there is none. */
bool framing_problem(const struct conn *c, enum llhttp_errno e,
                     enum problem_id *id, char *detail, size_t size);

/* resp.c: every write to the socket goes through it. */
void resp_reset(struct conn *c);
/* Queues "100 Continue"; 0 or a UV_E* code. */
int resp_continue(struct conn *c);
/* The request's log line, once per request (when the response is done). */
void resp_log(struct conn *c);
/* conn_close() calls this first: a request in progress (body being read,
 * or handled, and not logged yet) is logged as aborted, with the bytes
 * that arrived. */
void resp_log_abort(struct conn *c);
/* Notes the peer's address for the log (at accept). */
void resp_set_peer(struct conn *c);

/* server.c */
void server_conn_gone(struct server *s, struct conn *c);

#endif
