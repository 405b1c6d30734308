/*
 * verify.c: `--verify-log` as a library call.
 *
 * Walks `events` in sequence order and recomputes, for every row, the
 * payload digest and the chain digest (layout in evlog.c); also checks
 * that sequences run 1, 2, 3, ... without a gap, that each payload is
 * canonical CBOR, and that the log reaches the sequence the views were
 * built to (state.last_sequence), which catches a deleted last row.
 */
#include "store/evlog/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/codec/ccbor.h"
#include "store/evlog/sqlite/db.h"
#include "store/evlog/chain.h"
#include "store/registry/views.h"

/* 0 when the log verifies, 1 with *bad_seq and why when it does not,
 * negative on a read failure. */
static int verify_walk(sqlite3 *db, int64_t *count, int64_t *bad_seq,
                       char *why, size_t whylen, uint8_t head[DIGEST_LEN],
                       struct errbuf *e) {
  uint8_t prev[DIGEST_LEN], d[DIGEST_LEN];
  sqlite3_stmt *st = NULL;
  int64_t expect = 1, applied = 0;
  int rc;

  *count = 0;
  memset(prev, 0, sizeof prev);
  rc = sqlite3_prepare_v2(db, "SELECT " EVLOG_COLUMNS
                          " FROM events ORDER BY sequence", -1, &st, NULL);
  if (rc != SQLITE_OK)
    return db_err(db, rc, "reading the event log", e);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct event_rec *ev;
    cbor_item_t *item = NULL;
    int bad = 0;

    *bad_seq = expect;
    if (evlog_rec_from_row(st, &ev) != 0) {
      snprintf(why, whylen, "the row is malformed (a column has the wrong "
               "type or length)");
      bad = 1;
    } else if (ev->sequence != expect) {
      snprintf(why, whylen, "missing: the log jumps from %lld to %lld (a "
               "row was deleted)",
               (long long)(expect - 1), (long long)ev->sequence);
      bad = 1;
    } else {
      evlog_payload_digest(ev->payload, ev->payload_len, d);
      if (memcmp(d, ev->payload_digest, DIGEST_LEN) != 0) {
        snprintf(why, whylen, "payload digest does not match the payload "
                 "(the payload or its digest was edited)");
        bad = 1;
      } else if (evlog_chain_digest(expect > 1 ? prev : NULL, ev, d) != 0 ||
                 memcmp(d, ev->chain_digest, DIGEST_LEN) != 0) {
        snprintf(why, whylen, "chain digest does not match (a field of "
                 "this row, or the previous chain digest, was edited)");
        bad = 1;
      } else if (ccbor_decode(ev->payload, ev->payload_len, &item, NULL) !=
                 0) {
        snprintf(why, whylen, "payload is not canonical CBOR");
        bad = 1;
      }
      if (item != NULL)
        cbor_decref(&item);
    }
    if (!bad)
      memcpy(prev, ev->chain_digest, DIGEST_LEN);
    free(ev);
    if (bad) {
      sqlite3_finalize(st);
      return 1;
    }
    expect++;
    (*count)++;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE)
    return db_err(db, rc, "reading the event log", e);
  memcpy(head, prev, DIGEST_LEN);

  rc = views_applied(db, &applied, "reading the state", e);
  if (rc != 0 && rc != UV_ENOENT) /* no state row: nothing claimed */
    return rc;
  if (applied > *count) {
    *bad_seq = *count + 1;
    snprintf(why, whylen, "missing: the views were built up to %lld but the "
             "log ends at %lld (rows were deleted from the end)",
             (long long)applied, (long long)*count);
    return 1;
  }
  return 0;
}

int verify_log(const char *db_path, struct verify_report *r,
               struct errbuf *e) {
  sqlite3 *db = NULL;
  int rc;

  memset(r, 0, sizeof *r);
  if ((rc = db_open_ro(db_path, &db, e)) != 0)
    return rc;
  rc = db_exec(db, "BEGIN", e);
  if (rc == 0) {
    rc = verify_walk(db, &r->verified, &r->bad_sequence, r->why,
                     sizeof r->why, r->head, e);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  }
  sqlite3_close(db);
  if (rc == 1)
    return 0;                  /* bad_sequence says where */
  r->bad_sequence = 0;
  return rc;
}
