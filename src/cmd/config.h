/*
 * config.h: command-line configuration of the artifactstored binary.
 */
#ifndef AS_CONFIG_H
#define AS_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "util/common.h"

#define CONFIG_DEFAULT_HOST "127.0.0.1"
#define CONFIG_DEFAULT_PORT 8080
#define CONFIG_DEFAULT_DATA "./var"
#define CONFIG_HOST_MAX 255
#define CONFIG_DEFAULT_VERIFY_RECENT 10000 /* events checked at start */
#define CONFIG_VERIFY_RECENT_MAX 1000000000000LL
#define CONFIG_DEFAULT_SEND_TIMEOUT 60     /* s without a byte sent */
#define CONFIG_SEND_TIMEOUT_MAX 86400
#define CONFIG_DEFAULT_SWEEP_INTERVAL 60   /* s between sweeper passes */
#define CONFIG_DEFAULT_OPEN_TTL 86400      /* s an open package may live */
#define CONFIG_DEFAULT_GC_GRACE 3600       /* s unreferenced before GC */
#define CONFIG_DEFAULT_TRASH_TTL 86400     /* s in the trash */
#define CONFIG_SECONDS_MAX 3153600000LL    /* 100 years */

enum config_cmd {
  CMD_DAEMON = 0,   /* serve HTTP */
  CMD_VERSION,
  CMD_HELP,
  CMD_REPLAY,       /* --replay [--check] */
  CMD_VERIFY_LOG,   /* --verify-log [--blobs] */
  CMD_GC,           /* --gc [--dry-run] */
};

struct config {
  enum config_cmd cmd;
  char listen_host[CONFIG_HOST_MAX + 1]; /* without [] for IPv6 */
  int listen_port;                       /* 0: ephemeral */
  const char *data_dir;
  bool check;                            /* --replay --check */
  bool blobs;                            /* --verify-log --blobs */
  bool dry_run;                          /* --gc --dry-run */
  bool init;                             /* --init (daemon) */
  long long verify_recent;               /* --verify-recent N (daemon) */
  const char *log_file;                  /* --log-file PATH; NULL: stderr */
  unsigned send_timeout;                 /* --send-timeout S (daemon); 0: none */
  /* the sweeper and collector (daemon; docs/OPERATOR.md "Retention") */
  long long sweep_interval;              /* --sweep-interval S; 0: off */
  long long open_package_ttl;            /* --open-package-ttl S */
  long long gc_grace;                    /* --gc-grace S (daemon, --gc) */
  long long trash_ttl;                   /* --trash-ttl S */
};

/* Parses argv into cfg.  0, or UV_EINVAL with a message for the user. */
int config_parse(int argc, char **argv, struct config *cfg, struct errbuf *e);
/* "HOST:PORT" or "[v6]:PORT" into cfg.  0 or UV_EINVAL with a reason. */
int config_parse_listen(const char *s, struct config *cfg, struct errbuf *e);
void config_usage(FILE *f);

#endif
