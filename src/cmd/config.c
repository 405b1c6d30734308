/* config.c: command-line parsing for the artifactstored binary. */
#include "cmd/config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

void config_usage(FILE *f) {
  fprintf(f,
          "usage: artifactstored [--listen HOST:PORT] [--data DIR] [--init]\n"
          "                      [--verify-recent N] [--log-file PATH]\n"
          "                      [--send-timeout SECONDS]\n"
          "                      [--sweep-interval S] [--open-package-ttl S]\n"
          "                      [--gc-grace S] [--trash-ttl S]\n"
          "       artifactstored --replay [--check] [--data DIR]\n"
          "       artifactstored --verify-log [--blobs] [--data DIR]\n"
          "       artifactstored --gc [--dry-run] [--gc-grace S] [--data DIR]\n"
          "       artifactstored --version | --help  (-V | -h)\n"
          "\n"
          "Content-addressed artifact and evidence store.\n"
          "\n"
          "options:\n"
          "  --listen HOST:PORT   serve HTTP on this address (default %s:%d;\n"
          "                       [::1]:PORT for IPv6, port 0 for an ephemeral port;\n"
          "                       :PORT for every IPv4 interface, [::]:PORT for IPv6)\n"
          "  --data DIR           data directory (default %s)\n"
          "  --init               initialise explicitly: adopt a data directory made\n"
          "                       before markers, or start a new empty log where the\n"
          "                       database is missing (see docs/OPERATOR.md)\n"
          "  --verify-recent N    at start, check the hash chain of the last N events\n"
          "                       (default %d; 0: skip)\n"
          "  --log-file PATH      append the log to PATH instead of stderr; SIGHUP\n"
          "                       reopens it (after logrotate moved it)\n"
          "  --send-timeout S     close a connection whose response makes no\n"
          "                       progress for S seconds (default %d; 0: never)\n"
          "  --sweep-interval S   run the sweeper and collector every S seconds\n"
          "                       (default %d; 0: never: nothing expires, is\n"
          "                       aborted or collected)\n"
          "  --open-package-ttl S abort open packages not finalized within S\n"
          "                       seconds of their creation (default %d)\n"
          "  --gc-grace S         collect a blob once nothing live has referred to\n"
          "                       it for S seconds (default %d); also the age of\n"
          "                       an orphan blob file before it is collected\n"
          "  --trash-ttl S        remove collected blobs from <data>/trash after S\n"
          "                       seconds (default %d)\n"
          "  --replay             rebuild every view from the event log and report\n"
          "                       the view digest before and after\n"
          "  --check              with --replay: rebuild into a scratch database and\n"
          "                       compare digests without touching the live one\n"
          "  --verify-log         recompute payload and chain digests of the log\n"
          "  --blobs              with --verify-log: also re-hash every referenced\n"
          "                       blob (missing or damaged: exit 1) and list\n"
          "                       orphans (stored, used by no file)\n"
          "  --gc                 collect now, with the daemon stopped: the blobs\n"
          "                       nothing live has referred to for --gc-grace\n"
          "                       seconds and orphan blob files older than that\n"
          "                       move to <data>/trash (v1.blob.collected each)\n"
          "  --dry-run            with --gc: list what would be collected and why,\n"
          "                       change nothing\n"
          "  -V, --version        print the version and exit\n"
          "  -h, --help           print this help and exit\n",
          CONFIG_DEFAULT_HOST, CONFIG_DEFAULT_PORT, CONFIG_DEFAULT_DATA,
          CONFIG_DEFAULT_VERIFY_RECENT, CONFIG_DEFAULT_SEND_TIMEOUT,
          CONFIG_DEFAULT_SWEEP_INTERVAL, CONFIG_DEFAULT_OPEN_TTL,
          CONFIG_DEFAULT_GC_GRACE, CONFIG_DEFAULT_TRASH_TTL);
}

int config_parse_listen(const char *s, struct config *cfg, struct errbuf *e) {
  const char *host, *colon, *port;
  size_t hlen;
  char *end;
  long p;

  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (close == NULL || close[1] != ':')
      return err_set(e, UV_EINVAL,
                     "--listen \"%s\": IPv6 addresses are written [ADDR]:PORT", s);
    host = s + 1;
    hlen = (size_t)(close - host);
    port = close + 2;
  } else {
    colon = strrchr(s, ':');
    if (colon == NULL)
      return err_set(e, UV_EINVAL, "--listen \"%s\": expected HOST:PORT", s);
    host = s;
    hlen = (size_t)(colon - s);
    port = colon + 1;
  }
  if (hlen == 0 && s[0] == ':') { /* ":PORT": every IPv4 interface */
    host = "0.0.0.0";
    hlen = strlen(host);
  }
  if (hlen == 0 || hlen > CONFIG_HOST_MAX)
    return err_set(e, UV_EINVAL, "--listen \"%s\": host is empty or too long", s);
  errno = 0;
  p = strtol(port, &end, 10);
  /* digits only: strtol alone would take " 80" and "+80" */
  if (*port < '0' || *port > '9' || *end != '\0' || errno != 0 || p < 0 ||
      p > 65535)
    return err_set(e, UV_EINVAL,
                   "--listen \"%s\": port must be a number from 0 to 65535", s);
  memcpy(cfg->listen_host, host, hlen);
  cfg->listen_host[hlen] = '\0';
  cfg->listen_port = (int)p;
  return 0;
}

/* A number of seconds, 0 to CONFIG_SECONDS_MAX, for option --name. */
static int config_seconds(const char *name, const char *v, long long *out,
                          struct errbuf *e) {
  char *end;
  long long n;

  errno = 0;
  n = strtoll(v, &end, 10);
  if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 ||
      n > CONFIG_SECONDS_MAX)
    return err_set(e, UV_EINVAL, "--%s \"%s\": expected a whole number of "
                   "seconds from 0 to %lld", name, v, CONFIG_SECONDS_MAX);
  *out = n;
  return 0;
}

int config_parse(int argc, char **argv, struct config *cfg, struct errbuf *e) {
  enum { OPT_LISTEN = 256, OPT_DATA, OPT_VERSION, OPT_HELP, OPT_REPLAY,
         OPT_CHECK, OPT_VERIFY_LOG, OPT_BLOBS, OPT_INIT,
         OPT_VERIFY_RECENT, OPT_LOG_FILE, OPT_SEND_TIMEOUT,
         OPT_SWEEP_INTERVAL, OPT_OPEN_TTL, OPT_GC_GRACE, OPT_TRASH_TTL,
         OPT_GC, OPT_DRY_RUN };
  static const struct option opts[] = {
      {"listen", required_argument, NULL, OPT_LISTEN},
      {"data", required_argument, NULL, OPT_DATA},
      {"replay", no_argument, NULL, OPT_REPLAY},
      {"check", no_argument, NULL, OPT_CHECK},
      {"verify-log", no_argument, NULL, OPT_VERIFY_LOG},
      {"blobs", no_argument, NULL, OPT_BLOBS},
      {"init", no_argument, NULL, OPT_INIT},
      {"verify-recent", required_argument, NULL, OPT_VERIFY_RECENT},
      {"log-file", required_argument, NULL, OPT_LOG_FILE},
      {"send-timeout", required_argument, NULL, OPT_SEND_TIMEOUT},
      {"sweep-interval", required_argument, NULL, OPT_SWEEP_INTERVAL},
      {"open-package-ttl", required_argument, NULL, OPT_OPEN_TTL},
      {"gc-grace", required_argument, NULL, OPT_GC_GRACE},
      {"trash-ttl", required_argument, NULL, OPT_TRASH_TTL},
      {"gc", no_argument, NULL, OPT_GC},
      {"dry-run", no_argument, NULL, OPT_DRY_RUN},
      {"version", no_argument, NULL, OPT_VERSION},
      {"help", no_argument, NULL, OPT_HELP},
      {NULL, 0, NULL, 0},
  };
  bool daemon_only = false, grace = false;
  int c, rc, li = 0;

  memset(cfg, 0, sizeof *cfg);
  cfg->cmd = CMD_DAEMON;
  snprintf(cfg->listen_host, sizeof cfg->listen_host, "%s", CONFIG_DEFAULT_HOST);
  cfg->listen_port = CONFIG_DEFAULT_PORT;
  cfg->data_dir = CONFIG_DEFAULT_DATA;
  cfg->verify_recent = CONFIG_DEFAULT_VERIFY_RECENT;
  cfg->send_timeout = CONFIG_DEFAULT_SEND_TIMEOUT;
  cfg->sweep_interval = CONFIG_DEFAULT_SWEEP_INTERVAL;
  cfg->open_package_ttl = CONFIG_DEFAULT_OPEN_TTL;
  cfg->gc_grace = CONFIG_DEFAULT_GC_GRACE;
  cfg->trash_ttl = CONFIG_DEFAULT_TRASH_TTL;

  opterr = 0;
  optind = 1;
  /* ':' first: a missing value is ':', not an unknown option */
  while ((c = getopt_long(argc, argv, ":hV", opts, &li)) != -1) {
    if (c == ':')
      return err_set(e, UV_EINVAL, "%s needs a value; see --help",
                     argv[optind - 1]);
    if (optarg != NULL && strncmp(optarg, "--", 2) == 0) /* --listen --data */
      return err_set(e, UV_EINVAL, "--%s needs a value, not the option "
                     "\"%s\"; see --help", opts[li].name, optarg);
    switch (c) {
    case OPT_LISTEN:
      if ((rc = config_parse_listen(optarg, cfg, e)) != 0)
        return rc;
      break;
    case OPT_DATA:
      if (optarg[0] == '\0')
        return err_set(e, UV_EINVAL, "--data needs a directory");
      cfg->data_dir = optarg;
      break;
    case OPT_REPLAY:
    case OPT_VERIFY_LOG:
    case OPT_GC:
    case OPT_VERSION:
    case OPT_HELP:
    case 'V':
    case 'h':
      if (cfg->cmd != CMD_DAEMON)
        return err_set(e, UV_EINVAL, "--replay, --verify-log, --gc, "
                       "--version and --help are exclusive");
      cfg->cmd = c == OPT_REPLAY       ? CMD_REPLAY
                 : c == OPT_VERIFY_LOG ? CMD_VERIFY_LOG
                 : c == OPT_GC         ? CMD_GC
                 : c == OPT_VERSION || c == 'V' ? CMD_VERSION
                                       : CMD_HELP;
      break;
    case OPT_DRY_RUN:
      cfg->dry_run = true;
      break;
    case OPT_CHECK:
      cfg->check = true;
      break;
    case OPT_BLOBS:
      cfg->blobs = true;
      break;
    case OPT_LOG_FILE:
      if (optarg[0] == '\0')
        return err_set(e, UV_EINVAL, "--log-file needs a path");
      cfg->log_file = optarg;
      daemon_only = true;
      break;
    case OPT_INIT:
      cfg->init = daemon_only = true;
      break;
    case OPT_VERIFY_RECENT: {
      char *end;
      errno = 0;
      cfg->verify_recent = strtoll(optarg, &end, 10);
      if (*optarg < '0' || *optarg > '9' || *end != '\0' || errno != 0 ||
          cfg->verify_recent > CONFIG_VERIFY_RECENT_MAX)
        return err_set(e, UV_EINVAL, "--verify-recent \"%s\": expected a "
                       "number of events (0 to skip the check)", optarg);
      daemon_only = true;
      break;
    }
    case OPT_SEND_TIMEOUT: {
      char *end;
      long long v;
      errno = 0;
      v = strtoll(optarg, &end, 10);
      if (*optarg < '0' || *optarg > '9' || *end != '\0' || errno != 0 ||
          v > CONFIG_SEND_TIMEOUT_MAX)
        return err_set(e, UV_EINVAL, "--send-timeout \"%s\": expected seconds "
                       "from 0 (never) to %d", optarg, CONFIG_SEND_TIMEOUT_MAX);
      cfg->send_timeout = (unsigned)v;
      daemon_only = true;
      break;
    }
    case OPT_SWEEP_INTERVAL:
    case OPT_OPEN_TTL:
    case OPT_GC_GRACE:
    case OPT_TRASH_TTL:
      rc = config_seconds(opts[li].name, optarg,
                          c == OPT_SWEEP_INTERVAL ? &cfg->sweep_interval
                          : c == OPT_OPEN_TTL     ? &cfg->open_package_ttl
                          : c == OPT_GC_GRACE     ? &cfg->gc_grace
                                                  : &cfg->trash_ttl,
                          e);
      if (rc != 0)
        return rc;
      if (c == OPT_GC_GRACE)
        grace = true;
      else
        daemon_only = true;
      break;
    default:
      return err_set(e, UV_EINVAL, "unknown option \"%s\"; see --help",
                     argv[optind - 1]);
    }
  }
  if (optind < argc)
    return err_set(e, UV_EINVAL, "unexpected argument \"%s\"; see --help",
                   argv[optind]);
  if (cfg->check && cfg->cmd != CMD_REPLAY)
    return err_set(e, UV_EINVAL, "--check only goes with --replay");
  if (cfg->blobs && cfg->cmd != CMD_VERIFY_LOG)
    return err_set(e, UV_EINVAL, "--blobs only goes with --verify-log");
  if (cfg->dry_run && cfg->cmd != CMD_GC)
    return err_set(e, UV_EINVAL, "--dry-run only goes with --gc");
  if (grace && cfg->cmd != CMD_DAEMON && cfg->cmd != CMD_GC)
    return err_set(e, UV_EINVAL, "--gc-grace only goes with the daemon or "
                   "--gc");
  if (daemon_only && cfg->cmd != CMD_DAEMON)
    return err_set(e, UV_EINVAL, "--init, --verify-recent, --log-file, "
                   "--send-timeout and the retention options only go with "
                   "the daemon");
  return 0;
}
