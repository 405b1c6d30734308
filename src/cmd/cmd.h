/*
 * ops.h: operator commands of the artifactstored binary.  Each returns the
 * process exit status (0 ok, 1 failure found or command failed) and prints
 * its report on stdout, errors on stderr.
 */
#ifndef AS_OPS_H
#define AS_OPS_H

#include "cmd/config.h"

int ops_replay(const struct config *cfg);      /* --replay [--check] */
int ops_verify_log(const struct config *cfg);  /* --verify-log */

#endif
