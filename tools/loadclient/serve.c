/*
 * serve.c: the serve mode of loadclient, the floor the daemon's figures
 * sit beside.
 *
 * One thread, one epoll, no parsing beyond what the bench sends: a request
 * line and headers, then Content-Length body bytes, which are discarded
 * (answering "100 Continue" first when asked).  Bodiless requests get
 * "ok"; with --file, GET streams that file with sendfile(2), as a server
 * that does nothing else would.  Requests with a body get 201 and a JSON
 * id, so loadclient upload can run against it too.  GET /v1/events... is
 * parked until the next request with a body, which first answers every
 * parked one with a fixed one-event page: the fan-out floor.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loadclient.h"

static volatile sig_atomic_t g_stop;

static void on_term(int sig) {
  (void)sig;
  g_stop = 1;
}

struct srv {
  int file_fd;
  uint64_t file_size;
  struct lc_conn **parked;     /* long-poll GETs waiting for a POST */
  size_t nparked, capparked;
};

/* A typical one-event page: what each waiter receives. */
static const char SRV_PAGE[] =
    "{\"events\":[{\"sequence\":2,\"created_at\":\"2026-11-23T09:14:35.520838Z\","
    "\"event_type\":\"v1.package.created\",\"subject_kind\":\"package\","
    "\"subject_id\":\"01a207af-8e80-7163-a80d-6400f13f3563\",\"actor\":"
    "\"anonymous\",\"payload\":{\"created_at\":1795425275520838,\"id\":"
    "\"01a207af-8e80-7163-a80d-6400f13f3563\",\"metadata\":{},\"name\":"
    "\"bench\",\"producer\":\"loadclient\",\"retention_class\":"
    "\"transient\",\"subject\":\"bench\"},\"payload_digest\":\"blake3:"
    "02ccc1a8eb13df91cdcbe5198256778dc8fea78e4767337077e3105b7058bdcd\","
    "\"chain_digest\":\"blake3:1fe50d4e7fe0221af77555c6ef619595b2552ab7f4"
    "6a3ccfccb06ff4c76b0151\"}],\"next\":2}";

static int srv_flush(struct srv *s, struct lc_conn *c);

static void srv_park(struct srv *s, struct lc_conn *c) {
  if (s->nparked == s->capparked) {
    size_t cap = s->capparked ? s->capparked * 2 : 1024;
    struct lc_conn **v = realloc(s->parked, cap * sizeof *v);
    if (v == NULL)
      lc_die("out of memory");
    s->parked = v;
    s->capparked = cap;
  }
  s->parked[s->nparked++] = c;
  c->kind = KIND_WAITER;
}

static void srv_unpark(struct srv *s, struct lc_conn *c) {
  for (size_t i = 0; i < s->nparked; i++)
    if (s->parked[i] == c)
      s->parked[i] = NULL;
}

/* A commit: every parked waiter gets the page, as the daemon's would. */
static void srv_wake(struct srv *s) {
  for (size_t i = 0; i < s->nparked; i++) {
    struct lc_conn *w = s->parked[i];
    int n, rc;
    if (w == NULL)
      continue;
    n = snprintf(w->hdr, sizeof w->hdr,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 sizeof SRV_PAGE - 1, SRV_PAGE);
    w->hdr_len = (size_t)n;
    w->hdr_off = 0;
    w->body_off = w->body_len = 0;
    w->kind = KIND_GET;
    rc = srv_flush(s, w);
    if (rc > 0)
      lc_conn_watch(w, EPOLLIN | EPOLLOUT);
  }
  s->nparked = 0;
}

static const char SRV_CREATED[] =
    "{\"id\":\"00000000-0000-7000-8000-000000000000\"}";

/* Sends c->hdr from hdr_off, then the file from body_off (sendfile).
 * 0 done, 1 would block, -1 error. */
static int srv_flush(struct srv *s, struct lc_conn *c) {
  while (c->hdr_off < c->hdr_len) {
    ssize_t n = send(c->fd, c->hdr + c->hdr_off, c->hdr_len - c->hdr_off,
                     MSG_NOSIGNAL);
    if (n < 0)
      return errno == EAGAIN ? 1 : -1;
    c->hdr_off += (size_t)n;
  }
  while (c->body_off < c->body_len) {
    off_t off = (off_t)c->body_off;
    size_t want = c->body_len - c->body_off > LC_SEND_BUDGET
                      ? LC_SEND_BUDGET
                      : (size_t)(c->body_len - c->body_off);
    ssize_t n = sendfile(c->fd, s->file_fd, &off, want);
    if (n < 0)
      return errno == EAGAIN ? 1 : -1;
    if (n == 0)
      return -1;
    c->body_off = (uint64_t)off;
  }
  return 0;
}

/* Handles what is buffered.  0 ok, -1 close the connection. */
static int srv_process(struct srv *s, struct lc_conn *c) {
  for (;;) {
    char *end;
    size_t used;
    bool head, get;
    const char *v;
    long long cl = 0;
    int n;

    if (c->hdr_off < c->hdr_len || c->body_off < c->body_len) {
      int rc = srv_flush(s, c);
      if (rc != 0) {
        if (rc > 0)
          lc_conn_watch(c, EPOLLIN | EPOLLOUT);
        return rc > 0 ? 0 : -1;
      }
      lc_conn_watch(c, EPOLLIN);
    }
    if (c->content_len > 0) { /* discarding a request body */
      size_t take = c->rlen < (uint64_t)c->content_len
                        ? c->rlen
                        : (size_t)c->content_len;
      memmove(c->rbuf, c->rbuf + take, c->rlen - take);
      c->rlen -= take;
      c->content_len -= (long long)take;
      if (c->content_len > 0)
        return 0;
      srv_wake(s);
      n = snprintf(c->hdr, sizeof c->hdr,
                   "HTTP/1.1 201 Created\r\nContent-Type: application/json"
                   "\r\nContent-Length: %zu\r\n\r\n%s",
                   sizeof SRV_CREATED - 1, SRV_CREATED);
      c->hdr_len = (size_t)n;
      c->hdr_off = 0;
      c->body_off = c->body_len = 0;
      continue;
    }
    end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
    if (end == NULL)
      return c->rlen == c->rcap ? -1 : 0;
    used = (size_t)(end - c->rbuf) + 4;
    head = c->rlen >= 5 && memcmp(c->rbuf, "HEAD ", 5) == 0;
    get = c->rlen >= 4 && memcmp(c->rbuf, "GET ", 4) == 0;
    v = lc_hdr_find(c->rbuf, end, "Content-Length");
    if (v != NULL)
      cl = strtoll(v, NULL, 10);
    c->hdr_off = 0;
    c->body_off = c->body_len = 0;
    if (cl > 0) {
      v = lc_hdr_find(c->rbuf, end, "Expect");
      c->hdr_len = 0;
      if (v != NULL && strncasecmp(v, "100-continue", 12) == 0) {
        memcpy(c->hdr, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        c->hdr_len = 25;
      }
      c->content_len = cl;
    } else if (get && c->rlen > 14 && memcmp(c->rbuf, "GET /v1/events", 14) == 0) {
      srv_park(s, c);
      c->hdr_len = 0;
    } else if (get && s->file_fd >= 0) {
      n = snprintf(c->hdr, sizeof c->hdr,
                   "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream"
                   "\r\nContent-Length: %" PRIu64 "\r\n\r\n",
                   s->file_size);
      c->hdr_len = (size_t)n;
      c->body_len = s->file_size;
    } else {
      n = snprintf(c->hdr, sizeof c->hdr,
                   "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                   "Content-Length: 2\r\n\r\n%s",
                   head ? "" : "ok");
      c->hdr_len = (size_t)n;
    }
    memmove(c->rbuf, c->rbuf + used, c->rlen - used);
    c->rlen -= used;
  }
}

int lc_mode_serve(const struct lc_opts *o) {
  struct epoll_event evs[LC_EVENTS], ev;
  struct sockaddr_storage bound;
  socklen_t bl = sizeof bound;
  struct srv s = {.file_fd = -1};
  char host[64];
  int lfd, one = 1;
  double deadline = o->duration > 0 ? lc_now() + o->duration : 0;

  if (o->file != NULL) {
    struct stat st;
    s.file_fd = open(o->file, O_RDONLY | O_CLOEXEC);
    if (s.file_fd < 0 || fstat(s.file_fd, &st) != 0)
      lc_die_errno("--file");
    s.file_size = (uint64_t)st.st_size;
  }
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  lfd = socket(lc_sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0)
    lc_die_errno("socket");
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, (const struct sockaddr *)&lc_sa, lc_salen) != 0 ||
      listen(lfd, 4096) != 0)
    lc_die_errno("bind/listen");
  getsockname(lfd, (struct sockaddr *)&bound, &bl);
  if (bound.ss_family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)&bound;
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    fprintf(stderr, "{\"msg\":\"listening\",\"address\":\"%s:%d\"}\n", host,
            ntohs(in->sin_port));
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&bound;
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    fprintf(stderr, "{\"msg\":\"listening\",\"address\":\"[%s]:%d\"}\n", host,
            ntohs(in6->sin6_port));
  }
  ev.events = EPOLLIN;
  ev.data.ptr = NULL;
  epoll_ctl(lc_ep, EPOLL_CTL_ADD, lfd, &ev);
  while (!g_stop && (deadline == 0 || lc_now() < deadline)) {
    int n = epoll_wait(lc_ep, evs, LC_EVENTS, 100);
    for (int i = 0; i < n; i++) {
      struct lc_conn *c = evs[i].data.ptr;
      bool dead = false;
      if (c == NULL) {
        int fd;
        while ((fd = accept4(lfd, NULL, NULL,
                             SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          struct lc_conn *nc = calloc(1, sizeof *nc);
          if (nc == NULL)
            lc_die("out of memory");
          nc->fd = fd;
          nc->rcap = 256 * 1024;
          nc->rbuf = malloc(nc->rcap);
          if (nc->rbuf == NULL)
            lc_die("out of memory");
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          nc->watching = EPOLLIN;
          ev.events = EPOLLIN;
          ev.data.ptr = nc;
          epoll_ctl(lc_ep, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      if (evs[i].events & EPOLLOUT)
        dead = srv_process(&s, c) != 0;
      while (!dead && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        ssize_t r = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
        if (r < 0 && errno == EAGAIN)
          break;
        if (r <= 0) {
          dead = true;
          break;
        }
        c->rlen += (size_t)r;
        dead = srv_process(&s, c) != 0;
        if (c->hdr_off < c->hdr_len || c->body_off < c->body_len)
          break; /* blocked on output: let EPOLLOUT resume */
      }
      if (dead) {
        if (c->kind == KIND_WAITER)
          srv_unpark(&s, c);
        lc_conn_free(c);
      }
    }
  }
  close(lfd);
  if (s.file_fd >= 0)
    close(s.file_fd);
  free(s.parked);
  return 0;
}
