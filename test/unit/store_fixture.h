/*
 * store_fixture.h: helpers shared by the store tests: a scratch data
 * directory, running the loop until a counter is reached, and opening and
 * closing a writer.  Header-only (static functions) so each test program
 * stays one file.
 */
#ifndef AS_STORE_FIXTURE_H
#define AS_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "store/datadir.h"
#include "store/registry/registry.h"
#include "store/registry/views.h"
#include "test.h"

struct fixture {
  char dir[256];
  char db[320];
};

static void fixture_init(struct fixture *f, const char *name) {
  const char *base = getenv("TMPDIR");

  snprintf(f->dir, sizeof f->dir, "%s/as-%s-XXXXXX",
           base != NULL ? base : "/tmp", name);
  ASSERT(mkdtemp(f->dir) != NULL);
  snprintf(f->db, sizeof f->db, "%s/%s", f->dir, DATADIR_DB_FILE);
}

static void fixture_rm(struct fixture *f) {
  static const char *const names[] = {DATADIR_DB_FILE, DATADIR_DB_FILE "-wal",
                                      DATADIR_DB_FILE "-shm", "lock"};
  char p[400];

  for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
    snprintf(p, sizeof p, "%s/%s", f->dir, names[i]);
    unlink(p);
  }
  ASSERT(rmdir(f->dir) == 0);
}

/* Runs the loop until *counter reaches target (or the loop runs dry). */
static void fixture_run_until(uv_loop_t *loop, const int *counter,
                              int target) {
  while (*counter < target)
    ASSERT(uv_run(loop, UV_RUN_ONCE) != 0 || *counter >= target);
}

static void fixture_closed_cb(void *arg) {
  (*(int *)arg)++;
}

static void fixture_writer_close(uv_loop_t *loop, struct writer *w) {
  int closed = 0;

  writer_close(w, fixture_closed_cb, &closed);
  fixture_run_until(loop, &closed, 1);
}

static struct writer *fixture_writer_open(uv_loop_t *loop,
                                          const struct fixture *f) {
  struct errbuf e = {{0}};
  struct writer *w = NULL;
  int rc = writer_open(loop, f->db, &views_domain, &w, &e);

  if (rc != 0)
    fprintf(stderr, "writer_open: %s\n", err_msg(&e, rc));
  ASSERT_EQ(rc, 0);
  return w;
}

#endif
