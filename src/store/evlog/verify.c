/*
 * verify.c: `--verify-log` as a library call.
 *
 * Walks `events` in sequence order and recomputes, for every row, the
 * payload digest and the chain digest (layout in chain.c); also checks
 * that sequences run 1, 2, 3, ... without a gap, that each payload is
 * canonical CBOR, and that the log reaches the sequence the views were
 * built to (state.last_sequence), which catches a deleted last row.
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

/* Fills r (r->bad_sequence 0 when the log verifies); an error only when
 * the log cannot be read. */
static int verify_walk(struct evlog_db *db, struct verify_report *r,
                       struct errbuf *e) {
  uint8_t prev[DIGEST_LEN];
  struct evlog_stmt *st;
  int64_t expect = 1, applied = 0;
  int rc;

  memset(prev, 0, sizeof prev);
  if ((rc = evlog_stmt(db, evlog_scan_sql, &st, e)) != 0)
    return rc;
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
  if (applied > r->verified) {
    r->bad_sequence = r->verified + 1;
    snprintf(r->why, sizeof r->why, "missing: the views were built up to "
             "%lld but the log ends at %lld (rows were deleted from the "
             "end)",
             (long long)applied, (long long)r->verified);
  }
  return 0;
}

int verify_log(const char *location, struct verify_report *r,
               struct errbuf *e) {
  struct evlog_db *db = NULL;
  int rc;

  memset(r, 0, sizeof *r);
  if ((rc = evlog_open(location, EVLOG_RO, &db, e)) != 0)
    return rc;
  rc = evlog_begin(db, false, e);
  if (rc == 0) {
    rc = verify_walk(db, r, e);
    evlog_rollback(db);
  }
  evlog_close(db);
  if (rc != 0)
    memset(r, 0, sizeof *r);
  return rc;
}
