/*
 * common.c: what every mode of loadclient uses: the monotonic clock, fatal
 * errors, and the --addr address, which must be loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loadclient.h"

double lc_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void lc_die(const char *what) {
  fprintf(stderr, "loadclient: %s\n", what);
  exit(1);
}

void lc_die_errno(const char *what) {
  fprintf(stderr, "loadclient: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* ---- address ---------------------------------------------------------- */

struct sockaddr_storage lc_sa;
socklen_t lc_salen;

/* HOST:PORT or [V6]:PORT; only loopback addresses are accepted. */
void lc_addr_parse(const char *s) {
  char host[256];
  const char *colon = strrchr(s, ':');
  struct addrinfo hints, *res = NULL;
  size_t hl;

  if (colon == NULL)
    lc_die("--addr must be HOST:PORT");
  hl = (size_t)(colon - s);
  if (hl >= sizeof host)
    lc_die("--addr host is too long");
  memcpy(host, s, hl);
  host[hl] = '\0';
  if (host[0] == '[' && hl >= 2 && host[hl - 1] == ']') {
    memmove(host, host + 1, hl - 2);
    host[hl - 2] = '\0';
  }
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || res == NULL)
    lc_die("--addr must be a numeric loopback HOST:PORT such as 127.0.0.1:8080");
  memcpy(&lc_sa, res->ai_addr, res->ai_addrlen);
  lc_salen = res->ai_addrlen;
  freeaddrinfo(res);
  if (lc_sa.ss_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)&lc_sa;
    if ((ntohl(in->sin_addr.s_addr) >> 24) != 127)
      lc_die("--addr must be a loopback address (127.0.0.0/8 or [::1])");
  } else {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&lc_sa;
    if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
      lc_die("--addr must be a loopback address (127.0.0.0/8 or [::1])");
  }
}
