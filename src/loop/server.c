/*
 * server.c: the listening socket, the list of connections, and graceful
 * shutdown (stop accepting, close idle connections, let requests in
 * progress finish until a grace period ends, then cut them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop/internal.h"
#include "util/logq.h"

#define SERVER_BACKLOG 4096

static void server_check_done(struct server *s);

static void server_connection_cb(uv_stream_t *l, int status) {
  struct server *s = l->data;

  if (s->stopping)
    return;
  if (status == 0)
    status = conn_accept(s);
  if (status != 0) /* e.g. out of file descriptors: say so */
    logq_json(json_pack("{s:s, s:s}", "msg", "accept failed", "error",
                        uv_err_name(status)));
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
  if (need > CONN_ALLOW_MAX)
    return err_set(e, UV_EINVAL,
                   "the route table uses %zu bytes of method names; a 405's "
                   "Allow header holds %d: raise CONN_ALLOW_MAX",
                   need, CONN_ALLOW_MAX);
  return 0;
}

static void server_free_cb(uv_handle_t *h) { free(h->data); }

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
  if (s->o.max_conns == 0)
    s->o.max_conns = 1;
  rc = uv_tcp_init(loop, &s->listener);
  if (rc != 0) {
    free(s);
    return err_set(e, rc, "cannot create a TCP handle: %s", uv_strerror(rc));
  }
  s->listener.data = s;
  rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&s->listener, SERVER_BACKLOG,
                   server_connection_cb);
  if (rc != 0) {
    err_set(e, rc, "cannot listen on %s:%d: %s", o->host, o->port,
            uv_strerror(rc));
    uv_close((uv_handle_t *)&s->listener, server_free_cb);
    return rc;
  }
  s->listening = true;
  (void)uv_timer_init(loop, &s->grace); /* no system call: cannot fail */
  s->grace.data = s;
  s->grace_open = true;
  *out = s;
  return 0;
}

int server_address(struct server *s, char *buf, size_t size) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  char ip[64];
  int rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len);
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
  s->listening = false;
  server_check_done(s);
}

static void server_check_done(struct server *s) {
  if (!s->stopping || s->nconns != 0 || s->listening || !s->grace_open ||
      uv_is_closing((uv_handle_t *)&s->grace))
    return;
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
  for (c = s->conns; c != NULL; c = next) {
    next = c->next;
    if (conn_is_idle(c))
      conn_close(c);
  }
  uv_timer_start(&s->grace, server_grace_cb, grace_ms, 0);
}

void server_free(struct server *s) { free(s); }
