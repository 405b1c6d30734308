/*
 * sqlite.h: the SQLite backend of the event log (private to src/store/evlog:
 * evlog.c opens connections through it; nothing else names it).
 */
#ifndef AS_EVLOG_SQLITE_H
#define AS_EVLOG_SQLITE_H

#include "store/evlog/evlog.h"

/* Opens the SQLite database file at path (see evlog_open). */
int evlog_sqlite_open(const char *path, enum evlog_mode mode,
                      struct evlog_db **out, struct errbuf *e);

#endif
