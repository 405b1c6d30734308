/*
 * cmd.h: operator commands of the artifactstored binary.  Each returns the
 * process exit status (0 ok, 1 failure found or command failed) and prints
 * its report on stdout, errors on stderr.
 */
#ifndef AS_CMD_H
#define AS_CMD_H

#include "cmd/config.h"

#define CMD_PATH_MAX 4096 /* bytes of a path inside the data directory */

int cmd_replay(const struct config *cfg);      /* --replay [--check] */
int cmd_verify_log(const struct config *cfg);  /* --verify-log [--blobs] */
int cmd_gc(const struct config *cfg);          /* --gc [--dry-run] (gc.c) */
/* --blobs: re-hash every referenced blob, list orphans (verify_blobs.c);
 * the caller holds the data directory lock. */
int cmd_verify_blobs(const char *data_dir, const char *db_path);

#endif
