/*
 * gc.c: `artifactstored --gc [--dry-run] [--gc-grace S] --data DIR`: one
 * collection with the daemon stopped (the data directory's lock held),
 * the same as the collector's part of a sweeper pass
 * (src/retention/retention.h): the blobs nothing live has referred to
 * for the grace period, then every blob file older than it that no live
 * file references (an orphan), each one v1.blob.collected and, after the
 * commit, moved to <data>/trash.  Nothing is swept (no package expires)
 * and the trash is not emptied.
 *
 * --dry-run asks the registry the same question in one job that writes
 * nothing (reg_collect's dry run, every candidate at once) and prints the
 * answer: each blob, its size, and why it would go.
 */
#include "cmd/cmd.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "retention/retention.h"
#include "store/blob/blob.h"
#include "store/codec/caddr.h"
#include "store/codec/ts.h"
#include "store/datadir.h"
#include "store/registry/lifecycle.h"
#include "store/registry/views.h"

#define GC_CANDIDATES_MAX 1000000u /* listed by one dry run, at most */

struct gc {
  uv_loop_t loop;
  struct writer *w;
  struct blob_store *s;
  struct retention *r;
  bool dry_run;
  int64_t grace_s, cutoff;     /* files modified at or before cutoff */
  /* the dry run: old files found on disk */
  struct orphan_candidate *files;
  size_t nfiles, capfiles;
  /* the outcome */
  uint64_t n, bytes, orphans, failed;
  int rc;
};

static void gc_print(const struct reg_collected *c, const char *verb,
                     const char *tail) {
  char addr[CADDR_BUFSIZE], when[TS_STRLEN + 1];

  caddr_format_raw(CADDR_BLAKE3, c->blake3, addr);
  if (c->unreferenced_seq > 0) {
    ts_format(c->unreferenced_at, when);
    printf("%s %s %" PRIu64 " bytes: unreferenced since event %" PRId64
           " (%s)%s\n",
           verb, addr, c->size, c->unreferenced_seq, when, tail);
  } else {
    printf("%s %s %" PRIu64 " bytes: orphan (a blob file no live file "
           "references)%s\n",
           verb, addr, c->size, tail);
  }
}

static void gc_count(struct gc *g, const struct reg_collected *c) {
  g->n++;
  g->bytes += c->size;
  if (c->unreferenced_seq == 0)
    g->orphans++;
}

static void gc_closed_cb(void *arg) { (void)arg; }

static void gc_finish(struct gc *g) {
  if (g->r != NULL)
    retention_stop(g->r);
  writer_close(g->w, gc_closed_cb, g);
}

/* ---- the dry run ---------------------------------------------------------- */

static void gc_dry_cb(const struct reg_result *res, void *arg) {
  struct gc *g = arg;

  if (res->error != REG_OK) {
    fprintf(stderr, "artifactstored: --gc --dry-run: %s\n", res->msg.msg);
    g->rc = 1;
  } else {
    for (size_t i = 0; i < res->ncollected; i++) {
      gc_print(&res->collected[i], "would collect", "");
      gc_count(g, &res->collected[i]);
    }
    printf("would collect %" PRIu64 " blobs (%" PRIu64 " bytes): %" PRIu64
           " unreferenced for at least %" PRId64 " s, %" PRIu64
           " orphans%s\n",
           g->n, g->bytes, g->n - g->orphans, g->grace_s, g->orphans,
           res->more ? "; more candidates than listed: collect these, then "
                       "run again"
                     : "");
  }
  gc_finish(g);
}

static int gc_list_cb(int status, const struct blob_entry *ent, size_t n,
                      bool last, void *arg) {
  struct gc *g = arg;
  struct collect_req req;
  int rc;

  for (size_t i = 0; status == 0 && i < n; i++) {
    if (ent[i].mtime > g->cutoff)
      continue;
    if (g->nfiles == g->capfiles) {
      size_t cap = g->capfiles ? 2 * g->capfiles : 1024;
      struct orphan_candidate *p = realloc(g->files, cap * sizeof *p);
      if (p == NULL) {
        status = UV_ENOMEM;
        break;
      }
      g->files = p;
      g->capfiles = cap;
    }
    memcpy(g->files[g->nfiles].blake3, ent[i].blake3, DIGEST_LEN);
    g->files[g->nfiles++].size = ent[i].size;
  }
  if (status != 0) {
    fprintf(stderr, "artifactstored: --gc: listing the blob files: %s\n",
            uv_strerror(status));
    g->rc = 1;
    gc_finish(g);
    return 1;
  }
  if (!last)
    return 0;
  memset(&req, 0, sizeof req);
  req.grace_us = g->grace_s * 1000000;
  req.limit = GC_CANDIDATES_MAX + (unsigned)g->nfiles;
  req.dry_run = true;
  req.orphans = g->files;
  req.norphans = g->nfiles;
  if ((rc = reg_collect(g->w, &req, gc_dry_cb, g)) != 0) {
    fprintf(stderr, "artifactstored: --gc: %s\n", uv_strerror(rc));
    g->rc = 1;
    gc_finish(g);
  }
  return 1;
}

/* ---- collecting ----------------------------------------------------------- */

static void gc_report(const struct reg_collected *c, int status, void *arg) {
  struct gc *g = arg;
  char tail[96];

  if (status == 0 || status == UV_ENOENT) {
    snprintf(tail, sizeof tail, "; event %" PRId64 "%s", c->sequence,
             status == 0 ? ", moved to the trash" : ", its file was absent");
    gc_count(g, c);
    gc_print(c, "collected", tail);
  } else {
    snprintf(tail, sizeof tail, "; event %" PRId64 ", NOT moved: %s",
             c->sequence, uv_strerror(status));
    g->failed++;
    gc_print(c, "collected", tail);
  }
}

static void gc_done(void *arg, unsigned errors) {
  struct gc *g = arg;

  printf("collected %" PRIu64 " blobs (%" PRIu64 " bytes): %" PRIu64
         " unreferenced for at least %" PRId64 " s, %" PRIu64 " orphans\n",
         g->n, g->bytes, g->n - g->orphans, g->grace_s, g->orphans);
  if (errors > 0 || g->failed > 0) {
    fprintf(stderr, "artifactstored: --gc: %u step(s) failed (see the log "
            "lines above); what was collected stays collected, files not "
            "moved are collected again by the next orphan scan\n",
            errors);
    g->rc = 1;
  }
  gc_finish(g);
}

int cmd_gc(const struct config *cfg) {
  static struct gc g; /* its loop outlives every callback */
  struct retention_opts o = {.gc_grace_s = cfg->gc_grace};
  struct datadir dd = {.fd = -1};
  struct errbuf e = {{0}};
  char db[CMD_PATH_MAX];
  int rc;

  memset(&g, 0, sizeof g);
  g.dry_run = cfg->dry_run;
  g.grace_s = cfg->gc_grace;
  g.cutoff = (int64_t)time(NULL) - g.grace_s;
  if ((rc = uv_loop_init(&g.loop)) != 0) {
    fprintf(stderr, "artifactstored: --gc: %s\n", uv_strerror(rc));
    return 1;
  }
  rc = datadir_open(cfg->data_dir, DATADIR_OPERATE, &dd, &e);
  if (rc == 0)
    rc = datadir_path(dd.path, DATADIR_DB_FILE, db, sizeof db, &e);
  if (rc == 0)
    rc = blob_store_open_local(&g.loop, dd.path, &g.s, &e);
  if (rc == 0 && e.msg[0] != '\0') { /* a warning about tmp/ */
    fprintf(stderr, "artifactstored: %s\n", e.msg);
    e.msg[0] = '\0';
  }
  if (rc == 0)
    rc = writer_open(&g.loop, db, &views_domain, &g.w, &e);
  if (rc != 0) {
    fprintf(stderr, "artifactstored: --gc: %s\n", err_msg(&e, rc));
    if (g.s != NULL)
      blob_store_close(g.s);
    datadir_close(&dd);
    uv_loop_close(&g.loop);
    return 1;
  }
  if (g.dry_run) {
    rc = blob_list(g.s, gc_list_cb, &g);
  } else {
    rc = retention_start(&g.loop, g.w, g.s, &o, &g.r);
    if (rc == 0)
      rc = retention_collect_now(g.r, gc_report, gc_done, &g);
  }
  if (rc != 0) {
    fprintf(stderr, "artifactstored: --gc: %s\n", uv_strerror(rc));
    g.rc = 1;
    gc_finish(&g);
  }
  uv_run(&g.loop, UV_RUN_DEFAULT);
  retention_free(g.r);
  blob_store_close(g.s);
  if (uv_loop_close(&g.loop) != 0)
    g.rc = 1;
  free(g.files);
  datadir_close(&dd);
  return g.rc;
}
