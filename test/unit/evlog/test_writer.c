/*
 * test_writer.c: the writer thread (writer.h) driven by a fake domain and
 * fake jobs of this file's own, no registry: events emitted through
 * wtx_emit reach the domain's apply and the log, gapless and chained; a
 * job that fails rolls back alone; a batch the database rolls back fails
 * every job and the log's end is re-read; done callbacks run on the loop
 * thread after the commit and after the commit callback; writer_hold
 * gathers jobs into one batch; nothing is accepted once closing; group
 * commit under many submitters; reopening continues the chain, and
 * refuses views behind the log or a database newer than the binary.
 * (The registry's jobs: test/unit/registry/test_registry.c.)
 */
#include <inttypes.h>
#include <sqlite3.h>

#include "store/evlog/chain.h"
#include "store/evlog/evring.h"
#include "store/evlog/log.h"
#include "store/evlog/verify.h"
#include "store_fixture.h"

#define FAKE_TYPE "fake.happened"
#define FAKE_REFUSED "fake.refused" /* the fake domain's apply refuses it */
#define FAKE_KIND "fake"
#define FAKE_MAX_CALLS 4096
#define FAKE_T0 INT64_C(1700000000000000)

/* ---- the fake domain ----------------------------------------------------- */

/* Every call of apply, in order.  apply runs on the writer thread; the
 * cases read this only after writer_close has joined the thread, or from
 * done callbacks: the writer hands a batch back under its mutex and
 * starts no other batch until the loop has run them. */
static struct {
  int n;
  int64_t seq[FAKE_MAX_CALLS];
} fake_calls;

static int fake_apply(struct evlog_db *db, const struct event_rec *ev,
                      struct errbuf *e) {
  (void)db;
  ASSERT(fake_calls.n < FAKE_MAX_CALLS);
  fake_calls.seq[fake_calls.n++] = ev->sequence;
  if (strcmp(ev->event_type, FAKE_REFUSED) == 0)
    return err_set(e, UV_EPROTO, "event %lld (%s): the fake domain refuses "
                   "it", (long long)ev->sequence, ev->event_type);
  return 0;
}

static const struct evlog_domain fake_domain = {
    .apply = fake_apply,
    .reset_sql = "",
    .tables = NULL,
    .ntables = 0,
};

/* ---- a case's state and the fake jobs ------------------------------------ */

struct wt {
  struct fixture f;
  uv_thread_t loop_thread;
  int done;                /* done callbacks run */
  int64_t committed;       /* last sequence the commit callback saw */
  int commit_calls;
  struct evring *ring;     /* fed from the commit callback when set */
  int64_t *acked;          /* when set: each done's last sequence */
  int nacked;
};

struct fake_job {
  struct writer_job wj;
  struct wt *t;
  /* what run does */
  int nevents;
  const char *type;        /* NULL: FAKE_TYPE */
  const char *actor;       /* NULL: "test" */
  int ret;                 /* returned after emitting */
  bool check_visible;      /* done reads its events on a new connection */
  bool resubmit;           /* done submits it again while left > 0 */
  int left;
  /* what happened */
  int runs;
  bool ran_on_loop;
  int emit_rc;
  char emit_msg[ERRBUF_MAX];
  int64_t first_seq, last_seq; /* emitted by the last run; 0: none */
  int done_calls;
  int status;
  char msg[ERRBUF_MAX];
};

static bool on_loop_thread(const struct wt *t) {
  uv_thread_t self = uv_thread_self();

  return uv_thread_equal(&self, &t->loop_thread) != 0;
}

static int fake_run(struct writer_job *wj, struct wtx *tx) {
  struct fake_job *j = container_of(wj, struct fake_job, wj);

  j->runs++;
  j->ran_on_loop = on_loop_thread(j->t);
  j->first_seq = j->last_seq = 0;
  for (int i = 0; i < j->nevents; i++) {
    /* {"i": i}: canonical CBOR */
    uint8_t payload[] = {0xa1, 0x61, 'i', (uint8_t)(i % 24)};
    struct event_rec ev = {.event_type = j->type ? j->type : FAKE_TYPE,
                           .subject_kind = FAKE_KIND,
                           .actor = j->actor ? j->actor : "test",
                           .created_at = FAKE_T0 + i,
                           .payload = payload,
                           .payload_len = sizeof payload};
    struct errbuf e = {{0}};
    int rc;

    wtx_new_id(tx, (uint64_t)(FAKE_T0 / 1000), &ev.subject_id);
    if ((rc = wtx_emit(tx, &ev, &e)) != 0) {
      j->emit_rc = rc;
      memcpy(j->emit_msg, e.msg, ERRBUF_MAX);
      return rc;
    }
    if (i == 0)
      j->first_seq = wtx_last_sequence(tx);
    j->last_seq = wtx_last_sequence(tx);
  }
  return j->ret;
}

static void fake_submit(struct wt *t, struct fake_job *j);

/* A fresh read-only connection sees the job's events and the stamp. */
static void expect_visible(const struct wt *t, const struct fake_job *j) {
  struct evlog_db *db;
  struct event_rec **v;
  struct errbuf e = {{0}};
  int64_t stamped = 0;
  size_t n;

  ASSERT_EQ(evlog_open(t->f.db, EVLOG_RO, &db, &e), 0);
  ASSERT_EQ(evlog_read_since(db, j->first_seq - 1, (unsigned)j->nevents, &v,
                             &n, &e),
            0);
  ASSERT_EQ(n, j->nevents);
  for (size_t i = 0; i < n; i++) {
    ASSERT_EQ(v[i]->sequence, j->first_seq + (int64_t)i);
    free(v[i]);
  }
  free(v);
  ASSERT_EQ(evlog_applied(db, &stamped, "test", &e), 0);
  ASSERT(stamped >= j->last_seq);
  evlog_close(db);
}

static void fake_done(struct writer_job *wj, int status) {
  struct fake_job *j = container_of(wj, struct fake_job, wj);
  struct wt *t = j->t;

  ASSERT(on_loop_thread(t));
  ASSERT_EQ(j->done_calls, 0);
  j->done_calls++;
  j->status = status;
  memcpy(j->msg, wj->msg.msg, ERRBUF_MAX);
  if (status == 0 && j->last_seq > 0) {
    /* after the commit, and after the commit callback saw the events */
    ASSERT(t->committed >= j->last_seq);
    if (j->check_visible)
      expect_visible(t, j);
  }
  if (t->acked != NULL)
    t->acked[t->nacked++] = j->last_seq;
  t->done++;
  if (j->resubmit && --j->left > 0)
    fake_submit(t, j); /* the writer is done with wj: it may go again */
}

static void fake_submit(struct wt *t, struct fake_job *j) {
  j->t = t;
  j->done_calls = 0;
  ASSERT_EQ(writer_submit(t->f.w, &j->wj, fake_run, fake_done), 0);
}

/* A job emitting nevents events, then returning ret. */
static void fake_job_init(struct fake_job *j, int nevents, int ret) {
  memset(j, 0, sizeof *j);
  j->nevents = nevents;
  j->ret = ret;
}

static void wt_commit_cb(const struct event_rec *evs, size_t n, void *arg) {
  struct wt *t = arg;

  ASSERT(on_loop_thread(t));
  ASSERT(n > 0);
  t->commit_calls++;
  for (size_t i = 0; i < n; i++) {
    ASSERT_EQ(evs[i].sequence, t->committed + 1);
    ASSERT_STREQ(evs[i].subject_kind, FAKE_KIND);
    t->committed++;
  }
  if (t->ring != NULL)
    ASSERT_EQ(evring_push(t->ring, evs, n), 0);
}

static void wt_open(struct wt *t) {
  fixture_writer_open(&t->f, &fake_domain);
  writer_set_commit_cb(t->f.w, wt_commit_cb, t);
}

static void wt_init(struct wt *t, const char *name) {
  memset(t, 0, sizeof *t);
  memset(&fake_calls, 0, sizeof fake_calls);
  fixture_init(&t->f, name);
  t->loop_thread = uv_thread_self();
  wt_open(t);
}

/* Submits one job and runs the loop until it is done. */
static void wt_run_one(struct wt *t, struct fake_job *j) {
  int target = t->done + 1;

  fake_submit(t, j);
  fixture_run_until(&t->f.loop, &t->done, target);
  ASSERT_EQ(j->done_calls, 1);
}

/* The log as committed: rows, the last sequence, the stamp. */
struct log_end {
  int64_t rows, last, stamped;
};

static struct log_end log_end(const struct fixture *f) {
  static const char sql[] =
      "SELECT count(*), coalesce(max(sequence), 0), "
      "(SELECT last_sequence FROM state) FROM events";
  struct log_end end;
  struct evlog_db *db;
  struct evlog_stmt *st;
  struct errbuf e = {{0}};

  ASSERT_EQ(evlog_open(f->db, EVLOG_RO, &db, &e), 0);
  ASSERT_EQ(evlog_stmt(db, sql, &st, &e), 0);
  ASSERT_EQ(evlog_step(st), EVLOG_ROW);
  end.rows = evlog_col_int(st, 0);
  end.last = evlog_col_int(st, 1);
  end.stamped = evlog_col_int(st, 2);
  evlog_reset(st);
  evlog_close(db);
  return end;
}

/* --verify-log's walk agrees: n events, chained, the stamp reached. */
static void expect_verified(const struct fixture *f, int64_t n) {
  struct verify_report r;
  struct errbuf e = {{0}};

  ASSERT_EQ(verify_log(f->db, &r, &e), 0);
  if (r.bad_sequence != 0)
    fprintf(stderr, "verify: %lld: %s\n", (long long)r.bad_sequence, r.why);
  ASSERT_EQ(r.bad_sequence, 0);
  ASSERT_EQ(r.verified, n);
}

/* ---- emitting ------------------------------------------------------------ */

/* One job, five events: each appended with the next sequence, chained,
 * applied in order, handed to the commit callback, stamped. */
static void test_emit_applies_events(void) {
  struct wt t;
  struct fake_job j;
  struct evlog_db *db;
  struct event_rec **v;
  struct errbuf e = {{0}};
  struct log_end end;
  size_t n;

  wt_init(&t, "writer");
  fake_job_init(&j, 5, 0);
  wt_run_one(&t, &j);
  ASSERT_EQ(j.status, 0);
  ASSERT_EQ(j.runs, 1);
  ASSERT(!j.ran_on_loop);
  ASSERT_EQ(j.first_seq, 1);
  ASSERT_EQ(j.last_seq, 5);
  ASSERT_EQ(t.commit_calls, 1);
  ASSERT_EQ(t.committed, 5);
  fixture_writer_close(&t.f);

  ASSERT_EQ(fake_calls.n, 5);
  for (int i = 0; i < 5; i++)
    ASSERT_EQ(fake_calls.seq[i], i + 1);
  end = log_end(&t.f);
  ASSERT_EQ(end.rows, 5);
  ASSERT_EQ(end.last, 5);
  ASSERT_EQ(end.stamped, 5);
  expect_verified(&t.f, 5);

  /* The rows hold what the job gave, with ids in creation order. */
  ASSERT_EQ(evlog_open(t.f.db, EVLOG_RO, &db, &e), 0);
  ASSERT_EQ(evlog_read_since(db, 0, 10, &v, &n, &e), 0);
  evlog_close(db);
  ASSERT_EQ(n, 5);
  for (size_t i = 0; i < n; i++) {
    ASSERT_STREQ(v[i]->event_type, FAKE_TYPE);
    ASSERT_STREQ(v[i]->subject_kind, FAKE_KIND);
    ASSERT_STREQ(v[i]->actor, "test");
    ASSERT_EQ(v[i]->created_at, FAKE_T0 + (int64_t)i);
    ASSERT_EQ(v[i]->payload_len, 4);
    ASSERT_EQ(v[i]->payload[3], i);
    if (i > 0)
      ASSERT(memcmp(v[i - 1]->subject_id.b, v[i]->subject_id.b,
                    UUID_LEN) < 0);
  }
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
  fixture_done(&t.f);
}

/* A text field longer than the chain layout allows is refused by
 * wtx_emit; the job rolls back and the next one takes sequence 1. */
static void test_emit_text_too_long(void) {
  struct wt t;
  struct fake_job bad, good;
  char *actor = malloc(EVLOG_TEXT_MAX + 2);

  ASSERT(actor != NULL);
  memset(actor, 'a', EVLOG_TEXT_MAX + 1);
  actor[EVLOG_TEXT_MAX + 1] = '\0';
  wt_init(&t, "writer");
  fake_job_init(&bad, 1, 0);
  bad.actor = actor;
  wt_run_one(&t, &bad);
  ASSERT_EQ(bad.emit_rc, UV_EINVAL);
  ASSERT_EQ(bad.status, UV_EINVAL);
  ASSERT(strstr(bad.emit_msg, "longer than 65535 bytes") != NULL);
  ASSERT_EQ(t.commit_calls, 0);

  fake_job_init(&good, 1, 0);
  wt_run_one(&t, &good);
  ASSERT_EQ(good.status, 0);
  ASSERT_EQ(good.last_seq, 1);
  fixture_writer_close(&t.f);
  ASSERT_EQ(fake_calls.n, 1); /* apply never saw the refused event */
  free(actor);
  fixture_done(&t.f);
}

/* wtx_new_id: strictly increasing, within a millisecond and when the
 * clock steps back; a later millisecond starts from its own time. */
struct id_job {
  struct writer_job wj;
  struct uuid id[5];
  int done;
};

static int id_run(struct writer_job *wj, struct wtx *tx) {
  struct id_job *j = container_of(wj, struct id_job, wj);

  wtx_new_id(tx, 5000, &j->id[0]);
  wtx_new_id(tx, 5000, &j->id[1]);
  wtx_new_id(tx, 4000, &j->id[2]); /* the clock stepped back */
  wtx_new_id(tx, 4000, &j->id[3]);
  wtx_new_id(tx, 6000, &j->id[4]);
  return 0;
}

static void id_done(struct writer_job *wj, int status) {
  struct id_job *j = container_of(wj, struct id_job, wj);

  ASSERT_EQ(status, 0);
  j->done++;
}

static void test_new_id_monotonic(void) {
  struct wt t;
  struct id_job j;

  wt_init(&t, "writer");
  memset(&j, 0, sizeof j);
  ASSERT_EQ(writer_submit(t.f.w, &j.wj, id_run, id_done), 0);
  fixture_run_until(&t.f.loop, &j.done, 1);
  for (int i = 0; i < 5; i++) {
    ASSERT_EQ(j.id[i].b[6] >> 4, 7); /* version */
    ASSERT_EQ(j.id[i].b[8] >> 6, 2); /* variant */
    if (i > 0)
      ASSERT(memcmp(j.id[i - 1].b, j.id[i].b, UUID_LEN) < 0);
  }
  /* 5000 ms = 0x1388 in the 48-bit time field; the stepped-back ids keep
   * it, the later one has its own. */
  ASSERT_EQ(j.id[0].b[4], 0x13);
  ASSERT_EQ(j.id[0].b[5], 0x88);
  ASSERT_EQ(j.id[3].b[5], 0x88);
  ASSERT_EQ(j.id[4].b[4], 0x17); /* 6000 = 0x1770 */
  ASSERT_EQ(j.id[4].b[5], 0x70);
  fixture_done(&t.f);
}

/* ---- failures ------------------------------------------------------------ */

/* writer_refuse fails what is queued already and everything after, with
 * the cause and the sentence given, and stores nothing. */
static void test_refuse_fails_queued_and_later(void) {
  struct wt t;
  struct fake_job a, b, c;
  struct writer_stats st;

  wt_init(&t, "writer");
  fake_job_init(&a, 1, 0);
  fake_job_init(&b, 1, 0);
  fake_job_init(&c, 1, 0);
  fake_submit(&t, &a);
  fixture_run_until(&t.f.loop, &t.done, 1);
  ASSERT_EQ(a.status, 0);
  writer_hold(t.f.w, true);
  fake_submit(&t, &b);
  writer_refuse(t.f.w, UV_ENODEV, "the data directory was replaced");
  writer_refuse(t.f.w, UV_EIO, "a later cause is not kept");
  writer_hold(t.f.w, false);
  fixture_run_until(&t.f.loop, &t.done, 2);
  ASSERT_EQ(b.status, UV_ENODEV);
  ASSERT_STREQ(b.msg, "the data directory was replaced");
  fake_submit(&t, &c);
  fixture_run_until(&t.f.loop, &t.done, 3);
  ASSERT_EQ(c.status, UV_ENODEV);
  ASSERT_EQ(t.committed, 1);
  writer_get_stats(t.f.w, &st);
  ASSERT_EQ(st.last_sequence, 1);
  fixture_writer_close(&t.f);
  fixture_done(&t.f);
}

/* In one batch: A keeps its event; B emits two and returns 7; C keeps
 * one; D's event is refused by the domain.  B and D roll back alone, done
 * gets their own codes, and C takes the sequence after A: no gap. */
static void test_run_failure_rolls_back_alone(void) {
  struct wt t;
  struct fake_job a, b, c, d;
  struct writer_stats st;
  struct log_end end;

  wt_init(&t, "writer");
  fake_job_init(&a, 1, 0);
  fake_job_init(&b, 2, 7);
  fake_job_init(&c, 1, 0);
  fake_job_init(&d, 1, 0);
  d.type = FAKE_REFUSED;
  writer_hold(t.f.w, true);
  fake_submit(&t, &a);
  fake_submit(&t, &b);
  fake_submit(&t, &c);
  fake_submit(&t, &d);
  writer_hold(t.f.w, false);
  fixture_run_until(&t.f.loop, &t.done, 4);

  ASSERT_EQ(a.status, 0);
  ASSERT_EQ(a.last_seq, 1);
  ASSERT_EQ(b.status, 7);
  ASSERT_EQ(b.first_seq, 2); /* what it saw before rolling back */
  ASSERT_EQ(b.last_seq, 3);
  ASSERT_STREQ(b.msg, ""); /* its own failure: the writer says nothing */
  ASSERT_EQ(c.status, 0);
  ASSERT_EQ(c.first_seq, 2);
  ASSERT_EQ(d.status, UV_EPROTO);
  ASSERT_EQ(d.emit_rc, UV_EPROTO);
  ASSERT(strstr(d.emit_msg, "event 3 (fake.refused)") != NULL);
  ASSERT_EQ(t.committed, 2);
  ASSERT_EQ(t.commit_calls, 1);
  writer_get_stats(t.f.w, &st);
  ASSERT_EQ(st.batches, 1);
  ASSERT_EQ(st.max_batch, 4);
  ASSERT_EQ(st.last_sequence, 2);
  fixture_writer_close(&t.f);

  /* apply saw every emitted event, the rolled back ones too */
  {
    static const int64_t want[] = {1, 2, 3, 2, 3};
    ASSERT_EQ(fake_calls.n, ARRAY_SIZE(want));
    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
      ASSERT_EQ(fake_calls.seq[i], want[i]);
  }
  end = log_end(&t.f);
  ASSERT_EQ(end.rows, 2);
  ASSERT_EQ(end.last, 2);
  ASSERT_EQ(end.stamped, 2);
  expect_verified(&t.f, 2);
  fixture_done(&t.f);
}

/* When the database rolls back the transaction in the middle of a batch
 * (IOERR, FULL, NOMEM; writer_test_rollback plays it), no job of that
 * batch may be stored or acknowledged, the jobs after that point do not
 * run (a SAVEPOINT then would open, and commit, a transaction of its
 * own), and the next job takes the next sequence: no gap, chain
 * intact. */
static void test_batch_rolled_back(void) {
  struct wt t;
  struct fake_job first, j[4], next;
  struct writer_stats st;
  struct log_end end;

  wt_init(&t, "writer");
  fake_job_init(&first, 1, 0);
  wt_run_one(&t, &first);
  ASSERT_EQ(first.last_seq, 1);

  writer_hold(t.f.w, true);
  for (int i = 0; i < 4; i++) {
    fake_job_init(&j[i], 1, 0);
    fake_submit(&t, &j[i]);
  }
  writer_test_rollback(t.f.w, 2); /* after the second job of the batch */
  writer_hold(t.f.w, false);
  fixture_run_until(&t.f.loop, &t.done, 5);
  for (int i = 0; i < 4; i++) {
    ASSERT(j[i].status < 0);
    ASSERT(strstr(j[i].msg, "could not commit") != NULL);
    ASSERT(strstr(j[i].msg, "rolled back") != NULL);
    ASSERT(strstr(j[i].msg, "nothing of it was stored") != NULL);
    ASSERT_EQ(j[i].runs, i < 2 ? 1 : 0);
  }
  ASSERT_EQ(t.committed, 1); /* the commit callback heard nothing */

  fake_job_init(&next, 1, 0);
  wt_run_one(&t, &next);
  ASSERT_EQ(next.status, 0);
  ASSERT_EQ(next.last_seq, 2);
  writer_get_stats(t.f.w, &st);
  ASSERT_EQ(st.last_sequence, 2);
  fixture_writer_close(&t.f);

  end = log_end(&t.f);
  ASSERT_EQ(end.rows, 2);
  ASSERT_EQ(end.last, 2);
  ASSERT_EQ(end.stamped, 2);
  expect_verified(&t.f, 2);
  /* Reopening checks the log's end against the state row. */
  wt_open(&t);
  fixture_done(&t.f);
}

/* Appends the next event from a connection of its own, as only the
 * writer should: the writer's memory of the log's end is now stale. */
static void append_behind_the_writers_back(const struct fixture *f) {
  static const uint8_t payload[] = {0xa0};
  struct evlog_db *db;
  struct errbuf e = {{0}};
  struct event_rec ev;
  uint8_t prev[DIGEST_LEN];
  int64_t seq;

  ASSERT_EQ(evlog_open(f->db, EVLOG_RW, &db, &e), 0);
  ASSERT_EQ(evlog_begin(db, true, &e), 0);
  ASSERT_EQ(evlog_tail(db, &seq, prev, &e), 0);
  memset(&ev, 0, sizeof ev);
  ev.sequence = seq + 1;
  ev.created_at = FAKE_T0;
  ev.event_type = FAKE_TYPE;
  ev.subject_kind = FAKE_KIND;
  ev.actor = "someone else";
  ev.payload = payload;
  ev.payload_len = sizeof payload;
  evlog_payload_digest(ev.payload, ev.payload_len, ev.payload_digest);
  ASSERT_EQ(evlog_chain_digest(seq > 0 ? prev : NULL, &ev, ev.chain_digest),
            0);
  ASSERT_EQ(evlog_append(db, &ev, &e), 0);
  ASSERT_EQ(evlog_stamp(db, ev.sequence, &e), 0);
  ASSERT_EQ(evlog_commit(db, &e), 0);
  evlog_close(db);
}

/* After a rolled-back batch the writer takes the log's end from the
 * database, not from memory: only a re-read can know of row 2. */
static void test_rollback_rereads_log_end(void) {
  struct wt t;
  struct fake_job a, b, c;

  wt_init(&t, "writer");
  fake_job_init(&a, 1, 0);
  wt_run_one(&t, &a);
  ASSERT_EQ(a.last_seq, 1);
  append_behind_the_writers_back(&t.f);
  t.committed = 2; /* the commit callback will not hear of it */

  fake_job_init(&b, 0, 0);
  writer_hold(t.f.w, true);
  fake_submit(&t, &b);
  writer_test_rollback(t.f.w, 1);
  writer_hold(t.f.w, false);
  fixture_run_until(&t.f.loop, &t.done, 2);
  ASSERT(b.status < 0);
  ASSERT(strstr(b.msg, "rolled back") != NULL);

  fake_job_init(&c, 1, 0);
  wt_run_one(&t, &c);
  if (c.status != 0)
    fprintf(stderr, "c: %s\n", c.emit_msg);
  ASSERT_EQ(c.status, 0);
  ASSERT_EQ(c.last_seq, 3);
  fixture_writer_close(&t.f);
  expect_verified(&t.f, 3); /* chained onto the other row */
  fixture_done(&t.f);
}

/* ---- hand-back ----------------------------------------------------------- */

/* Three jobs of one batch: each done runs on the loop thread, after the
 * one commit callback of the batch, and a new connection already sees
 * the job's events and the stamp: the commit came first. */
static void test_done_after_commit_on_loop_thread(void) {
  struct wt t;
  struct fake_job j[3];

  wt_init(&t, "writer");
  writer_hold(t.f.w, true);
  for (int i = 0; i < 3; i++) {
    fake_job_init(&j[i], 2, 0);
    j[i].check_visible = true;
    fake_submit(&t, &j[i]);
  }
  writer_hold(t.f.w, false);
  fixture_run_until(&t.f.loop, &t.done, 3);
  ASSERT_EQ(t.commit_calls, 1);
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(j[i].status, 0);
    ASSERT(!j[i].ran_on_loop);
    ASSERT_EQ(j[i].first_seq, 2 * i + 1);
  }
  fixture_done(&t.f);
}

/* While held the writer takes nothing; released, it takes everything
 * queued as one batch, in submission order. */
static void test_hold_gathers_one_batch(void) {
  struct wt t;
  struct fake_job j[5];
  struct writer_stats st;

  wt_init(&t, "writer");
  writer_hold(t.f.w, true);
  for (int i = 0; i < 5; i++) {
    fake_job_init(&j[i], 1, 0);
    fake_submit(&t, &j[i]);
  }
  uv_run(&t.f.loop, UV_RUN_NOWAIT);
  ASSERT_EQ(t.done, 0);
  writer_get_stats(t.f.w, &st);
  ASSERT_EQ(st.batches, 0);
  writer_hold(t.f.w, false);
  fixture_run_until(&t.f.loop, &t.done, 5);

  writer_get_stats(t.f.w, &st);
  ASSERT_EQ(st.batches, 1);
  ASSERT_EQ(st.requests, 5);
  ASSERT_EQ(st.max_batch, 5);
  ASSERT_EQ(st.multi_batches, 1);
  ASSERT_EQ(t.commit_calls, 1);
  for (int i = 0; i < 5; i++) {
    ASSERT_EQ(j[i].status, 0);
    ASSERT_EQ(j[i].last_seq, i + 1);
  }
  fixture_done(&t.f);
}

/* Closing drains what is queued; after writer_close, submit refuses
 * with UV_ECANCELED and that job's done never runs. */
static void test_submit_after_close(void) {
  struct wt t;
  struct fake_job queued, late;
  int closed = 0;

  wt_init(&t, "writer");
  fake_job_init(&queued, 1, 0);
  fake_job_init(&late, 1, 0);
  late.t = &t;
  fake_submit(&t, &queued);
  writer_close(t.f.w, fixture_closed_cb, &closed);
  ASSERT_EQ(writer_submit(t.f.w, &late.wj, fake_run, fake_done),
            UV_ECANCELED);
  fixture_run_until(&t.f.loop, &closed, 1);
  t.f.w = NULL; /* freed by now */
  ASSERT_EQ(queued.done_calls, 1);
  ASSERT_EQ(queued.status, 0);
  ASSERT_EQ(queued.last_seq, 1);
  ASSERT_EQ(late.runs, 0);
  ASSERT_EQ(late.done_calls, 0);
  ASSERT_EQ(log_end(&t.f).rows, 1);
  fixture_done(&t.f);
}

/* ---- group commit -------------------------------------------------------- */

#define SUBMITTERS 64
#define PER_SUBMITTER 20

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

  return (x > y) - (x < y);
}

/* 64 submitters each keep one job in flight, 20 times over (each done
 * submits its job again).  Sequences are exactly 1..total; the commit
 * callback sees them in order, before any done; submissions made while
 * results are delivered are gathered into one batch. */
static void test_concurrent_submitters(void) {
  struct wt t;
  struct fake_job subs[SUBMITTERS];
  struct writer_stats st;
  uint64_t t0, t1;
  int total = SUBMITTERS * PER_SUBMITTER;

  wt_init(&t, "writer");
  t.acked = calloc((size_t)total, sizeof *t.acked);
  ASSERT(t.acked != NULL);
  ASSERT_EQ(evring_new(256, 1 << 20, &t.ring), 0);

  t0 = uv_hrtime();
  for (int i = 0; i < SUBMITTERS; i++) {
    fake_job_init(&subs[i], 1, 0);
    subs[i].resubmit = true;
    subs[i].left = PER_SUBMITTER;
    fake_submit(&t, &subs[i]);
  }
  fixture_run_until(&t.f.loop, &t.done, total);
  t1 = uv_hrtime();

  /* Gapless and monotonic: acknowledged exactly 1..total, each once. */
  ASSERT_EQ(t.nacked, total);
  qsort(t.acked, (size_t)total, sizeof *t.acked, cmp_i64);
  for (int i = 0; i < total; i++)
    ASSERT_EQ(t.acked[i], i + 1);
  free(t.acked);

  writer_get_stats(t.f.w, &st);
  ASSERT_EQ(st.requests, (uint64_t)total);
  ASSERT_EQ(st.last_sequence, total);
  ASSERT(st.max_batch > 1);
  ASSERT(st.multi_batches > 0);
  /* Resubmissions made while results are delivered form one batch. */
  ASSERT(st.batches <= (uint64_t)total / 2);
  printf("group commit: %d requests from %d submitters in %.3f s "
         "(%.0f events/s), %" PRIu64 " batches, max batch %" PRIu64
         ", %" PRIu64 " batches > 1\n",
         total, SUBMITTERS, (double)(t1 - t0) / 1e9,
         total / ((double)(t1 - t0) / 1e9), st.batches, st.max_batch,
         st.multi_batches);

  ASSERT_EQ(t.committed, total);
  ASSERT_EQ(evring_last(t.ring), total);
  {
    const struct event_rec *tail[4];
    size_t n = 0;
    ASSERT_EQ(evring_since(t.ring, total - 3, 4, tail, &n), 0);
    ASSERT_EQ(n, 3);
    ASSERT_EQ(tail[2]->sequence, total);
    ASSERT_EQ(evring_since(t.ring, 1, 4, tail, &n), AS_AGAIN);
  }
  evring_free(t.ring);
  fixture_writer_close(&t.f);

  /* apply saw them once each, in sequence order */
  ASSERT_EQ(fake_calls.n, total);
  for (int i = 0; i < total; i++)
    ASSERT_EQ(fake_calls.seq[i], i + 1);
  expect_verified(&t.f, total);
  fixture_done(&t.f);
}

/* ---- reopening ----------------------------------------------------------- */

/* The chain links across a close and an open. */
static void test_reopen_continues_chain(void) {
  struct wt t;
  struct fake_job j;
  struct evlog_db *ldb;
  struct evlog_stmt *q;
  struct event_rec *ev[2], view;
  struct errbuf e = {{0}};
  uint8_t d[DIGEST_LEN];

  wt_init(&t, "writer");
  fake_job_init(&j, 1, 0);
  wt_run_one(&t, &j);
  ASSERT_EQ(j.last_seq, 1);
  fixture_writer_close(&t.f);

  wt_open(&t);
  fake_job_init(&j, 1, 0);
  wt_run_one(&t, &j);
  ASSERT_EQ(j.status, 0);
  ASSERT_EQ(j.last_seq, 2);
  fixture_writer_close(&t.f);

  ASSERT_EQ(evlog_open(t.f.db, EVLOG_RO, &ldb, &e), 0);
  ASSERT_EQ(evlog_stmt(ldb, evlog_scan_sql, &q, &e), 0);
  for (int i = 0; i < 2; i++) {
    ASSERT_EQ(evlog_step(q), EVLOG_ROW);
    ASSERT_EQ(evlog_row_view(q, &view), 0);
    ASSERT((ev[i] = event_rec_dup(&view)) != NULL);
  }
  ASSERT_EQ(evlog_step(q), 0);
  evlog_reset(q);
  evlog_close(ldb);
  ASSERT_EQ(evlog_chain_digest(NULL, ev[0], d), 0);
  ASSERT_MEMEQ(d, ev[0]->chain_digest, DIGEST_LEN);
  ASSERT_EQ(evlog_chain_digest(ev[0]->chain_digest, ev[1], d), 0);
  ASSERT_MEMEQ(d, ev[1]->chain_digest, DIGEST_LEN);
  free(ev[0]);
  free(ev[1]);
  fixture_done(&t.f);
}

static void exec_sql(const struct fixture *f, const char *sql) {
  sqlite3 *db;

  ASSERT_EQ(sqlite3_open(f->db, &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

/* Views behind the log are refused until replayed. */
static void test_views_behind_log_refused(void) {
  struct wt t;
  struct fake_job j;
  struct writer *w = NULL;
  struct errbuf e = {{0}};

  wt_init(&t, "writer");
  fake_job_init(&j, 2, 0);
  wt_run_one(&t, &j);
  fixture_writer_close(&t.f);
  exec_sql(&t.f, "UPDATE state SET last_sequence = 1");
  ASSERT_EQ(writer_open(&t.f.loop, t.f.db, &fake_domain, &w, &e), UV_EPROTO);
  ASSERT(w == NULL);
  ASSERT(strstr(e.msg, "views were built up to event 1") != NULL);
  ASSERT(strstr(e.msg, "the log ends at 2") != NULL);
  ASSERT(strstr(e.msg, "--replay") != NULL);
  fixture_done(&t.f);
}

static void test_newer_schema_refused(void) {
  struct wt t;
  struct writer *w = NULL;
  struct errbuf e = {{0}};

  wt_init(&t, "writer");
  fixture_writer_close(&t.f);
  exec_sql(&t.f, "PRAGMA user_version = 999");
  ASSERT_EQ(writer_open(&t.f.loop, t.f.db, &fake_domain, &w, &e), UV_EPROTO);
  ASSERT(w == NULL);
  ASSERT(strstr(e.msg, "schema version 999") != NULL);
  ASSERT(strstr(e.msg, "newer artifactstored") != NULL);
  fixture_done(&t.f);
}

TEST_MAIN(TEST_CASE(test_emit_applies_events),
          TEST_CASE(test_emit_text_too_long),
          TEST_CASE(test_new_id_monotonic),
          TEST_CASE(test_run_failure_rolls_back_alone),
          TEST_CASE(test_batch_rolled_back),
          TEST_CASE(test_rollback_rereads_log_end),
          TEST_CASE(test_done_after_commit_on_loop_thread),
          TEST_CASE(test_hold_gathers_one_batch),
          TEST_CASE(test_submit_after_close),
          TEST_CASE(test_concurrent_submitters),
          TEST_CASE(test_reopen_continues_chain),
          TEST_CASE(test_views_behind_log_refused),
          TEST_CASE(test_newer_schema_refused),
          TEST_CASE(test_refuse_fails_queued_and_later))
