/*
 * ops_replay.c: `artifactstored --replay [--check] --data DIR`.
 *
 * --replay rebuilds every view from the event log in one transaction on
 * the live database and prints the view digest (replay.c) before and
 * after: equal digests prove the views were exactly what the log implies.
 * --replay --check copies the live database with SQLite's backup API into
 * a scratch file in the data directory, rebuilds there, compares the
 * digests and deletes the scratch file: the live database is only read.
 * Both hold the data directory lock, so no daemon runs meanwhile.
 */
#include "ops.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/caddr.h"
#include "store/datadir.h"
#include "store/db.h"
#include "store/replay.h"

struct replay_report {
  uint8_t before[DIGEST_LEN], after[DIGEST_LEN];
  uint64_t applied;
  double seconds;
};

static int replay_in_tx(sqlite3 *db, struct replay_report *r,
                        bool digest_before, struct errbuf *e) {
  uint64_t t0;
  int rc;

  if ((rc = db_exec(db, "BEGIN IMMEDIATE", e)) != 0)
    return rc;
  if (digest_before &&
      (rc = replay_view_digest(db, r->before, NULL, e)) != 0)
    goto fail;
  t0 = uv_hrtime();
  if ((rc = replay_rebuild(db, &r->applied, e)) != 0)
    goto fail;
  r->seconds = (double)(uv_hrtime() - t0) / 1e9;
  if ((rc = replay_view_digest(db, r->after, NULL, e)) != 0)
    goto fail;
  return db_exec(db, "COMMIT", e);
fail:
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

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

static int replay_live(const char *path, struct errbuf *e) {
  struct replay_report r;
  sqlite3 *db;
  int rc;

  if ((rc = db_open_rw(path, &db, e)) != 0)
    return rc;
  rc = replay_in_tx(db, &r, true, e);
  sqlite3_close(db);
  if (rc != 0)
    return rc;
  replay_print(&r, "");
  if ((memcmp(r.before, r.after, DIGEST_LEN) == 0))
    printf("views: unchanged (they matched the log)\n");
  else
    printf("views: rebuilt (they differed from the log; now they match)\n");
  return 0;
}

static void replay_unlink_scratch(const char *path) {
  static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
  char p[4200];

  for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
    snprintf(p, sizeof p, "%s%s", path, sfx[i]);
    unlink(p);
  }
}

static int replay_check(const char *dir, const char *path, bool *match,
                        struct errbuf *e) {
  struct replay_report r;
  char scratch[4096], name[64];
  sqlite3 *live = NULL, *db = NULL;
  sqlite3_backup *b;
  int rc;

  *match = false;
  snprintf(name, sizeof name, "replay-check-%ld.db", (long)getpid());
  if ((rc = datadir_path(dir, name, scratch, sizeof scratch, e)) != 0)
    return rc;
  if ((rc = db_open_ro(path, &live, e)) != 0)
    return rc;
  /* The live digest, read in one transaction. */
  rc = db_exec(live, "BEGIN", e);
  if (rc == 0)
    rc = replay_view_digest(live, r.before, NULL, e);
  sqlite3_exec(live, "COMMIT", NULL, NULL, NULL);
  if (rc != 0)
    goto out;

  replay_unlink_scratch(scratch);
  if (sqlite3_open_v2(scratch, &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
      SQLITE_OK) {
    rc = db_err(db, SQLITE_CANTOPEN, "creating the scratch database", e);
    goto out;
  }
  b = sqlite3_backup_init(db, "main", live, "main");
  if (b == NULL) {
    rc = db_err(db, sqlite3_errcode(db), "copying the database", e);
    goto out;
  }
  rc = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    rc = db_err(db, rc, "copying the database", e);
    goto out;
  }
  /* Scratch: durability does not matter, speed does. */
  rc = db_exec(db, "PRAGMA journal_mode = MEMORY", e);
  if (rc == 0)
    rc = db_exec(db, "PRAGMA synchronous = OFF", e);
  if (rc == 0)
    rc = db_exec(db, "PRAGMA foreign_keys = ON", e);
  if (rc == 0)
    rc = replay_in_tx(db, &r, false, e);
  if (rc != 0)
    goto out;
  *match = (memcmp(r.before, r.after, DIGEST_LEN) == 0);
  replay_print(&r, " (scratch rebuild)");
  printf("check: %s\n", *match ? "views match the log"
                               : "MISMATCH: the live views differ from what "
                                 "the log implies; run --replay to rebuild "
                                 "them");
out:
  sqlite3_close(db);
  sqlite3_close(live);
  replay_unlink_scratch(scratch);
  return rc;
}

int ops_replay(const struct config *cfg) {
  struct errbuf e = {{0}};
  char path[4096];
  bool match = true;
  int fd = -1, rc;

  rc = datadir_lock(cfg->data_dir, &fd, &e);
  if (rc == 0)
    rc = datadir_path(cfg->data_dir, DB_FILE, path, sizeof path, &e);
  if (rc == 0 && access(path, F_OK) != 0)
    rc = err_set(&e, UV_ENOENT, "no database at %s: nothing to replay "
                 "(is --data right?)", path);
  if (rc == 0)
    rc = cfg->check ? replay_check(cfg->data_dir, path, &match, &e)
                    : replay_live(path, &e);
  datadir_unlock(fd);
  if (rc != 0) {
    fprintf(stderr, "artifactstored: replay: %s\n", err_msg(&e, rc));
    return 1;
  }
  return match ? 0 : 1;
}
