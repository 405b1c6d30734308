/*
 * store_fixture.h: what every store test case sets up and tears down on
 * its own: a scratch data directory, a loop, and optionally a writer (with
 * whatever domain the case brings) and a read pool on the directory's
 * database.  fixture_done closes them in order, requires uv_loop_close to
 * succeed (a handle or request left behind fails the case) and removes the
 * directory, which must then be empty of anything but the database's own
 * files.  Header-only (static inline) so each test program stays one file;
 * registry helpers are in registry/registry_fixture.h.
 */
#ifndef AS_STORE_FIXTURE_H
#define AS_STORE_FIXTURE_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "store/datadir.h"
#include "store/evlog/domain.h"
#include "store/evlog/reader.h"
#include "store/evlog/writer.h"
#include "test.h"

#define FIXTURE_PATH_MAX 400

struct fixture {
  char dir[256];
  char db[FIXTURE_PATH_MAX];
  uv_loop_t loop;
  struct writer *w; /* fixture_writer_open .. fixture_writer_close */
  struct reader *r; /* fixture_reader_open .. fixture_done */
};

/* The scratch directory alone (no loop): for a case that forks first. */
static inline void fixture_mkdir(struct fixture *f, const char *name) {
  const char *base = getenv("TMPDIR");

  memset(f, 0, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "%s/as-%s-XXXXXX",
           base != NULL ? base : "/tmp", name);
  ASSERT(mkdtemp(f->dir) != NULL);
  snprintf(f->db, sizeof f->db, "%s/%s", f->dir, DATADIR_DB_FILE);
}

/* "<dir>/<name>" into out (FIXTURE_PATH_MAX bytes). */
static inline void fixture_path(const struct fixture *f, const char *name,
                                char *out) {
  ASSERT(snprintf(out, FIXTURE_PATH_MAX, "%s/%s", f->dir, name) <
         FIXTURE_PATH_MAX);
}

static inline bool fixture_exists(const char *path) {
  return access(path, F_OK) == 0;
}

/* Removes the database's files and the directory: anything else left in
 * it (a scratch copy, say) makes rmdir fail, and the case with it. */
static inline void fixture_rmdir(struct fixture *f) {
  static const char *const names[] = {DATADIR_DB_FILE, DATADIR_DB_FILE "-wal",
                                      DATADIR_DB_FILE "-shm",
                                      DATADIR_MARKER_FILE};
  char p[FIXTURE_PATH_MAX];
  int rc;

  for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
    fixture_path(f, names[i], p);
    unlink(p);
  }
  rc = rmdir(f->dir);
  if (rc != 0)
    fprintf(stderr, "rmdir %s: %s\n", f->dir, strerror(errno));
  ASSERT_EQ(rc, 0);
}

static inline void fixture_init(struct fixture *f, const char *name) {
  fixture_mkdir(f, name);
  ASSERT_EQ(uv_loop_init(&f->loop), 0);
}

/* Runs the loop until *counter reaches target; the loop running dry
 * first (nothing left that could get there) fails the case. */
static inline void fixture_run_until(uv_loop_t *loop, const int *counter,
                                     int target) {
  while (*counter < target)
    ASSERT(uv_run(loop, UV_RUN_ONCE) != 0 || *counter >= target);
}

static inline void fixture_closed_cb(void *arg) {
  (*(int *)arg)++;
}

static inline void fixture_writer_open(struct fixture *f,
                                       const struct evlog_domain *dom) {
  struct errbuf e = {{0}};
  int rc;

  ASSERT(f->w == NULL);
  rc = writer_open(&f->loop, f->db, dom, &f->w, &e);
  if (rc != 0)
    fprintf(stderr, "writer_open: %s\n", err_msg(&e, rc));
  ASSERT_EQ(rc, 0);
}

/* Closes the writer and waits for its close callback (it is freed). */
static inline void fixture_writer_close(struct fixture *f) {
  int closed = 0;

  ASSERT(f->w != NULL);
  writer_close(f->w, fixture_closed_cb, &closed);
  f->w = NULL;
  fixture_run_until(&f->loop, &closed, 1);
  ASSERT_EQ(closed, 1);
}

static inline void fixture_reader_open(struct fixture *f, unsigned nconn) {
  struct errbuf e = {{0}};
  int rc;

  ASSERT(f->r == NULL);
  rc = reader_open(&f->loop, f->db, nconn, &f->r, &e);
  if (rc != 0)
    fprintf(stderr, "reader_open: %s\n", err_msg(&e, rc));
  ASSERT_EQ(rc, 0);
}

/* Tears down everything the case opened through the fixture. */
static inline void fixture_done(struct fixture *f) {
  if (f->r != NULL) {
    reader_close(f->r);
    f->r = NULL;
  }
  if (f->w != NULL)
    fixture_writer_close(f);
  ASSERT_EQ(uv_loop_close(&f->loop), 0);
  fixture_rmdir(f);
}

#endif
