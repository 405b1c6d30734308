/*
 * main.c: the artifactstored binary: option parsing and dispatch to the
 * daemon or an operator command.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "as_config.h"
#include "store/digest.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: artifactstored [options]\n"
          "\n"
          "Content-addressed artifact and evidence store.\n"
          "\n"
          "options:\n"
          "  --listen HOST:PORT   address to serve HTTP on (default 127.0.0.1:8080)\n"
          "  --data DIR           data directory (default ./var)\n"
          "  --version            print the version and exit\n"
          "  --help               print this help and exit\n");
}

int main(int argc, char **argv) {
  enum { OPT_LISTEN = 256, OPT_DATA, OPT_VERSION, OPT_HELP };
  static const struct option opts[] = {
      {"listen", required_argument, NULL, OPT_LISTEN},
      {"data", required_argument, NULL, OPT_DATA},
      {"version", no_argument, NULL, OPT_VERSION},
      {"help", no_argument, NULL, OPT_HELP},
      {NULL, 0, NULL, 0},
  };
  int c;

  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case OPT_VERSION:
      printf("artifactstored %s (sha256: %s)\n", AS_VERSION,
             digest_sha256_provider());
      return 0;
    case OPT_HELP:
      usage(stdout);
      return 0;
    case OPT_LISTEN:
    case OPT_DATA:
      break;
    default:
      usage(stderr);
      return 2;
    }
  }
  fprintf(stderr, "artifactstored: the HTTP daemon is not built yet; see --help\n");
  return 1;
}
