/*
 * main.c: loadclient's command line (see usage() and loadclient.h for the
 * modes), the process-wide state the modes share, and the switch to the
 * chosen mode.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "loadclient.h"

int lc_ep = -1;
uint8_t *lc_pattern;
uint64_t lc_nonce;

static void usage(void) {
  fprintf(stderr,
          "usage: loadclient upload --addr H:P [--conns N] [--size BYTES]\n"
          "                         [--count N] [--duration S] [--package ID]\n"
          "                         [--pid PID] [--timeout S]\n"
          "       loadclient create --addr H:P [--conns N] [--count N]\n"
          "       loadclient get    --addr H:P --path P [--method HEAD]\n"
          "                         [--conns N] [--count N] [--duration S]\n"
          "       loadclient fanout --addr H:P --waiters W --since SEQ\n"
          "                         [--pid PID] [--settle-ms MS]\n"
          "       loadclient serve  --addr 127.0.0.1:0 [--file PATH]\n"
          "                         [--duration S]\n");
  exit(2);
}

static unsigned long long num(const char *s, unsigned long long max) {
  char *end;
  unsigned long long v;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || end == s || v > max) {
    fprintf(stderr, "loadclient: bad number \"%s\" (0..%llu)\n", s, max);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  struct lc_opts o = {.conns = 1, .size = 1024, .count = 1, .timeout = 120,
                      .settle_ms = 1000, .since = -1};
  int rc;

  if (argc < 2)
    usage();
  if (strcmp(argv[1], "upload") == 0)
    o.mode = MODE_UPLOAD;
  else if (strcmp(argv[1], "create") == 0)
    o.mode = MODE_CREATE;
  else if (strcmp(argv[1], "get") == 0)
    o.mode = MODE_GET;
  else if (strcmp(argv[1], "fanout") == 0)
    o.mode = MODE_FANOUT;
  else if (strcmp(argv[1], "serve") == 0)
    o.mode = MODE_SERVE;
  else
    usage();
  for (int i = 2; i < argc; i++) {
    const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL)
      usage();
    i++;
    if (strcmp(k, "--addr") == 0)
      o.addr = v;
    else if (strcmp(k, "--conns") == 0 || strcmp(k, "--waiters") == 0)
      o.conns = (int)num(v, LC_MAX_CONNS);
    else if (strcmp(k, "--size") == 0)
      o.size = num(v, 1ull << 40);
    else if (strcmp(k, "--count") == 0)
      o.count = num(v, 1ull << 32);
    else if (strcmp(k, "--duration") == 0)
      o.duration = (double)num(v, 3600);
    else if (strcmp(k, "--timeout") == 0)
      o.timeout = (double)num(v, 3600);
    else if (strcmp(k, "--method") == 0)
      o.method = v;
    else if (strcmp(k, "--file") == 0)
      o.file = v;
    else if (strcmp(k, "--path") == 0)
      o.path = v;
    else if (strcmp(k, "--package") == 0)
      o.package = v;
    else if (strcmp(k, "--pid") == 0)
      o.pid = (int)num(v, 1u << 30);
    else if (strcmp(k, "--since") == 0)
      o.since = (int64_t)num(v, 1ull << 53);
    else if (strcmp(k, "--settle-ms") == 0)
      o.settle_ms = (int)num(v, 600000);
    else
      usage();
  }
  if (o.addr == NULL || o.conns < 1)
    usage();
  if (o.mode == MODE_FANOUT && o.since < 0)
    lc_die("fanout needs --since SEQ (the last committed sequence)");
  if (o.method == NULL)
    o.method = "GET";
  if (strcmp(o.method, "GET") != 0 && strcmp(o.method, "HEAD") != 0)
    lc_die("--method must be GET or HEAD");
  if (o.mode == MODE_GET && (o.path == NULL || o.path[0] != '/'))
    lc_die("get needs --path /PATH");
  if (o.package != NULL && strlen(o.package) != 36)
    lc_die("--package must be a 36-character package id");
  lc_addr_parse(o.addr);
  signal(SIGPIPE, SIG_IGN);
  lc_ep = epoll_create1(EPOLL_CLOEXEC);
  if (lc_ep < 0)
    lc_die_errno("epoll_create1");
  lc_pattern = malloc(LC_PATTERN_BYTES);
  if (lc_pattern == NULL)
    lc_die("out of memory");
  {
    uint64_t x = 0x2545f4914f6cdd1dull ^ (uint64_t)getpid();
    for (size_t i = 0; i < LC_PATTERN_BYTES; i += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      memcpy(lc_pattern + i, &x, 8);
    }
    lc_nonce = x ^ (uint64_t)time(NULL);
  }
  switch (o.mode) {
  case MODE_UPLOAD:
  case MODE_CREATE:
  case MODE_GET:
    rc = lc_mode_load(&o);
    break;
  case MODE_FANOUT:
    rc = lc_mode_fanout(&o);
    break;
  default:
    rc = lc_mode_serve(&o);
    break;
  }
  free(lc_pattern);
  close(lc_ep);
  return rc;
}
