/*
 * verify.c: `--verify-log` as a library call.
 *
 * Walks `events` in sequence order and recomputes, for every row, the
 * payload digest and the chain digest (layout in chain.c); also checks
 * that sequences run 1, 2, 3, ... without a gap, that each payload is
 * canonical CBOR, and that the log reaches the sequence the views were
 * built to (state.last_sequence), which catches a deleted last row.
 *
 * The daemon checks only the last events at start (verify_log_from): the
 * walk then starts from the stored chain digest of the event before, taken
 * on trust, so an edit anywhere in the checked range is found.
 */
#include "store/evlog/verify.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/codec/ccbor.h"
#include "store/evlog/chain.h"
#include "store/evlog/log.h"

/* Checks one row (the scan's current one) against the chain so far.
 * true when it verifies; false with why. */
static bool verify_row(struct evlog_stmt *st, int64_t expect,
                       uint8_t prev[DIGEST_LEN], char *why, size_t whylen) {
  uint8_t d[DIGEST_LEN];
  struct event_rec ev;
  cbor_item_t *item = NULL;

  if (evlog_row_view(st, &ev) != 0) {
    snprintf(why, whylen, "the row is malformed (a column has the wrong "
             "type or length)");
    return false;
  }
  if (ev.sequence != expect) {
    snprintf(why, whylen, "missing: the log jumps from %lld to %lld (a "
             "row was deleted)",
             (long long)(expect - 1), (long long)ev.sequence);
    return false;
  }
  evlog_payload_digest(ev.payload, ev.payload_len, d);
  if (memcmp(d, ev.payload_digest, DIGEST_LEN) != 0) {
    snprintf(why, whylen, "payload digest does not match the payload "
             "(the payload or its digest was edited)");
    return false;
  }
  if (evlog_chain_digest(expect > 1 ? prev : NULL, &ev, d) != 0 ||
      memcmp(d, ev.chain_digest, DIGEST_LEN) != 0) {
    snprintf(why, whylen, "chain digest does not match (a field of "
             "this row, or the previous chain digest, was edited)");
    return false;
  }
  if (ccbor_decode(ev.payload, ev.payload_len, &item, NULL) != 0) {
    snprintf(why, whylen, "payload is not canonical CBOR");
    return false;
  }
  cbor_decref(&item);
  memcpy(prev, ev.chain_digest, DIGEST_LEN);
  return true;
}

/* Takes the row before from (the scan's first) as the chain's seed: its
 * chain digest is trusted, not checked.  0 when it is there; 1 with why
 * when it is missing or malformed; the error when it cannot be read (a
 * damaged file is not a deleted row). */
static int verify_seed(struct evlog_stmt *st, int64_t seq,
                       uint8_t prev[DIGEST_LEN], char *why, size_t whylen) {
  struct event_rec ev;
  int step = evlog_step(st);
  bool row = step == EVLOG_ROW;
  bool ok = row && evlog_row_view(st, &ev) == 0;

  if (step < 0)
    return step;
  if (ok && ev.sequence == seq) {
    memcpy(prev, ev.chain_digest, DIGEST_LEN);
    return 0;
  }
  snprintf(why, whylen, "%s", row && !ok
               ? "the row is malformed (a column has the wrong type or "
                 "length)"
               : "missing: the event before the checked range is not in "
                 "the log (a row was deleted)");
  return 1;
}

/* Fills r (r->bad_sequence 0 when the log verifies from sequence from on);
 * an error only when the log cannot be read. */
static int verify_walk(struct evlog_db *db, int64_t from,
                       struct verify_report *r, struct errbuf *e) {
  uint8_t prev[DIGEST_LEN];
  struct evlog_stmt *st;
  int64_t expect = from, applied = 0;
  int rc;

  memset(prev, 0, sizeof prev);
  rc = evlog_stmt(db, from > 1 ? evlog_scan_from_sql : evlog_scan_sql, &st, e);
  if (rc == 0 && from > 1)
    rc = evlog_fail(db, evlog_bind_int(st, 1, from - 1), "reading the event "
                    "log", e);
  if (rc != 0)
    return rc;
  if (from > 1 &&
      (rc = verify_seed(st, from - 1, prev, r->why, sizeof r->why)) != 0) {
    evlog_reset(st);
    if (rc < 0)
      return evlog_fail(db, rc, "reading the event log", e);
    r->bad_sequence = from - 1;
    return 0;
  }
  while ((rc = evlog_step(st)) == EVLOG_ROW) {
    if (!verify_row(st, expect, prev, r->why, sizeof r->why)) {
      r->bad_sequence = expect;
      memcpy(r->head, prev, DIGEST_LEN); /* the last row that verified */
      evlog_reset(st);
      return 0;
    }
    expect++;
    r->verified++;
  }
  evlog_reset(st);
  if (rc != 0)
    return evlog_fail(db, rc, "reading the event log", e);
  memcpy(r->head, prev, DIGEST_LEN);

  rc = evlog_applied(db, &applied, "reading the state", e);
  if (rc != 0 && rc != UV_ENOENT) /* no state row: nothing claimed */
    return rc;
  if (applied >= expect) {
    r->bad_sequence = expect;
    snprintf(r->why, sizeof r->why, "missing: the views were built up to "
             "%lld but the log ends at %lld (rows were deleted from the "
             "end)",
             (long long)applied, (long long)(expect - 1));
  }
  return 0;
}

int verify_log(const char *location, struct verify_report *r,
               struct errbuf *e) {
  return verify_log_from(location, 1, r, e);
}

int verify_log_from(const char *location, int64_t from,
                    struct verify_report *r, struct errbuf *e) {
  struct evlog_db *db = NULL;
  int rc;

  memset(r, 0, sizeof *r);
  if ((rc = evlog_open(location, EVLOG_RO, &db, e)) != 0)
    return rc;
  rc = evlog_begin(db, false, e);
  if (rc == 0) {
    rc = verify_walk(db, from < 1 ? 1 : from, r, e);
    evlog_rollback(db);
  }
  evlog_close(db);
  if (rc != 0)
    memset(r, 0, sizeof *r);
  return rc;
}

int verify_quick_check(const char *location, struct errbuf *e) {
  struct evlog_db *db = NULL;
  int rc;

  if ((rc = evlog_open(location, EVLOG_RO, &db, e)) != 0)
    return rc;
  rc = evlog_quick_check(db, e);
  evlog_close(db);
  return rc;
}
