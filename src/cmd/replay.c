/*
 * replay.c: `artifactstored --replay [--check] --data DIR`.
 *
 * --replay rebuilds every view from the event log in one transaction on
 * the live database and prints the view digest (src/store/evlog/replay.c) before
 * and after: equal digests prove the views were exactly what the log
 * implies.  --replay --check rebuilds a scratch copy in the data directory
 * instead, compares the digests and exits 1 when they differ; the live
 * database is only read.  Both hold the data directory lock, so no daemon
 * runs meanwhile.
 */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/codec/caddr.h"
#include "store/datadir.h"
#include "store/evlog/replay.h"
#include "store/registry/views.h"

static void replay_print(const struct replay_report *r, const char *label) {
  char before[CADDR_BUFSIZE], after[CADDR_BUFSIZE];
  double rate = r->seconds > 0 ? (double)r->applied / r->seconds : 0;

  caddr_format_raw(CADDR_BLAKE3, r->before, before);
  caddr_format_raw(CADDR_BLAKE3, r->after, after);
  printf("events applied: %llu\n", (unsigned long long)r->applied);
  printf("elapsed: %.3f s\n", r->seconds);
  printf("events/s: %.0f\n", rate);
  printf("view digest before: %s\n", before);
  printf("view digest after:  %s%s\n", after, label);
}

int cmd_replay(const struct config *cfg) {
  struct replay_report r;
  struct errbuf e = {{0}};
  char path[CMD_PATH_MAX], scratch[CMD_PATH_MAX], name[64];
  struct datadir dd;
  bool same;
  int rc;

  snprintf(name, sizeof name, "replay-check-%ld.db", (long)getpid());
  rc = datadir_open(cfg->data_dir, DATADIR_OPERATE, &dd, &e);
  if (rc == 0)
    rc = datadir_path(dd.path, DATADIR_DB_FILE, path, sizeof path, &e);
  if (rc == 0)
    rc = datadir_path(dd.path, name, scratch, sizeof scratch, &e);
  if (rc == 0)
    rc = cfg->check ? replay_scratch(path, scratch, &views_domain, &r, &e)
                    : replay_live(path, &views_domain, &r, &e);
  datadir_close(&dd);
  if (rc != 0) {
    fprintf(stderr, "artifactstored: replay: %s\n", err_msg(&e, rc));
    return 1;
  }
  same = memcmp(r.before, r.after, DIGEST_LEN) == 0;
  if (cfg->check) {
    replay_print(&r, " (scratch rebuild)");
    printf("check: %s\n", same ? "views match the log"
                               : "MISMATCH: the live views differ from what "
                                 "the log implies; run --replay to rebuild "
                                 "them");
    return same ? 0 : 1;
  }
  replay_print(&r, "");
  printf("views: %s\n", same ? "unchanged (they matched the log)"
                             : "rebuilt (they differed from the log; now "
                               "they match)");
  return 0;
}
