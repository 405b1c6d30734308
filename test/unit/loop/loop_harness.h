/*
 * loop_harness.h: what the loop tests share.  A case gets its own loop and
 * a src/loop server on 127.0.0.1 port 0 (harness_run), and runs a client
 * in a second thread with plain blocking sockets, every send and recv
 * bounded by T_IO_TIMEOUT_S.  Handlers count what they see on the loop
 * thread, in h->n.  When the client is done (and, where the case says so,
 * the server side has called harness_server_done) the server is stopped
 * and the loop closed: uv_loop_close() returning 0 proves no handle was
 * left open, and LSan in the sanitizer build that no memory was.  A
 * watchdog timer aborts a case that hangs, so every case stops by itself.
 * Model: libuv test/test-tcp-close-after-read-timeout.c and test/task.h.
 *
 * The including file defines struct counts (what its handlers count)
 * first.  Everything here is static inline: each file uses what it needs.
 */
#ifndef AS_LOOP_HARNESS_H
#define AS_LOOP_HARNESS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop/http.h"
#include "test.h"

#define T_IO_TIMEOUT_S 10       /* each client send or recv */
#define T_WATCHDOG_MS 60000     /* a case running longer has hung */
#define T_GRACE_MS 2000         /* server_stop: requests in progress */
#define T_BODY_MAX 256          /* bodies client_response() reads */

struct harness {
  uv_loop_t loop;
  struct server *srv;
  int port;
  void (*client)(struct harness *h);
  uv_thread_t thread;
  atomic_bool client_finished;  /* set by the client thread */
  uv_async_t wake;              /* client thread (or loop) -> loop */
  uv_timer_t watchdog;
  bool wait_server;             /* stop also waits for harness_server_done */
  bool server_finished;
  bool stopping, stopped;
  struct counts n;              /* loop thread only */
};

/* The harness of the server c belongs to. */
static inline struct harness *H(struct conn *c) { return http_server_data(c); }

/* --- the loop side --- */

static inline void harness_stopped_cb(struct server *s, void *arg) {
  struct harness *h = arg;

  server_free(s);
  h->srv = NULL;
  h->stopped = true;
}

static inline void harness_maybe_stop(struct harness *h) {
  if (h->stopping || !atomic_load(&h->client_finished) ||
      (h->wait_server && !h->server_finished))
    return;
  h->stopping = true;
  uv_close((uv_handle_t *)&h->wake, NULL);
  uv_close((uv_handle_t *)&h->watchdog, NULL);
  server_stop(h->srv, T_GRACE_MS, harness_stopped_cb, h);
}

static inline void harness_wake_cb(uv_async_t *a) {
  harness_maybe_stop(a->data);
}

/* Called from handler callbacks: the stop itself runs from the loop, not
 * from inside the connection that is calling us. */
static inline void harness_server_done(struct harness *h) {
  h->server_finished = true;
  uv_async_send(&h->wake);
}

static inline void harness_watchdog_cb(uv_timer_t *t) {
  (void)t;
  fprintf(stderr, "loop test: case still running after %d ms\n",
          T_WATCHDOG_MS);
  abort();
}

static inline void harness_thread(void *arg) {
  struct harness *h = arg;

  h->client(h);
  atomic_store(&h->client_finished, true);
  uv_async_send(&h->wake);
}

/* Runs one case: a server with routes, client() in a thread, until the
 * client is done (and harness_server_done() was called, if wait_server),
 * then stops the server and closes the loop. */
static inline void harness_run(struct harness *h,
                               const struct route *routes, size_t nroutes,
                               void (*client)(struct harness *),
                               bool wait_server) {
  struct server_opts o = {
      .host = "127.0.0.1", .port = 0, .max_conns = 8,
      .header_timeout_ms = 5000, .idle_timeout_ms = 5000,
      .body_timeout_ms = 5000, .routes = routes,
      .nroutes = nroutes, .data = h, .log_requests = false};
  struct errbuf e = {{0}};
  char addr[80];
  const char *colon;

  memset(h, 0, sizeof *h);
  atomic_init(&h->client_finished, false);
  h->client = client;
  h->wait_server = wait_server;
  ASSERT_EQ(uv_loop_init(&h->loop), 0);
  ASSERT_EQ(server_new(&h->loop, &o, &h->srv, &e), 0);
  ASSERT_EQ(server_address(h->srv, addr, sizeof addr), 0);
  colon = strrchr(addr, ':');
  ASSERT(colon != NULL);
  h->port = atoi(colon + 1);
  ASSERT(h->port > 0);
  ASSERT_EQ(uv_async_init(&h->loop, &h->wake, harness_wake_cb), 0);
  h->wake.data = h;
  ASSERT_EQ(uv_timer_init(&h->loop, &h->watchdog), 0);
  ASSERT_EQ(uv_timer_start(&h->watchdog, harness_watchdog_cb, T_WATCHDOG_MS,
                           0),
            0);
  ASSERT_EQ(uv_thread_create(&h->thread, harness_thread, h), 0);
  ASSERT_EQ(uv_run(&h->loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(uv_thread_join(&h->thread), 0);
  ASSERT(h->stopped);
  ASSERT_EQ(uv_loop_close(&h->loop), 0);
}

/* --- the client side: blocking sockets with timeouts --- */

static inline int client_connect(int port, int rcvbuf) {
  struct timeval tv = {T_IO_TIMEOUT_S, 0};
  struct sockaddr_in sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  ASSERT(fd >= 0);
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
  if (rcvbuf > 0) /* before connect, so the window is small from the start */
    ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf),
              0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  return fd;
}

static inline void client_send(int fd, const void *p, size_t n) {
  const char *s = p;

  while (n > 0) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    ASSERT(w > 0); /* a timeout or an error fails the case */
    s += w;
    n -= (size_t)w;
  }
}

struct reader {
  int fd;
  size_t len;
  char buf[4096];
};

struct resp {
  char head[sizeof(((struct reader *)0)->buf) + 1]; /* NUL-terminated */
  int status;
  bool close;                   /* Connection: close */
  char body[T_BODY_MAX];        /* NUL-terminated */
};

static inline void reader_fill(struct reader *r) {
  ssize_t n;

  ASSERT(r->len < sizeof r->buf);
  n = recv(r->fd, r->buf + r->len, sizeof r->buf - r->len, 0);
  ASSERT(n > 0);
  r->len += (size_t)n;
}

static inline void reader_skip(struct reader *r, size_t n) {
  memmove(r->buf, r->buf + n, r->len - n);
  r->len -= n;
}

/* One response with a Content-Length body of at most T_BODY_MAX - 1. */
static inline void client_response(struct reader *r, struct resp *p) {
  char *head = p->head;
  const char *end, *cl;
  size_t hlen, clen;

  while ((end = memmem(r->buf, r->len, "\r\n\r\n", 4)) == NULL)
    reader_fill(r);
  hlen = (size_t)(end - r->buf) + 4;
  memcpy(head, r->buf, hlen);
  head[hlen] = '\0';
  reader_skip(r, hlen);
  ASSERT_EQ(sscanf(head, "HTTP/1.1 %d ", &p->status), 1);
  cl = strcasestr(head, "\r\ncontent-length: ");
  ASSERT(cl != NULL);
  clen = strtoul(cl + 18, NULL, 10);
  ASSERT(clen < sizeof p->body);
  p->close = strcasestr(head, "\r\nconnection: close\r\n") != NULL;
  while (r->len < clen)
    reader_fill(r);
  memcpy(p->body, r->buf, clen);
  p->body[clen] = '\0';
  reader_skip(r, clen);
}

static inline bool client_eof(struct reader *r) {
  return r->len == 0 && recv(r->fd, r->buf, sizeof r->buf, 0) == 0;
}

#endif
