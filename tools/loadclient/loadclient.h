/*
 * loadclient.h: what the files of loadclient, the HTTP load client of
 * tools/bench, share.  Private to tools/loadclient/.
 *
 * Plain epoll on one thread, no dependencies, loopback only (the bench
 * refuses anything else so that a typo cannot load someone else's server).
 *
 * Modes (each prints one JSON line on stdout; problems go to stderr):
 *   upload  N connections, each PUTting files of S bytes with
 *           Content-Length over keep-alive, until COUNT files or DURATION
 *           seconds; files/s, MB/s, latency, and the daemon's peak RSS.
 *   create  N connections POSTing packages until COUNT; requests/s.
 *   fanout  W idle long-poll waiters on /v1/events?since=N&wait=60, then
 *           one POST /v1/packages; time from the POST until each waiter
 *           has its complete response (p50/p99/max), and the daemon's RSS
 *           idle and with the waiters parked.
 *   get     N connections repeating one GET or HEAD (wrk cannot time
 *           HEAD: it waits for a body after one) until COUNT or DURATION.
 *   serve   a trivial single-threaded HTTP server: "ok" for bodiless
 *           requests, 201 after discarding a body, sendfile(2) of --file
 *           for GET: the floor that the daemon's figures sit beside.
 *
 * Bodies are a fixed pseudo-random 1 MiB pattern behind a 16-byte prefix
 * unique per file, so no two uploaded files are identical (no dedup).
 *
 * Files: main.c (options, the body pattern, the mode switch), common.c
 * (clock, fatal errors, the loopback address), stats.c (latency
 * percentiles, the daemon's RSS), conn.c (client connections: requests
 * out, responses in), load.c (upload, create, get), fanout.c (fanout),
 * serve.c (serve).
 */
#ifndef LC_LOADCLIENT_H
#define LC_LOADCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define LC_PATTERN_BYTES (1024u * 1024)
#define LC_PREFIX_BYTES 16u
#define LC_SEND_BUDGET (4u * 1024 * 1024) /* per wakeup, for fairness */
#define LC_RESP_MAX (4u * 1024 * 1024)    /* largest response we buffer */
#define LC_HDR_MAX 2048u
#define LC_CONNECT_WINDOW 256             /* connects in flight at once */
#define LC_MAX_CONNS 60000
#define LC_EVENTS 512
#define LC_TICK_MS 10

enum lc_mode { MODE_UPLOAD, MODE_CREATE, MODE_GET, MODE_FANOUT, MODE_SERVE };

enum lc_state {
  ST_CONNECTING,
  ST_SENDING,
  ST_READING,
  ST_DONE,    /* response complete, idle or closed */
};

enum lc_kind { KIND_UPLOAD, KIND_CREATE, KIND_GET, KIND_WAITER, KIND_TRIGGER };

struct lc_conn {
  int fd;
  enum lc_state state;
  enum lc_kind kind;
  uint32_t watching;           /* epoll events registered */
  /* request */
  char hdr[LC_HDR_MAX];
  size_t hdr_len, hdr_off;
  const char *small_body;      /* create/trigger body, or NULL */
  uint64_t body_len, body_off;
  uint8_t prefix[LC_PREFIX_BYTES];
  double t_start;
  bool head;                   /* HEAD request: the response has no body */
  /* response */
  char *rbuf;
  size_t rlen, rcap;
  size_t body_start;           /* 0 until headers are complete */
  int status;
  bool chunked;
  long long content_len;       /* -1: unknown */
  size_t chunk_pos;            /* chunked: next chunk-size line */
};

struct lc_opts {
  enum lc_mode mode;
  const char *addr;
  int conns;
  uint64_t size;
  uint64_t count;
  double duration;
  const char *package;
  const char *method, *path;
  const char *file;
  int pid;
  int64_t since;
  int settle_ms;
  double timeout;
};

struct lc_lat {
  double *v;
  size_t n, cap;
};

/* Process-wide state, set up by main() before a mode runs. */
extern int lc_ep;                     /* the one epoll instance */
extern uint8_t *lc_pattern;           /* LC_PATTERN_BYTES of body bytes */
extern uint64_t lc_nonce;             /* per run: first half of a prefix */
extern struct sockaddr_storage lc_sa; /* --addr */
extern socklen_t lc_salen;

/* common.c */
double lc_now(void);
void lc_die(const char *what) __attribute__((noreturn));
void lc_die_errno(const char *what) __attribute__((noreturn));
void lc_addr_parse(const char *s);

/* stats.c */
long lc_rss_kb(int pid);
void lc_lat_add(struct lc_lat *l, double x);
double lc_lat_pct(struct lc_lat *l, double p);

/* conn.c */
struct lc_conn *lc_conn_new(enum lc_kind kind);
void lc_conn_watch(struct lc_conn *c, uint32_t events);
void lc_conn_free(struct lc_conn *c);
void lc_req_upload(struct lc_conn *c, const char *pkg, uint64_t idx,
                   uint64_t size);
void lc_req_create(struct lc_conn *c);
void lc_req_get(struct lc_conn *c, const char *method, const char *path);
void lc_req_wait(struct lc_conn *c, int64_t since);
/* Dies naming `what` when c's non-blocking connect failed. */
void lc_conn_connected(const struct lc_conn *c, const char *what);
int lc_conn_send(struct lc_conn *c);
int lc_conn_read(struct lc_conn *c);
const char *lc_hdr_find(const char *h, const char *end, const char *name);
void lc_create_package(char out[37], double timeout);
void lc_report_error(struct lc_conn *c, uint64_t errors);

/* The modes: each returns the process exit status. */
int lc_mode_load(const struct lc_opts *o);   /* load.c: upload, create, get */
int lc_mode_fanout(const struct lc_opts *o); /* fanout.c */
int lc_mode_serve(const struct lc_opts *o);  /* serve.c */

#endif
