/*
 * main.c: the artifactstored binary: parse options, dispatch to the daemon
 * or an operator command.  Each command lives in its own module.
 *
 * A command line the daemon would refuse is said as the daemon says
 * everything, one JSON line on stderr (level error); one that names an
 * operator command (--replay, --verify-log, --gc, --help, --version) is said in
 * plain text, like the rest of what those commands print.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "as_config.h"
#include "cmd/config.h"
#include "cmd/daemon.h"
#include "cmd/cmd.h"
#include "store/codec/digest.h"
#include "util/logq.h"

/* Does argv name an operator command (for a human at a terminal)? */
static int names_operator_command(int argc, char **argv) {
  static const char *const cmds[] = {"--replay", "--verify-log", "--gc",
                                     "--help", "-h", "--version", "-V"};
  for (int i = 1; i < argc; i++)
    for (size_t j = 0; j < sizeof cmds / sizeof cmds[0]; j++)
      if (strcmp(argv[i], cmds[j]) == 0)
        return 1;
  return 0;
}

int main(int argc, char **argv) {
  struct config cfg;
  struct errbuf e = {{0}};
  int rc;

  rc = config_parse(argc, argv, &cfg, &e);
  if (rc != 0) {
    if (names_operator_command(argc, argv))
      fprintf(stderr, "artifactstored: %s\n", err_msg(&e, rc));
    else
      logq_msg(LOGQ_ERROR, "bad command line", err_msg(&e, rc));
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
  case CMD_GC:
    return cmd_gc(&cfg);
  case CMD_DAEMON:
    return daemon_run(&cfg);
  }
  fprintf(stderr, "artifactstored: this command is not built yet; see --help\n");
  return 1;
}
