/* daemon.h: `artifactstored --listen HOST:PORT --data DIR`. */
#ifndef AS_DAEMON_H
#define AS_DAEMON_H

#include "cmd/config.h"

/* Serves until SIGINT/SIGTERM; the process exit status (0 after a clean
 * stop, 1 when start-up failed). */
int daemon_run(const struct config *cfg);

#endif
