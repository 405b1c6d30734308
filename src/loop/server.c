/*
 * server.c: the listening socket, the list of connections, and graceful
 * shutdown (stop accepting, close idle connections, let requests in
 * progress finish until a grace period ends, then cut them).
 *
 * Accepting is ours, not uv_listen's: on EMFILE/ENFILE libuv closes its
 * own reserved descriptor, accepts every pending connection and closes it
 * unanswered (uv__emfile_trick in src/unix/stream.c), so a client sees a
 * reset and never learns why.  We watch the listening socket with a
 * uv_poll_t and accept4() ourselves, holding one reserved descriptor
 * (/dev/null) as nginx does: when accept fails for want of descriptors,
 * the reserve is closed, the connection accepted with its slot and
 * answered 503 out-of-descriptors with Retry-After (then closed after a
 * lingering FIN, like any refusal); the reserve is reopened as soon as a
 * connection goes.  With no reserve left, accepting pauses for
 * SERVER_RETRY_MS (a level-triggered socket would spin) and resumes when a
 * connection goes or the timer fires.  Pending connections wait in the
 * kernel's backlog meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop/internal.h"
#include "util/logq.h"

#define SERVER_BACKLOG 4096
#define SERVER_ACCEPT_BATCH 128 /* accepts per wake-up, then serve others */
#define SERVER_RETRY_MS 100     /* accepting paused for want of descriptors */
#define SERVER_SWEEP_MS 1000    /* most between send-timeout checks */

static void server_check_done(struct server *s);
static void server_accept_cb(uv_poll_t *h, int status, int events);

static void server_log_accept(int err) {
  logq_log(LOGQ_WARNING, json_pack("{s:s, s:s}", "msg", "accept failed",
                                   "error", uv_err_name(err)));
}

static void server_reserve(struct server *s) {
  if (s->reserve < 0)
    s->reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void server_retry_cb(uv_timer_t *t) {
  struct server *s = t->data;

  if (s->stopping || !s->accept_paused)
    return;
  server_reserve(s);
  s->accept_paused = false;
  uv_poll_start(&s->listener, UV_READABLE, server_accept_cb);
}

/* Send timeouts: one timer for all connections rather than one per
 * write.  A stalled connection is closed between send_timeout_ms and
 * send_timeout_ms plus one tick. */
static void server_sweep_cb(uv_timer_t *t) {
  struct server *s = t->data;
  uint64_t now = uv_now(s->loop);
  struct conn *c, *next;

  for (c = s->conns; c != NULL; c = next) {
    next = c->next;
    conn_check_send(c, now);
  }
}

static uint64_t server_sweep_ms(const struct server_opts *o) {
  uint64_t ms = o->send_timeout_ms / 4;
  return ms < 50 ? 50 : ms > SERVER_SWEEP_MS ? SERVER_SWEEP_MS : ms;
}

static void server_pause_accept(struct server *s) {
  s->accept_paused = true;
  uv_poll_stop(&s->listener);
  uv_timer_start(&s->retry, server_retry_cb, SERVER_RETRY_MS, 0);
}

static int server_accept_fd(struct server *s) {
  int fd;

  do
    fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  return fd >= 0 ? fd : -errno;
}

static void server_accept_cb(uv_poll_t *h, int status, int events) {
  struct server *s = h->data;
  (void)events;

  if (s->stopping)
    return;
  if (status < 0) {
    server_log_accept(status);
    server_pause_accept(s);
    return;
  }
  for (int i = 0; i < SERVER_ACCEPT_BATCH; i++) {
    bool no_fds = false;
    int fd = server_accept_fd(s), rc;

    if ((fd == UV_EMFILE || fd == UV_ENFILE) && s->reserve >= 0) {
      /* (the kernel says EMFILE before it looks at the queue: there may
       * be no connection at all, then the reserve is taken back) */
      close(s->reserve);
      s->reserve = -1;
      fd = server_accept_fd(s);
      no_fds = true;
    }
    if (fd == UV_EAGAIN) {
      server_reserve(s);
      return;
    }
    if (fd == UV_ECONNABORTED)
      continue; /* the peer gave up while queued */
    if (fd < 0) {
      /* out of descriptors with no reserve, or out of memory: the
       * connections wait in the backlog; said once per episode */
      if (s->accept_fails++ == 0)
        server_log_accept(fd);
      server_pause_accept(s);
      return;
    }
    if (no_fds && s->accept_fails++ == 0)
      server_log_accept(UV_EMFILE);
    else if (!no_fds)
      s->accept_fails = 0;
    if ((rc = conn_accept(s, fd, no_fds)) != 0)
      server_log_accept(rc);
  }
}

/* A bound, listening, non-blocking socket for ss. */
static int server_listen_fd(const struct sockaddr_storage *ss, int *out) {
  socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                            : sizeof(struct sockaddr_in);
  int one = 1, fd, rc = 0;

  fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, (const struct sockaddr *)ss, len) != 0 ||
      listen(fd, SERVER_BACKLOG) != 0)
    rc = -errno;
  if (rc != 0) {
    close(fd);
    return rc;
  }
  *out = fd;
  return 0;
}

static int server_resolve(const char *host, int port,
                          struct sockaddr_storage *ss, struct errbuf *e) {
  struct addrinfo hints, *res = NULL;
  char portstr[16];
  int rc;

  if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0 ||
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0)
    return 0;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  snprintf(portstr, sizeof portstr, "%d", port);
  rc = getaddrinfo(host, portstr, &hints, &res); /* at start-up only */
  if (rc != 0 || res == NULL)
    return err_set(e, UV_EINVAL, "--listen: cannot resolve host \"%s\"", host);
  memcpy(ss, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return 0;
}

/* A 405's Allow value lists methods of the table; if all of them fit
 * CONN_ALLOW_MAX, no Allow header can ever lose one (router_match() would
 * leave out what does not fit). */
static int server_check_routes(const struct server_opts *o,
                               struct errbuf *e) {
  size_t need = 1; /* the NUL */

  for (size_t i = 0; i < o->nroutes; i++) {
    size_t j = 0;
    while (j < i && o->routes[j].method != o->routes[i].method)
      j++;
    if (j < i)
      continue; /* counted already */
    need += (need > 1 ? 2 : 0) +
            strlen(llhttp_method_name((llhttp_method_t)o->routes[i].method));
  }
  need += strlen(", HEAD, OPTIONS"); /* router_match() adds them */
  if (need > CONN_ALLOW_MAX)
    return err_set(e, UV_EINVAL,
                   "the route table uses %zu bytes of method names; a 405's "
                   "Allow header holds %d: raise CONN_ALLOW_MAX",
                   need, CONN_ALLOW_MAX);
  return 0;
}

int server_new(uv_loop_t *loop, const struct server_opts *o,
               struct server **out, struct errbuf *e) {
  struct sockaddr_storage ss;
  struct server *s;
  int rc;

  rc = server_check_routes(o, e);
  if (rc != 0)
    return rc;
  memset(&ss, 0, sizeof ss);
  rc = server_resolve(o->host, o->port, &ss, e);
  if (rc != 0)
    return rc;
  s = calloc(1, sizeof *s);
  if (s == NULL)
    return err_set(e, UV_ENOMEM, "out of memory");
  s->loop = loop;
  s->o = *o;
  s->reserve = -1;
  if (s->o.max_conns == 0)
    s->o.max_conns = 1;
  rc = server_listen_fd(&ss, &s->lfd);
  if (rc != 0) {
    free(s);
    return err_set(e, rc, "cannot listen on %s:%d: %s", o->host, o->port,
                   uv_strerror(rc));
  }
  rc = uv_poll_init_socket(loop, &s->listener, s->lfd);
  if (rc != 0) {
    close(s->lfd);
    free(s);
    return err_set(e, rc, "cannot watch the listening socket: %s",
                   uv_strerror(rc));
  }
  s->listener.data = s;
  server_reserve(s);
  (void)uv_poll_start(&s->listener, UV_READABLE, server_accept_cb);
  s->listening = true;
  (void)uv_timer_init(loop, &s->grace); /* no system call: cannot fail */
  s->grace.data = s;
  s->grace_open = true;
  (void)uv_timer_init(loop, &s->retry);
  s->retry.data = s;
  s->retry_open = true;
  (void)uv_timer_init(loop, &s->sweep);
  s->sweep.data = s;
  s->sweep_open = true;
  if (s->o.send_timeout_ms != 0) {
    uint64_t ms = server_sweep_ms(&s->o);
    (void)uv_timer_start(&s->sweep, server_sweep_cb, ms, ms);
  }
  *out = s;
  return 0;
}

int server_address(struct server *s, char *buf, size_t size) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  char ip[64];
  int rc = getsockname(s->lfd, (struct sockaddr *)&ss, &len) == 0 ? 0
                                                                   : -errno;
  int n;

  if (rc != 0)
    goto fail;
  if (ss.ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    rc = uv_ip6_name(a, ip, sizeof ip);
    n = rc == 0 ? snprintf(buf, size, "[%s]:%d", ip, ntohs(a->sin6_port)) : 0;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    rc = uv_ip4_name(a, ip, sizeof ip);
    n = rc == 0 ? snprintf(buf, size, "%s:%d", ip, ntohs(a->sin_port)) : 0;
  }
  if (rc == 0 && (n < 0 || (size_t)n >= size))
    rc = UV_ENOBUFS; /* never a cut address */
  if (rc == 0)
    return 0;
fail:
  if (size > 0)
    buf[0] = '\0'; /* a caller that ignores the error prints nothing */
  return rc;
}

void server_conn_gone(struct server *s, struct conn *c) {
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    s->conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  s->nconns--;
  /* a descriptor is free: the reserve first, then accepting again */
  if (!s->stopping) {
    server_reserve(s);
    if (s->accept_paused)
      server_retry_cb(&s->retry);
  }
  server_check_done(s);
}

static void server_grace_closed_cb(uv_handle_t *h) {
  struct server *s = h->data;
  s->grace_open = false;
  if (s->done_cb != NULL)
    s->done_cb(s, s->done_arg);
}

static void server_listener_closed_cb(uv_handle_t *h) {
  struct server *s = h->data;
  close(s->lfd);
  s->lfd = -1;
  s->listening = false;
  server_check_done(s);
}

static void server_retry_closed_cb(uv_handle_t *h) {
  struct server *s = h->data;
  s->retry_open = false;
  server_check_done(s);
}

static void server_sweep_closed_cb(uv_handle_t *h) {
  struct server *s = h->data;
  s->sweep_open = false;
  server_check_done(s);
}

static void server_check_done(struct server *s) {
  /* the sweep runs through the grace period, for the last writers */
  if (s->stopping && s->nconns == 0 && s->sweep_open &&
      !uv_is_closing((uv_handle_t *)&s->sweep))
    uv_close((uv_handle_t *)&s->sweep, server_sweep_closed_cb);
  if (!s->stopping || s->nconns != 0 || s->listening || s->retry_open ||
      s->sweep_open ||
      !s->grace_open || uv_is_closing((uv_handle_t *)&s->grace))
    return;
  if (s->reserve >= 0)
    close(s->reserve);
  s->reserve = -1;
  uv_close((uv_handle_t *)&s->grace, server_grace_closed_cb);
}

static void server_grace_cb(uv_timer_t *t) {
  struct server *s = t->data;
  struct conn *c, *next;

  for (c = s->conns; c != NULL; c = next) {
    next = c->next;
    conn_close(c);
  }
}

void server_stop(struct server *s, uint64_t grace_ms,
                 void (*done_cb)(struct server *s, void *arg), void *arg) {
  struct conn *c, *next;

  if (s->stopping)
    return;
  s->stopping = true;
  s->done_cb = done_cb;
  s->done_arg = arg;
  uv_close((uv_handle_t *)&s->listener, server_listener_closed_cb);
  uv_close((uv_handle_t *)&s->retry, server_retry_closed_cb);
  for (c = s->conns; c != NULL; c = next) {
    next = c->next;
    if (conn_is_idle(c))
      conn_close(c);
  }
  uv_timer_start(&s->grace, server_grace_cb, grace_ms, 0);
}

void server_free(struct server *s) { free(s); }
