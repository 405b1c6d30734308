/*
 * main.c: the artifactstored binary: parse options, dispatch to the daemon
 * or an operator command.  Each command lives in its own module.
 */
#include <stdio.h>
#include <stdlib.h>

#include "as_config.h"
#include "cmd/config.h"
#include "cmd/daemon.h"
#include "cmd/cmd.h"
#include "store/codec/digest.h"

int main(int argc, char **argv) {
  struct config cfg;
  struct errbuf e = {{0}};
  int rc;

  rc = config_parse(argc, argv, &cfg, &e);
  if (rc != 0) {
    fprintf(stderr, "artifactstored: %s\n", err_msg(&e, rc));
    return 2;
  }
  switch (cfg.cmd) {
  case CMD_VERSION:
    printf("artifactstored %s (sha256: %s)\n", AS_VERSION,
           digest_sha256_provider());
    return 0;
  case CMD_HELP:
    config_usage(stdout);
    return 0;
  case CMD_REPLAY:
    return cmd_replay(&cfg);
  case CMD_VERIFY_LOG:
    return cmd_verify_log(&cfg);
  case CMD_DAEMON:
    return daemon_run(&cfg);
  }
  fprintf(stderr, "artifactstored: this command is not built yet; see --help\n");
  return 1;
}
