/*
 * test_crash.c: kill -9 between submit and commit loses nothing that was
 * acknowledged.  A child process opens a writer and keeps 16 creates in
 * flight, writing each acknowledged package id to a pipe the moment its
 * callback runs (after the commit).  The parent kills it with SIGKILL
 * mid-stream, then reopens the database: every acknowledged id is there,
 * sequences are 1..N without a gap, and the chain verifies.
 *
 * Bounded: the parent stops reading after CRASH_KILL_AFTER
 * acknowledgements, and the child is killed with its parent whatever
 * happens (PR_SET_PDEATHSIG), so a failing assertion never leaves it
 * running.
 */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <sqlite3.h>

#include "store/evlog/chain.h"
#include "store/evlog/log.h"
#include "store/evlog/verify.h"

#include "registry/registry_fixture.h"

#define CRASH_IN_FLIGHT 16
#define CRASH_KILL_AFTER 300  /* acknowledgements before the kill */
#define CRASH_MAX_ACKS 100000

struct child {
  struct writer *w;
  int fd;
};

static void child_submit(struct child *c);

static void child_cb(const struct reg_result *res, void *arg) {
  struct child *c = arg;

  if (res->error != REG_OK)
    _exit(3);
  if (write(c->fd, res->package->id.b, UUID_LEN) != UUID_LEN)
    _exit(4);
  child_submit(c);
}

static void child_submit(struct child *c) {
  struct pkg_create_req req = {.name = "crash", .producer = "p",
                               .subject = "s",
                               .retention_class = "transient"};
  if (reg_package_create(c->w, &req, child_cb, c) != 0)
    _exit(5);
}

static void child_main(const struct fixture *f, int fd, pid_t parent) {
  uv_loop_t loop;
  struct child c = {.fd = fd};
  struct errbuf e = {{0}};

  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
    _exit(7); /* the parent is gone already */
  if (uv_loop_init(&loop) != 0 ||
      writer_open(&loop, f->db, &views_domain, &c.w, &e) != 0)
    _exit(2);
  for (int i = 0; i < CRASH_IN_FLIGHT; i++)
    child_submit(&c);
  uv_run(&loop, UV_RUN_DEFAULT); /* until killed */
  _exit(6);
}

static size_t read_acks(int fd, struct uuid *ids, size_t have, size_t want) {
  uint8_t buf[UUID_LEN];
  size_t got = 0;

  while (have < want) {
    ssize_t n = read(fd, buf + got, UUID_LEN - got);
    if (n <= 0)
      break; /* EOF: the child is gone */
    got += (size_t)n;
    if (got == UUID_LEN) {
      memcpy(ids[have++].b, buf, UUID_LEN);
      got = 0;
    }
  }
  return have;
}

static void test_kill9_loses_nothing(void) {
  struct fixture f;
  struct uuid *ids = calloc(CRASH_MAX_ACKS, sizeof *ids);
  pid_t pid, parent = getpid();
  int p[2], status;
  size_t n;

  ASSERT(ids != NULL);
  /* No loop before the fork: the child makes its own. */
  fixture_mkdir(&f, "crash");
  ASSERT_EQ(pipe(p), 0);
  pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    child_main(&f, p[1], parent);
  }
  close(p[1]);
  n = read_acks(p[0], ids, 0, CRASH_KILL_AFTER);
  ASSERT_EQ(n, CRASH_KILL_AFTER);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  n = read_acks(p[0], ids, n, CRASH_MAX_ACKS); /* written before death */
  close(p[0]);

  /* Reopen through the writer (runs recovery, checks log vs views)... */
  ASSERT_EQ(uv_loop_init(&f.loop), 0);
  fixture_writer_open(&f, &views_domain);
  fixture_writer_close(&f);
  /* ...then check every acknowledged id and the log itself. */
  {
    sqlite3 *db;
    sqlite3_stmt *q;
    uint8_t prev[DIGEST_LEN], d[DIGEST_LEN];
    int64_t expect = 1;
    ASSERT_EQ(sqlite3_open(f.db, &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT 1 FROM packages WHERE id = ?1",
                                 -1, &q, NULL),
              SQLITE_OK);
    for (size_t i = 0; i < n; i++) {
      sqlite3_bind_blob(q, 1, ids[i].b, UUID_LEN, SQLITE_STATIC);
      ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
      sqlite3_reset(q);
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    {
      struct evlog_db *ldb;
      struct evlog_stmt *st;
      struct event_rec ev;
      struct errbuf e = {{0}};
      ASSERT_EQ(evlog_open(f.db, EVLOG_RO, &ldb, &e), 0);
      ASSERT_EQ(evlog_stmt(ldb, evlog_scan_sql, &st, &e), 0);
      while (evlog_step(st) == EVLOG_ROW) {
        ASSERT_EQ(evlog_row_view(st, &ev), 0);
        ASSERT_EQ(ev.sequence, expect);
        ASSERT_EQ(evlog_chain_digest(expect > 1 ? prev : NULL, &ev, d), 0);
        ASSERT_MEMEQ(d, ev.chain_digest, DIGEST_LEN);
        memcpy(prev, d, DIGEST_LEN);
        expect++;
      }
      evlog_close(ldb);
    }
    ASSERT((size_t)(expect - 1) >= n);
    printf("crash: %zu acknowledged before kill -9, %lld committed, all "
           "present, gapless\n", n, (long long)(expect - 1));
    /* ...and --verify-log agrees, up to the stamped end. */
    {
      struct verify_report vr;
      struct errbuf e = {{0}};
      ASSERT_EQ(verify_log(f.db, &vr, &e), 0);
      ASSERT_EQ(vr.bad_sequence, 0);
      ASSERT_EQ(vr.verified, expect - 1);
      ASSERT_MEMEQ(vr.head, prev, DIGEST_LEN);
    }
  }
  free(ids);
  fixture_done(&f);
}

TEST_MAIN(TEST_CASE(test_kill9_loses_nothing))
