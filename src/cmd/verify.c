/*
 * verify.c: `artifactstored --verify-log --data DIR`: recomputes the
 * payload and chain digests of every event (src/store/evlog/verify.c) and
 * reports the first sequence that fails (exit 1) or the number verified;
 * with --blobs, then re-hashes the blobs too (verify_blobs.c).
 * Holds the data directory lock, so no daemon runs meanwhile.
 */
#include "cmd/cmd.h"

#include <stdio.h>
#include <unistd.h>

#include "store/codec/caddr.h"
#include "store/datadir.h"
#include "store/evlog/verify.h"

int cmd_verify_log(const struct config *cfg) {
  struct verify_report r;
  struct errbuf e = {{0}};
  char path[CMD_PATH_MAX], head[CADDR_BUFSIZE];
  uint64_t t0 = uv_hrtime();
  struct datadir dd;
  int rc, status = 0;

  rc = datadir_open(cfg->data_dir, DATADIR_OPERATE, &dd, &e);
  if (rc == 0)
    rc = datadir_path(dd.path, DATADIR_DB_FILE, path, sizeof path, &e);
  if (rc == 0)
    rc = verify_log(path, &r, &e);
  if (rc != 0) {
    datadir_close(&dd);
    fprintf(stderr, "artifactstored: verify-log: %s\n", err_msg(&e, rc));
    return 1;
  }
  if (r.bad_sequence != 0) {
    printf("verify-log: FAILED at sequence %lld: %s\n",
           (long long)r.bad_sequence, r.why);
    printf("events verified before it: %lld\n", (long long)r.verified);
    status = 1;
  } else {
    caddr_format_raw(CADDR_BLAKE3, r.head, head);
    printf("verify-log: ok, %lld events verified in %.3f s\n",
           (long long)r.verified, (double)(uv_hrtime() - t0) / 1e9);
    printf("chain head: %s\n", head);
  }
  if (cfg->blobs && cmd_verify_blobs(dd.path, path) != 0)
    status = 1; /* still under the lock */
  datadir_close(&dd);
  return status;
}
