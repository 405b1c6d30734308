/*
 * test_retention.c: the retention operations (retention.h) through the
 * writer: classes are defined, raised, never lowered, removed only when
 * unused; extension never shortens; holds block deletion; deletion aborts
 * open packages and refuses finalized ones before expiry.  Each refusal
 * writes nothing; each change writes one event the views apply.
 */
#include "store/registry/retention.h"

#include "registry/registry_fixture.h"

struct outcome {
  int done;
  enum reg_error error;
  int64_t sequence;
  bool created;
  struct uuid hold_id;
  int64_t expires_at;          /* REG_RETENTION_ACTIVE */
  bool has_package;
  struct package pkg;          /* strings not kept */
  char cls[REG_CLASS_NAME_MAX + 1];
  char msg[sizeof(struct errbuf)];
};

static void outcome_cb(const struct reg_result *res, void *arg) {
  struct outcome *o = arg;

  o->error = res->error;
  o->sequence = res->sequence;
  o->created = res->created;
  o->hold_id = res->hold_id;
  o->expires_at = res->expires_at;
  o->has_package = res->package != NULL;
  if (o->has_package) {
    o->pkg = *res->package;
    snprintf(o->cls, sizeof o->cls, "%s", res->package->retention_class);
  }
  snprintf(o->msg, sizeof o->msg, "%s", res->msg.msg);
  o->done++;
}

#define RUN(f, o, call)                                                      \
  do {                                                                       \
    memset(&(o), 0, sizeof(o));                                              \
    ASSERT_EQ((call), 0);                                                    \
    fixture_run_until(&(f).loop, &(o).done, 1);                              \
  } while (0)

/* A refusal: the error, a message, no event. */
static void refused(const struct outcome *o, enum reg_error err,
                    const char *says) {
  if (o->error != err || strstr(o->msg, says) == NULL)
    fprintf(stderr, "got %d \"%s\", want %d \"%s\"\n", o->error, o->msg,
            err, says);
  ASSERT_EQ(o->error, err);
  ASSERT(strstr(o->msg, says) != NULL);
  ASSERT_EQ(o->sequence, 0);
}

static void test_classes(void) {
  struct fixture f;
  struct outcome o;
  int64_t seq;

  fixture_init(&f, "retention");
  fixture_writer_open(&f, &views_domain);
  RUN(f, o, reg_class_define(f.w, "pr-builds", 86400, "op", outcome_cb, &o));
  ASSERT_EQ(o.error, REG_OK);
  ASSERT(o.created);
  ASSERT_EQ(o.sequence, 1);
  RUN(f, o, reg_class_define(f.w, "pr-builds", 86400, "op", outcome_cb, &o));
  ASSERT_EQ(o.error, REG_OK);
  ASSERT(!o.created);
  ASSERT_EQ(o.sequence, 0); /* unchanged: no event */
  RUN(f, o, reg_class_define(f.w, "pr-builds", 86399, "op", outcome_cb, &o));
  refused(&o, REG_SHORTENING, "never lowered");
  RUN(f, o, reg_class_define(f.w, "pr-builds", REG_NEVER, "op", outcome_cb,
                             &o));
  ASSERT_EQ(o.error, REG_OK);
  ASSERT_EQ(o.sequence, 2);
  RUN(f, o, reg_class_define(f.w, "pr-builds", REG_DURATION_MAX, "op",
                             outcome_cb, &o));
  refused(&o, REG_SHORTENING, "forever");
  RUN(f, o, reg_class_define(f.w, "Bad", 5, "op", outcome_cb, &o));
  refused(&o, REG_INVALID, "lowercase");
  RUN(f, o, reg_class_define(f.w, "ok", 0, "op", outcome_cb, &o));
  refused(&o, REG_INVALID, "duration_seconds");
  RUN(f, o, reg_class_define(f.w, "ok", REG_DURATION_MAX + 1, "op",
                             outcome_cb, &o));
  refused(&o, REG_INVALID, "duration_seconds");

  RUN(f, o, reg_class_remove(f.w, "transient", "op", outcome_cb, &o));
  refused(&o, REG_CLASS_IN_USE, "seeded");
  RUN(f, o, reg_class_remove(f.w, "nope", "op", outcome_cb, &o));
  refused(&o, REG_UNKNOWN_RETENTION, "nope");
  {
    struct pkg_create_req req = {.name = "n", .producer = "p",
                                 .subject = "s", .retention_class = "pr-builds"};
    seq = reg_create_ok(&f, &req).sequence;
  }
  RUN(f, o, reg_class_remove(f.w, "pr-builds", "op", outcome_cb, &o));
  refused(&o, REG_CLASS_IN_USE, "packages use");
  RUN(f, o, reg_class_define(f.w, "gone", 5, "op", outcome_cb, &o));
  RUN(f, o, reg_class_remove(f.w, "gone", "op", outcome_cb, &o));
  ASSERT_EQ(o.error, REG_OK);
  ASSERT_EQ(o.sequence, seq + 2);
  RUN(f, o, reg_class_remove(f.w, "gone", "op", outcome_cb, &o));
  refused(&o, REG_UNKNOWN_RETENTION, "gone");
  fixture_done(&f);
}

static void test_extend_holds_delete(void) {
  struct fixture f;
  struct outcome o;
  struct dataset ds;
  struct uuid hold, none;
  int64_t exp, fin;

  fixture_init(&f, "retention");
  fixture_writer_open(&f, &views_domain);
  dataset_build(&f, &ds); /* package 0 finalized, release-evidence */

  /* extension */
  RUN(f, o, reg_retention_extend(f.w, &ds.pkg[0], "transient", TS_NONE, "op",
                                 outcome_cb, &o));
  refused(&o, REG_SHORTENING, "less time");
  RUN(f, o, reg_retention_extend(f.w, &ds.pkg[0], "nope", TS_NONE, "op",
                                 outcome_cb, &o));
  refused(&o, REG_UNKNOWN_RETENTION, "nope");
  RUN(f, o, reg_retention_extend(f.w, &ds.pkg[0], "release-evidence",
                                 TS_NONE, "op", outcome_cb, &o));
  ASSERT_EQ(o.error, REG_OK);
  ASSERT_EQ(o.sequence, 0);
  ASSERT(o.has_package);
  exp = o.pkg.expires_at;
  fin = o.pkg.finalized_at;
  ASSERT_EQ(exp, fin + INT64_C(220924800) * 1000000);
  RUN(f, o, reg_retention_extend(f.w, &ds.pkg[0], NULL, exp - 1, "op",
                                 outcome_cb, &o));
  refused(&o, REG_SHORTENING, "never shortened");
  RUN(f, o, reg_retention_extend(f.w, &ds.pkg[0], NULL, exp + 5, "op",
                                 outcome_cb, &o));
  ASSERT_EQ(o.error, REG_OK);
  ASSERT_EQ(o.sequence, DATASET_EVENTS + 1);
  ASSERT_EQ(o.pkg.expires_at, exp + 5);
  RUN(f, o, reg_retention_extend(f.w, &ds.pkg[1], NULL, exp + 5, "op",
                                 outcome_cb, &o));
  refused(&o, REG_NOT_FINALIZED, "open package");
  RUN(f, o, reg_retention_extend(f.w, &ds.pkg[1], "permanent-record",
                                 TS_NONE, "op", outcome_cb, &o));
  ASSERT_EQ(o.error, REG_OK);
  ASSERT_STREQ(o.cls, "permanent-record");
  ASSERT_EQ(o.pkg.expires_at, TS_NONE);

  /* holds */
  RUN(f, o, reg_hold_place(f.w, &ds.pkg[0], "", "op", outcome_cb, &o));
  refused(&o, REG_INVALID, "reason");
  memset(&none, 0x77, sizeof none);
  RUN(f, o, reg_hold_place(f.w, &none, "r", "op", outcome_cb, &o));
  refused(&o, REG_NO_PACKAGE, "does not exist");
  RUN(f, o, reg_hold_place(f.w, &ds.pkg[1], "case 1", "op", outcome_cb, &o));
  ASSERT_EQ(o.error, REG_OK);
  hold = o.hold_id;
  RUN(f, o, reg_package_delete(f.w, &ds.pkg[1], "op", outcome_cb, &o));
  refused(&o, REG_PACKAGE_HELD, "1 active hold");
  RUN(f, o, reg_hold_release(f.w, &ds.pkg[0], &hold, "op", outcome_cb, &o));
  refused(&o, REG_NO_HOLD, "no active hold");
  RUN(f, o, reg_hold_release(f.w, &ds.pkg[1], &hold, "op", outcome_cb, &o));
  ASSERT_EQ(o.error, REG_OK);
  RUN(f, o, reg_hold_release(f.w, &ds.pkg[1], &hold, "op", outcome_cb, &o));
  refused(&o, REG_NO_HOLD, "no active hold");

  /* delete */
  RUN(f, o, reg_package_delete(f.w, &ds.pkg[0], "op", outcome_cb, &o));
  refused(&o, REG_RETENTION_ACTIVE, "cannot be deleted");
  ASSERT_EQ(o.expires_at, exp + 5);
  RUN(f, o, reg_package_delete(f.w, &ds.pkg[1], "op", outcome_cb, &o));
  ASSERT_EQ(o.error, REG_OK);
  ASSERT_EQ(o.pkg.status, PKG_ABORTED);
  RUN(f, o, reg_package_delete(f.w, &ds.pkg[1], "op", outcome_cb, &o));
  refused(&o, REG_PACKAGE_ABORTED, "was aborted");
  RUN(f, o, reg_hold_place(f.w, &ds.pkg[1], "late", "op", outcome_cb, &o));
  refused(&o, REG_PACKAGE_ABORTED, "was aborted");
  RUN(f, o, reg_retention_extend(f.w, &ds.pkg[1], "permanent-record",
                                 TS_NONE, "op", outcome_cb, &o));
  refused(&o, REG_PACKAGE_ABORTED, "was aborted");
  fixture_done(&f);
}

TEST_MAIN(TEST_CASE(test_classes), TEST_CASE(test_extend_holds_delete))
