/*
 * test_evlog.c: the event-log engine's database interface (evlog.h) on
 * its SQLite backend: opening (a missing location, a missing file read
 * only, a fresh file migrated, a schema newer or older than the binary),
 * the statement cache (one statement per SQL address, handed back reset,
 * a bounded number of them), step results (EVLOG_ROW, 0, errors), the
 * messages evlog_fail and friends build, column types both ways,
 * transactions (evlog_in_tx after commit and rollback), the bulk
 * reference check of a rebuild, and scratch copies deleted on close.
 */
#include <sqlite3.h>

#include "store/evlog/evlog.h"
#include "store_fixture.h"

#define SCHEMA_VERSION 2 /* schema/0002_retention.sql is the last one */

static const char t_create_sql[] =
    "CREATE TABLE t (k INTEGER PRIMARY KEY, v)";
static const char t_insert_sql[] = "INSERT INTO t (k, v) VALUES (?1, ?2)";
static const char t_scan_sql[] = "SELECT k, v FROM t ORDER BY k";
static const char t_count_sql[] = "SELECT count(*) FROM t";
/* the same text as t_count_sql at another address */
static const char t_count_sql_again[] = "SELECT count(*) FROM t";
static const char echo_sql[] = "SELECT ?1";

static struct evlog_db *open_ok(const char *path, enum evlog_mode mode) {
  struct evlog_db *db = NULL;
  struct errbuf e = {{0}};
  int rc = evlog_open(path, mode, &db, &e);

  if (rc != 0)
    fprintf(stderr, "evlog_open: %s\n", err_msg(&e, rc));
  ASSERT_EQ(rc, 0);
  ASSERT(db != NULL);
  return db;
}

/* A fresh database with table t holding k = 1..n, v = "v<k>". */
static struct evlog_db *open_with_rows(const struct fixture *f, int n) {
  struct evlog_db *db = open_ok(f->db, EVLOG_RW);
  struct errbuf e = {{0}};
  struct evlog_stmt *st;
  char v[16];

  ASSERT_EQ(evlog_exec(db, t_create_sql, &e), 0);
  for (int k = 1; k <= n; k++) {
    snprintf(v, sizeof v, "v%d", k);
    ASSERT_EQ(evlog_stmt(db, t_insert_sql, &st, &e), 0);
    ASSERT_EQ(evlog_bind_int(st, 1, k), 0);
    ASSERT_EQ(evlog_bind_str(st, 2, v), 0);
    ASSERT_EQ(evlog_run(st, "inserting", &e), 0);
    ASSERT_EQ(evlog_changes(db), 1);
  }
  return db;
}

static int64_t count_rows(struct evlog_db *db, const char *sql) {
  struct evlog_stmt *st;
  struct errbuf e = {{0}};
  int64_t n;

  ASSERT_EQ(evlog_stmt(db, sql, &st, &e), 0);
  ASSERT_EQ(evlog_step(st), EVLOG_ROW);
  n = evlog_col_int(st, 0);
  ASSERT_EQ(evlog_step(st), 0);
  evlog_reset(st);
  return n;
}

/* PRAGMA user_version of the file, read with sqlite3 itself. */
static int user_version(const char *path) {
  sqlite3 *db;
  sqlite3_stmt *q;
  int v;

  ASSERT_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  v = sqlite3_column_int(q, 0);
  sqlite3_finalize(q);
  sqlite3_close(db);
  return v;
}

/* ---- opening ------------------------------------------------------------- */

static void test_open_no_location(void) {
  struct evlog_db *db = (struct evlog_db *)&db;
  struct errbuf e = {{0}};

  ASSERT_EQ(evlog_open("", EVLOG_RW, &db, &e), UV_EINVAL);
  ASSERT(db == NULL);
  ASSERT(strstr(e.msg, "no database location") != NULL);
  ASSERT_EQ(evlog_open(NULL, EVLOG_RO, &db, &e), UV_EINVAL);
  evlog_close(NULL); /* a no-op, like free(NULL) */
}

/* Read-only never creates: the open fails, naming the file. */
static void test_open_ro_missing_file(void) {
  struct fixture f;
  struct evlog_db *db = NULL;
  struct errbuf e = {{0}};
  int rc;

  fixture_init(&f, "evlog");
  rc = evlog_open(f.db, EVLOG_RO, &db, &e);
  ASSERT_EQ(rc, UV_ENOENT);
  ASSERT(db == NULL);
  ASSERT(strstr(e.msg, "cannot open database") != NULL);
  ASSERT(strstr(e.msg, f.db) != NULL);
  ASSERT(!fixture_exists(f.db));
  fixture_done(&f);
}

/* Read-write creates the file and applies every migration; read-only
 * then opens it. */
static void test_open_rw_creates_and_migrates(void) {
  struct fixture f;
  struct evlog_db *db;

  fixture_init(&f, "evlog");
  db = open_ok(f.db, EVLOG_RW);
  ASSERT(fixture_exists(f.db));
  ASSERT_EQ(count_rows(db, "SELECT count(*) FROM events"), 0);
  ASSERT_EQ(count_rows(db, "SELECT last_sequence FROM state"), 0);
  evlog_close(db);
  ASSERT_EQ(user_version(f.db), SCHEMA_VERSION);
  db = open_ok(f.db, EVLOG_RO);
  ASSERT_EQ(count_rows(db, "SELECT count(*) FROM retention_classes"), 5);
  evlog_close(db);
  /* opening again migrates nothing and loses nothing */
  db = open_ok(f.db, EVLOG_RW);
  ASSERT_EQ(count_rows(db, "SELECT count(*) FROM retention_classes"), 5);
  evlog_close(db);
  fixture_done(&f);
}

/* A database written by a newer binary is refused in every mode, with
 * what to do about it. */
static void test_newer_schema_refused(void) {
  static const enum evlog_mode modes[] = {EVLOG_RW, EVLOG_RO,
                                          EVLOG_REBUILD};
  struct fixture f;
  struct evlog_db *db;
  struct errbuf e = {{0}};

  fixture_init(&f, "evlog");
  db = open_ok(f.db, EVLOG_RW);
  ASSERT_EQ(evlog_exec(db, "PRAGMA user_version = 999", &e), 0);
  evlog_close(db);
  for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
    memset(&e, 0, sizeof e);
    db = (struct evlog_db *)&db;
    ASSERT_EQ(evlog_open(f.db, modes[i], &db, &e), UV_EPROTO);
    ASSERT(db == NULL);
    ASSERT(strstr(e.msg, "schema version 999") != NULL);
    ASSERT(strstr(e.msg, "newer artifactstored") != NULL);
  }
  ASSERT_EQ(user_version(f.db), 999); /* left as it was */
  fixture_done(&f);
}

/* An older database is not migrated by a read-only open: refused, saying
 * how to migrate it; a read-write open does. */
static void test_older_schema_read_only_refused(void) {
  struct fixture f;
  struct evlog_db *db = NULL;
  struct errbuf e = {{0}};
  sqlite3 *h;

  fixture_init(&f, "evlog");
  ASSERT_EQ(sqlite3_open(f.db, &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h, "CREATE TABLE other (x)", NULL, NULL, NULL),
            SQLITE_OK);
  sqlite3_close(h);
  ASSERT_EQ(evlog_open(f.db, EVLOG_RO, &db, &e), UV_EPROTO);
  ASSERT(db == NULL);
  ASSERT(strstr(e.msg, "schema version 0, older than 2") != NULL);
  ASSERT(strstr(e.msg, "open it read-write once") != NULL);
  db = open_ok(f.db, EVLOG_RW);
  evlog_close(db);
  ASSERT_EQ(user_version(f.db), SCHEMA_VERSION);
  db = open_ok(f.db, EVLOG_RO);
  evlog_close(db);
  fixture_done(&f);
}

/* ---- the statement cache ------------------------------------------------- */

/* One statement per SQL address: the same address gives the same
 * statement, the same text elsewhere another one. */
static void test_stmt_cache_by_address(void) {
  struct fixture f;
  struct evlog_db *db;
  struct evlog_stmt *a, *b, *c, *own;
  struct errbuf e = {{0}};

  fixture_init(&f, "evlog");
  db = open_with_rows(&f, 2);
  ASSERT_EQ(evlog_stmt(db, t_count_sql, &a, &e), 0);
  ASSERT_EQ(evlog_stmt(db, t_count_sql, &b, &e), 0);
  ASSERT(a == b);
  ASSERT_EQ(evlog_stmt(db, t_count_sql_again, &c, &e), 0);
  ASSERT(c != a);
  /* a statement of one's own is never the cached one */
  ASSERT_EQ(evlog_prepare(db, t_count_sql, &own, &e), 0);
  ASSERT(own != a);
  ASSERT_EQ(evlog_step(own), EVLOG_ROW);
  ASSERT_EQ(evlog_col_int(own, 0), 2);
  evlog_finalize(own);
  evlog_finalize(NULL);
  ASSERT_EQ(count_rows(db, t_count_sql), 2);
  ASSERT_EQ(count_rows(db, t_count_sql_again), 2);
  evlog_close(db); /* finalizes the cached statements (LSan watches) */
  fixture_done(&f);
}

/* Fetching a statement left mid-way hands it back from its start; one
 * reset with evlog_reset comes back unbound. */
static void test_stmt_reset_on_fetch(void) {
  struct fixture f;
  struct evlog_db *db;
  struct evlog_stmt *st;
  struct errbuf e = {{0}};

  fixture_init(&f, "evlog");
  db = open_with_rows(&f, 3);
  ASSERT_EQ(evlog_stmt(db, t_scan_sql, &st, &e), 0);
  ASSERT_EQ(evlog_step(st), EVLOG_ROW);
  ASSERT_EQ(evlog_col_int(st, 0), 1);
  ASSERT_EQ(evlog_step(st), EVLOG_ROW);
  ASSERT_EQ(evlog_col_int(st, 0), 2);
  ASSERT_EQ(evlog_stmt(db, t_scan_sql, &st, &e), 0); /* not reset by us */
  ASSERT_EQ(evlog_step(st), EVLOG_ROW);
  ASSERT_EQ(evlog_col_int(st, 0), 1);
  evlog_reset(st);

  ASSERT_EQ(evlog_stmt(db, echo_sql, &st, &e), 0);
  ASSERT_EQ(evlog_bind_int(st, 1, 5), 0);
  ASSERT_EQ(evlog_step(st), EVLOG_ROW);
  ASSERT_EQ(evlog_col_int(st, 0), 5);
  evlog_reset(st);
  ASSERT_EQ(evlog_stmt(db, echo_sql, &st, &e), 0);
  ASSERT_EQ(evlog_step(st), EVLOG_ROW);
  ASSERT_EQ(evlog_col_type(st, 0), EVLOG_NULL);
  evlog_reset(st);
  evlog_close(db);
  fixture_done(&f);
}

/* The cache holds a bounded number of statements; past it evlog_stmt
 * says so, and the cached ones keep working. */
#define MANY_SQL 49 /* one more than the cache holds (evlog_impl.h) */
static char many_sql[MANY_SQL][32]; /* static storage, distinct addresses */

static void test_stmt_cache_full(void) {
  struct fixture f;
  struct evlog_db *db;
  struct evlog_stmt *st, *first;
  struct errbuf e = {{0}};
  int n = 0;

  fixture_init(&f, "evlog");
  db = open_ok(f.db, EVLOG_RW);
  for (int i = 0; i < MANY_SQL; i++)
    snprintf(many_sql[i], sizeof many_sql[i], "SELECT %d", i);
  ASSERT_EQ(evlog_stmt(db, many_sql[0], &first, &e), 0);
  while (n < MANY_SQL && evlog_stmt(db, many_sql[n], &st, &e) == 0)
    n++;
  ASSERT_EQ(n, MANY_SQL - 1); /* opening cached none */
  ASSERT_EQ(evlog_stmt(db, many_sql[n], &st, &e), UV_ENOMEM);
  ASSERT(st == NULL);
  ASSERT(strstr(e.msg, "more than 48 distinct statements") != NULL);
  ASSERT(strstr(e.msg, "EVLOG_STMT_SLOTS") != NULL);
  ASSERT_EQ(evlog_stmt(db, many_sql[0], &st, &e), 0);
  ASSERT(st == first);
  ASSERT_EQ(evlog_step(st), EVLOG_ROW);
  ASSERT_EQ(evlog_col_int(st, 0), 0);
  evlog_reset(st);
  /* a statement of one's own still works */
  ASSERT_EQ(evlog_prepare(db, many_sql[n], &st, &e), 0);
  ASSERT_EQ(evlog_step(st), EVLOG_ROW);
  ASSERT_EQ(evlog_col_int(st, 0), n);
  evlog_finalize(st);
  evlog_close(db);
  fixture_done(&f);
}

/* ---- steps, errors and their messages ------------------------------------ */

static void test_step_results(void) {
  struct fixture f;
  struct evlog_db *db;
  struct evlog_stmt *st;
  struct errbuf e = {{0}};
  int rc;

  fixture_init(&f, "evlog");
  db = open_with_rows(&f, 2);
  ASSERT_EQ(evlog_stmt(db, t_scan_sql, &st, &e), 0);
  ASSERT_EQ(evlog_step(st), EVLOG_ROW);
  ASSERT_EQ(evlog_step(st), EVLOG_ROW);
  ASSERT_EQ(evlog_step(st), 0); /* done */
  evlog_reset(st);

  /* A constraint failure: a negative code, SQLite's words in errmsg,
   * and evlog_fail naming what failed. */
  ASSERT_EQ(evlog_stmt(db, t_insert_sql, &st, &e), 0);
  ASSERT_EQ(evlog_bind_int(st, 1, 1), 0);
  ASSERT_EQ(evlog_bind_null(st, 2), 0);
  rc = evlog_step(st);
  ASSERT_EQ(rc, UV_EEXIST);
  ASSERT(strstr(evlog_errmsg(db), "UNIQUE constraint failed: t.k") != NULL);
  ASSERT_EQ(evlog_fail(db, rc, "inserting a row", &e), UV_EEXIST);
  ASSERT_STREQ(e.msg, "database: inserting a row failed: UNIQUE constraint "
                      "failed: t.k");
  evlog_reset(st);

  /* evlog_run: the same, reset afterwards, and then usable again */
  memset(&e, 0, sizeof e);
  ASSERT_EQ(evlog_stmt(db, t_insert_sql, &st, &e), 0);
  ASSERT_EQ(evlog_bind_int(st, 1, 2), 0);
  ASSERT_EQ(evlog_run(st, "adding row 2 again", &e), UV_EEXIST);
  ASSERT(strstr(e.msg, "database: adding row 2 again failed: UNIQUE") !=
         NULL);
  ASSERT_EQ(evlog_stmt(db, t_insert_sql, &st, &e), 0);
  ASSERT_EQ(evlog_bind_int(st, 1, 3), 0);
  ASSERT_EQ(evlog_run(st, "adding row 3", &e), 0);
  ASSERT_EQ(evlog_changes(db), 1);
  /* run on a statement with rows: its first row is enough */
  ASSERT_EQ(evlog_stmt(db, t_scan_sql, &st, &e), 0);
  ASSERT_EQ(evlog_run(st, "scanning", &e), 0);
  ASSERT_EQ(count_rows(db, t_count_sql), 3);

  /* success leaves e alone; without a connection the code speaks */
  snprintf(e.msg, sizeof e.msg, "untouched");
  ASSERT_EQ(evlog_fail(db, 0, "nothing", &e), 0);
  ASSERT_STREQ(e.msg, "untouched");
  ASSERT_EQ(evlog_fail(NULL, UV_EIO, "reading", &e), UV_EIO);
  ASSERT_STREQ(e.msg, "database: reading failed: i/o error");
  ASSERT_EQ(evlog_fail(db, UV_EIO, "reading", NULL), UV_EIO);
  evlog_close(db);
  fixture_done(&f);
}

/* Bad SQL: an error with SQLite's reason, and no statement. */
static void test_prepare_errors(void) {
  static const char bad_sql[] = "SELEKT 1";
  struct fixture f;
  struct evlog_db *db;
  struct evlog_stmt *st = (struct evlog_stmt *)&st;
  struct errbuf e = {{0}};

  fixture_init(&f, "evlog");
  db = open_ok(f.db, EVLOG_RW);
  ASSERT(evlog_prepare(db, bad_sql, &st, &e) < 0);
  ASSERT(st == NULL);
  ASSERT(strstr(e.msg, "database: preparing a statement failed") != NULL);
  ASSERT(strstr(e.msg, "syntax error") != NULL);
  /* not cached: the same failure again */
  memset(&e, 0, sizeof e);
  ASSERT(evlog_stmt(db, bad_sql, &st, &e) < 0);
  ASSERT(st == NULL);
  ASSERT(evlog_stmt(db, bad_sql, &st, &e) < 0);
  ASSERT(strstr(e.msg, "syntax error") != NULL);
  /* exec names the SQL it ran */
  memset(&e, 0, sizeof e);
  ASSERT(evlog_exec(db, "DROP TABLE nowhere", &e) < 0);
  ASSERT(strstr(e.msg, "database: DROP TABLE nowhere failed") != NULL);
  ASSERT(strstr(e.msg, "no such table: nowhere") != NULL);
  evlog_close(db);
  fixture_done(&f);
}

/* Values go in with each binder and come back with their type. */
static void test_column_types(void) {
  static const char sql[] = "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, 2.5";
  static const uint8_t blob[] = {0x00, 0xff, 0x00};
  struct fixture f;
  struct evlog_db *db;
  struct evlog_stmt *st;
  struct errbuf e = {{0}};
  const char *s;
  const uint8_t *p;
  size_t n;

  fixture_init(&f, "evlog");
  db = open_ok(f.db, EVLOG_RW);
  ASSERT_EQ(evlog_stmt(db, sql, &st, &e), 0);
  ASSERT_EQ(evlog_bind_int(st, 1, INT64_MIN), 0);
  ASSERT_EQ(evlog_bind_text(st, 2, "abc\0def", 7), 0); /* the NUL kept */
  ASSERT_EQ(evlog_bind_str(st, 3, "xyz"), 0);
  ASSERT_EQ(evlog_bind_str(st, 4, NULL), 0);           /* SQL NULL */
  ASSERT_EQ(evlog_bind_blob(st, 5, blob, sizeof blob), 0);
  ASSERT_EQ(evlog_bind_blob(st, 6, NULL, 0), 0);       /* empty, not NULL */
  ASSERT_EQ(evlog_bind_null(st, 7), 0);
  ASSERT_EQ(evlog_step(st), EVLOG_ROW);
  ASSERT_EQ(evlog_col_count(st), 8);
  ASSERT_EQ(evlog_col_type(st, 0), EVLOG_INTEGER);
  ASSERT(evlog_col_int(st, 0) == INT64_MIN);
  ASSERT_EQ(evlog_col_type(st, 1), EVLOG_TEXT);
  s = evlog_col_text(st, 1, &n);
  ASSERT_EQ(n, 7);
  ASSERT_MEMEQ(s, "abc\0def", 7);
  ASSERT_EQ(evlog_col_type(st, 2), EVLOG_TEXT);
  ASSERT_STREQ(evlog_col_text(st, 2, NULL), "xyz");
  ASSERT_EQ(evlog_col_type(st, 3), EVLOG_NULL);
  ASSERT(evlog_col_text(st, 3, &n) == NULL);
  ASSERT_EQ(n, 0);
  ASSERT_EQ(evlog_col_type(st, 4), EVLOG_BLOB);
  p = evlog_col_blob(st, 4, &n);
  ASSERT_EQ(n, sizeof blob);
  ASSERT_MEMEQ(p, blob, sizeof blob);
  ASSERT_EQ(evlog_col_type(st, 5), EVLOG_BLOB);
  evlog_col_blob(st, 5, &n);
  ASSERT_EQ(n, 0);
  ASSERT_EQ(evlog_col_type(st, 6), EVLOG_NULL);
  ASSERT_EQ(evlog_col_type(st, 7), EVLOG_REAL);
  {
    struct evlog_value v[8];
    ASSERT_EQ(evlog_row(st, v, 8), 0);
    ASSERT_EQ(v[7].type, EVLOG_REAL);
    ASSERT(v[7].d == 2.5);
  }
  ASSERT_EQ(evlog_step(st), 0);
  evlog_reset(st);
  evlog_close(db);
  fixture_done(&f);
}

/* ---- transactions -------------------------------------------------------- */

static void test_in_tx_after_rollback(void) {
  struct fixture f;
  struct evlog_db *db;
  struct evlog_stmt *st;
  struct errbuf e = {{0}};

  fixture_init(&f, "evlog");
  db = open_with_rows(&f, 1);
  ASSERT(!evlog_in_tx(db));
  evlog_rollback(db); /* none open: a no-op */
  ASSERT(!evlog_in_tx(db));

  ASSERT_EQ(evlog_begin(db, true, &e), 0);
  ASSERT(evlog_in_tx(db));
  /* no nesting */
  ASSERT(evlog_begin(db, true, &e) < 0);
  ASSERT(strstr(e.msg, "within a transaction") != NULL);
  ASSERT(evlog_in_tx(db));
  ASSERT_EQ(evlog_stmt(db, t_insert_sql, &st, &e), 0);
  ASSERT_EQ(evlog_bind_int(st, 1, 2), 0);
  ASSERT_EQ(evlog_run(st, "inserting", &e), 0);
  ASSERT_EQ(count_rows(db, t_count_sql), 2);
  evlog_rollback(db);
  ASSERT(!evlog_in_tx(db));
  ASSERT_EQ(count_rows(db, t_count_sql), 1);

  ASSERT_EQ(evlog_begin(db, true, &e), 0);
  ASSERT_EQ(evlog_stmt(db, t_insert_sql, &st, &e), 0);
  ASSERT_EQ(evlog_bind_int(st, 1, 2), 0);
  ASSERT_EQ(evlog_run(st, "inserting", &e), 0);
  ASSERT_EQ(evlog_commit(db, &e), 0);
  ASSERT(!evlog_in_tx(db));
  ASSERT_EQ(count_rows(db, t_count_sql), 2);

  /* a read transaction counts too; commit with none open fails */
  ASSERT_EQ(evlog_begin(db, false, &e), 0);
  ASSERT(evlog_in_tx(db));
  evlog_rollback(db);
  ASSERT(!evlog_in_tx(db));
  ASSERT(evlog_commit(db, &e) < 0);
  ASSERT(strstr(e.msg, "no transaction is active") != NULL);
  evlog_close(db);
  fixture_done(&f);
}

/* A rebuild connection defers reference checks to evlog_check, which
 * names the table that breaks one; the writer's connection refuses the
 * row at once. */
static void test_check_references(void) {
  static const char orphan_sql[] =
      "INSERT INTO retention_state (package_id, class, expires_at) "
      "VALUES (zeroblob(16), 'transient', NULL)";
  struct fixture f;
  struct evlog_db *db;
  struct errbuf e = {{0}};

  fixture_init(&f, "evlog");
  db = open_ok(f.db, EVLOG_RW);
  ASSERT_EQ(evlog_check(db, &e), 0);
  ASSERT_EQ(evlog_exec(db, orphan_sql, &e), UV_EEXIST);
  ASSERT(strstr(e.msg, "FOREIGN KEY constraint failed") != NULL);
  evlog_close(db);

  db = open_ok(f.db, EVLOG_REBUILD);
  ASSERT_EQ(evlog_begin(db, true, &e), 0);
  ASSERT_EQ(evlog_exec(db, orphan_sql, &e), 0);
  memset(&e, 0, sizeof e);
  ASSERT_EQ(evlog_check(db, &e), UV_EPROTO);
  ASSERT(strstr(e.msg, "a retention_state row whose packages row does not "
                       "exist") != NULL);
  evlog_rollback(db);
  ASSERT_EQ(evlog_check(db, &e), 0);
  evlog_close(db);
  fixture_done(&f);
}

/* ---- scratch copies ------------------------------------------------------ */

/* A copy holds the same rows, changes apart from its source, and is
 * deleted when closed. */
static void test_copy_deleted_on_close(void) {
  struct fixture f;
  struct evlog_db *db, *copy = (struct evlog_db *)&copy;
  struct errbuf e = {{0}};
  struct evlog_stmt *st;
  char path[FIXTURE_PATH_MAX], bad[FIXTURE_PATH_MAX];

  fixture_init(&f, "evlog");
  fixture_path(&f, "scratch.db", path);
  db = open_with_rows(&f, 3);
  ASSERT_EQ(evlog_copy(db, path, &copy, &e), 0);
  ASSERT(copy != NULL && copy != db);
  ASSERT(fixture_exists(path));
  ASSERT_EQ(count_rows(copy, t_count_sql), 3);
  ASSERT_EQ(evlog_stmt(copy, t_insert_sql, &st, &e), 0);
  ASSERT_EQ(evlog_bind_int(st, 1, 4), 0);
  ASSERT_EQ(evlog_run(st, "inserting", &e), 0);
  ASSERT_EQ(count_rows(copy, t_count_sql), 4);
  ASSERT_EQ(count_rows(db, t_count_sql), 3);
  evlog_close(copy);
  ASSERT(!fixture_exists(path));

  /* A copy that cannot be made leaves nothing behind. */
  fixture_path(&f, "no-such-dir/scratch.db", bad);
  memset(&e, 0, sizeof e);
  ASSERT(evlog_copy(db, bad, &copy, &e) < 0);
  ASSERT(copy == NULL);
  ASSERT(strstr(e.msg, "cannot open database") != NULL);
  ASSERT_EQ(count_rows(db, t_count_sql), 3);
  evlog_close(db);
  fixture_done(&f); /* rmdir: nothing else is left */
}

/* The damaged-database code reaches uv_strerror and uv_err_name in
 * problem details and the request log: it must be one libuv knows, for
 * which they return a static string (for an unknown code they allocate
 * one per call and never free it). */
static void test_corrupt_code_known_to_libuv(void) {
  ASSERT(EVLOG_ECORRUPT < 0);
  ASSERT(strncmp(uv_err_name(EVLOG_ECORRUPT), "Unknown", 7) != 0);
  ASSERT(strncmp(uv_strerror(EVLOG_ECORRUPT), "Unknown", 7) != 0);
  ASSERT(uv_err_name(EVLOG_ECORRUPT) == uv_err_name(EVLOG_ECORRUPT));
}

TEST_MAIN(TEST_CASE(test_open_no_location),
          TEST_CASE(test_open_ro_missing_file),
          TEST_CASE(test_open_rw_creates_and_migrates),
          TEST_CASE(test_newer_schema_refused),
          TEST_CASE(test_older_schema_read_only_refused),
          TEST_CASE(test_stmt_cache_by_address),
          TEST_CASE(test_stmt_reset_on_fetch),
          TEST_CASE(test_stmt_cache_full), TEST_CASE(test_step_results),
          TEST_CASE(test_prepare_errors), TEST_CASE(test_column_types),
          TEST_CASE(test_in_tx_after_rollback),
          TEST_CASE(test_check_references),
          TEST_CASE(test_copy_deleted_on_close),
          TEST_CASE(test_corrupt_code_known_to_libuv))
