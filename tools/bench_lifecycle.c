/*
 * bench_lifecycle.c: the cost of retention (issue 13) for tools/bench,
 * through the same calls the daemon's sweeper and collector make, with
 * no HTTP in between:
 *   - a sweep that expires N packages: reg_sweep jobs of --limit
 *     decisions each, until none is left;
 *   - a collection of their N blobs: reg_collect jobs (grace 0) of
 *     --limit blobs each, and after each commit the move of every
 *     collected blob file into the trash (blob_trash, --moves in flight).
 *
 *   bench_lifecycle --data DIR --count N [--limit L] [--moves K]
 *
 * DIR is initialised (it must be new or empty).  Set-up: a class of one
 * second, N packages with one distinct 16-byte blob each (64 requests in
 * flight), all finalized, then a wait until they are due.  Prints one
 * JSON line: packages, sweep_s, expired_per_s, sweep_jobs, collect_s
 * (the registry's part), trash_s (the moves), blobs_per_s (the whole
 * collection), collect_jobs, events.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "store/blob/blob.h"
#include "store/datadir.h"
#include "store/registry/lifecycle.h"
#include "store/registry/registry.h"
#include "store/registry/retention.h"
#include "store/registry/views.h"
#include "util/common.h"

#define BL_MAX_COUNT 1000000u
#define BL_INFLIGHT 64u
#define BL_CLASS "bench-1s"

struct bl {
  uv_loop_t loop;
  struct writer *w;
  struct blob_store *s;
  unsigned count, limit, moves;
  struct uuid *pkg;
  unsigned next, done;   /* set-up: items started, finished */
  unsigned stage;
  bool failed;
  /* measured */
  uint64_t t0;
  double sweep_s, collect_s, trash_s;
  unsigned sweep_jobs, collect_jobs, expired, collected;
  /* the moves of one collect job */
  struct reg_collected *batch;
  size_t nbatch, moved, moving;
  uint64_t trash_ns;
  int64_t last_sequence;
};

struct bl_item {
  struct bl *b;
  unsigned i;
  uint8_t bytes[16];
  struct blob_ingest *in;
};

static void bl_fail(struct bl *b, const char *what, const char *why) {
  if (!b->failed)
    fprintf(stderr, "bench_lifecycle: %s: %s\n", what, why);
  b->failed = true;
}

static double bl_secs(uint64_t since) {
  return (double)(uv_hrtime() - since) / 1e9;
}

static void bl_stage(struct bl *b);

/* ---- set-up ----------------------------------------------------------- */

static void bl_item_next(struct bl *b);

static void bl_step_done(struct bl *b) {
  if (++b->done == b->count) {
    b->stage++;
    bl_stage(b);
  } else {
    bl_item_next(b);
  }
}

static void bl_reg_cb(const struct reg_result *res, void *arg) {
  struct bl_item *it = arg;
  struct bl *b = it->b;

  if (res->error != REG_OK)
    bl_fail(b, "set-up", res->msg.msg);
  else if (res->package != NULL && b->stage == 1)
    b->pkg[it->i] = res->package->id;
  free(it);
  bl_step_done(b);
}

static void bl_committed_cb(struct blob_ingest *in, int status,
                            const struct blob_info *info, void *arg) {
  struct bl_item *it = arg;
  struct file_ingest_req req = {.package_id = it->b->pkg[it->i],
                                .path = "f.bin", .actor = "bench"};
  (void)in;

  if (status != 0) {
    bl_fail(it->b, "blob ingest", uv_strerror(status));
    bl_step_done(it->b);
    free(it);
    return;
  }
  req.size = info->size;
  req.digests = info->digests;
  if (reg_file_ingest(it->b->w, &req, bl_reg_cb, it) != 0) {
    bl_fail(it->b, "file ingest", "not queued");
    bl_step_done(it->b);
    free(it);
  }
}

static void bl_written_cb(struct blob_ingest *in, int status, void *arg) {
  struct bl_item *it = arg;
  int rc = status;

  if (rc == 0)
    rc = blob_ingest_finish(in, NULL, bl_committed_cb, it);
  if (rc != 0) {
    blob_ingest_abort(in);
    bl_fail(it->b, "blob write", uv_strerror(rc));
    bl_step_done(it->b);
    free(it);
  }
}

/* Starts item b->next of the current set-up stage. */
static void bl_item_next(struct bl *b) {
  static const struct pkg_create_req create = {
      .name = "bench", .producer = "bench_lifecycle", .subject = "bench",
      .retention_class = BL_CLASS, .actor = "bench"};
  struct errbuf e = {{0}};
  struct bl_item *it;
  int rc;

  if (b->next >= b->count)
    return;
  it = calloc(1, sizeof *it);
  if (it == NULL) {
    bl_fail(b, "set-up", "out of memory");
    bl_step_done(b);
    return;
  }
  it->b = b;
  it->i = b->next++;
  switch (b->stage) {
  case 1:
    rc = reg_package_create(b->w, &create, bl_reg_cb, it);
    break;
  case 2:
    memcpy(it->bytes, "bench-lifecycle", 15);
    memcpy(it->bytes + 12, &it->i, sizeof it->i);
    rc = blob_ingest_start(b->s, sizeof it->bytes, &it->in, &e);
    if (rc == 0 && (rc = blob_ingest_write(it->in, it->bytes,
                                           sizeof it->bytes, bl_written_cb,
                                           it)) != 0)
      blob_ingest_abort(it->in);
    break;
  default:
    rc = reg_package_finalize(b->w, &b->pkg[it->i], "bench", bl_reg_cb, it);
    break;
  }
  if (rc != 0) {
    free(it);
    bl_fail(b, "set-up", uv_strerror(rc));
    bl_step_done(b);
  }
}

static void bl_class_cb(const struct reg_result *res, void *arg) {
  struct bl *b = arg;

  if (res->error != REG_OK)
    bl_fail(b, "class", res->msg.msg);
  b->stage++;
  bl_stage(b);
}

/* ---- the sweep -------------------------------------------------------- */

static void bl_sweep(struct bl *b);

static void bl_swept_cb(const struct reg_result *res, void *arg) {
  struct bl *b = arg;

  b->sweep_jobs++;
  if (res->error != REG_OK) {
    bl_fail(b, "sweep", res->msg.msg);
  } else {
    b->expired += res->expired;
    if (res->more) {
      bl_sweep(b);
      return;
    }
  }
  b->sweep_s = bl_secs(b->t0);
  b->stage++;
  bl_stage(b);
}

static void bl_sweep(struct bl *b) {
  struct sweep_req req = {.open_ttl_us = -1, .limit = b->limit};

  if (reg_sweep(b->w, &req, bl_swept_cb, b) != 0) {
    bl_fail(b, "sweep", "not queued");
    b->stage++;
    bl_stage(b);
  }
}

/* ---- the collection --------------------------------------------------- */

static void bl_collect(struct bl *b);
static void bl_move_next(struct bl *b);

static void bl_moved_cb(int status, void *arg) {
  struct bl *b = arg;

  if (status != 0)
    bl_fail(b, "trash", uv_strerror(status));
  b->moving--;
  if (b->moved < b->nbatch) {
    bl_move_next(b);
  } else if (b->moving == 0) {
    b->trash_ns += uv_hrtime() - b->t0;
    free(b->batch);
    b->batch = NULL;
    bl_collect(b);
  }
}

static void bl_move_next(struct bl *b) {
  while (b->moved < b->nbatch && b->moving < b->moves) {
    const struct reg_collected *c = &b->batch[b->moved++];
    b->moving++;
    if (blob_trash(b->s, c->blake3, c->sequence, bl_moved_cb, b) != 0) {
      b->moving--;
      bl_fail(b, "trash", "not queued");
    }
  }
}

static void bl_collected_cb(const struct reg_result *res, void *arg) {
  struct bl *b = arg;

  b->collect_jobs++;
  b->collect_s += bl_secs(b->t0);
  if (res->error != REG_OK || res->ncollected == 0) {
    if (res->error != REG_OK)
      bl_fail(b, "collect", res->msg.msg);
    b->stage++;
    bl_stage(b);
    return;
  }
  b->collected += (unsigned)res->ncollected;
  b->last_sequence = res->sequence;
  /* the result is freed after this call: keep the list */
  b->batch = malloc(res->ncollected * sizeof *b->batch);
  if (b->batch == NULL) {
    bl_fail(b, "collect", "out of memory");
    b->stage++;
    bl_stage(b);
    return;
  }
  memcpy(b->batch, res->collected, res->ncollected * sizeof *b->batch);
  b->nbatch = res->ncollected;
  b->moved = b->moving = 0;
  b->t0 = uv_hrtime();
  bl_move_next(b);
  if (b->moving == 0) { /* every move failed to queue */
    free(b->batch);
    b->batch = NULL;
    b->stage++;
    bl_stage(b);
  }
}

static void bl_collect(struct bl *b) {
  struct collect_req req = {.grace_us = 0, .limit = b->limit};

  b->t0 = uv_hrtime();
  if (reg_collect(b->w, &req, bl_collected_cb, b) != 0) {
    bl_fail(b, "collect", "not queued");
    b->stage++;
    bl_stage(b);
  }
}

/* ---- the stages --------------------------------------------------------- */

static void bl_closed_cb(void *arg) { (void)arg; }

static void bl_due_cb(uv_timer_t *t) {
  struct bl *b = t->data;

  uv_close((uv_handle_t *)t, NULL);
  b->stage++;
  bl_stage(b);
}

/* 0 class, 1 create, 2 blobs + files, 3 finalize, 4 wait, 5 sweep,
 * 6 collect, 7 close. */
static void bl_stage(struct bl *b) {
  static uv_timer_t due;

  if (b->failed && b->stage < 7)
    b->stage = 7;
  switch (b->stage) {
  case 0:
    if (reg_class_define(b->w, BL_CLASS, 1, "bench", bl_class_cb, b) != 0)
      bl_fail(b, "class", "not queued");
    return;
  case 1:
  case 2:
  case 3:
    b->next = b->done = 0;
    for (unsigned i = 0; i < BL_INFLIGHT; i++)
      bl_item_next(b);
    return;
  case 4:
    uv_timer_init(&b->loop, &due);
    due.data = b;
    uv_timer_start(&due, bl_due_cb, 1100, 0);
    return;
  case 5:
    b->t0 = uv_hrtime();
    bl_sweep(b);
    return;
  case 6:
    b->trash_ns = 0;
    bl_collect(b);
    return;
  default:
    b->trash_s = (double)b->trash_ns / 1e9;
    writer_close(b->w, bl_closed_cb, b);
    return;
  }
}

static unsigned bl_num(const char *s, unsigned max) {
  char *end;
  unsigned long v = strtoul(s, &end, 10);

  if (*end != '\0' || end == s || v == 0 || v > max) {
    fprintf(stderr, "bench_lifecycle: bad number \"%s\" (1..%u)\n", s, max);
    exit(2);
  }
  return (unsigned)v;
}

int main(int argc, char **argv) {
  static struct bl b = {.limit = 1000, .moves = 8};
  struct datadir dd = {.fd = -1};
  struct errbuf e = {{0}};
  const char *data = NULL;
  char db[4096];
  int rc;

  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--data") == 0)
      data = argv[i + 1];
    else if (strcmp(argv[i], "--count") == 0)
      b.count = bl_num(argv[i + 1], BL_MAX_COUNT);
    else if (strcmp(argv[i], "--limit") == 0)
      b.limit = bl_num(argv[i + 1], 100000);
    else if (strcmp(argv[i], "--moves") == 0)
      b.moves = bl_num(argv[i + 1], 1024);
    else
      data = NULL, i = argc;
  }
  if (data == NULL || b.count == 0 || argc % 2 == 0) {
    fprintf(stderr, "usage: bench_lifecycle --data DIR --count N "
                    "[--limit L] [--moves K]\n");
    return 2;
  }
  b.pkg = calloc(b.count, sizeof *b.pkg);
  if (b.pkg == NULL || uv_loop_init(&b.loop) != 0) {
    fprintf(stderr, "bench_lifecycle: out of memory\n");
    return 1;
  }
  if ((rc = datadir_open(data, DATADIR_SERVE, &dd, &e)) != 0 ||
      (rc = datadir_path(dd.path, DATADIR_DB_FILE, db, sizeof db, &e)) !=
          0 ||
      (rc = blob_store_open_local(&b.loop, dd.path, &b.s, &e)) != 0 ||
      (rc = writer_open(&b.loop, db, &views_domain, &b.w, &e)) != 0) {
    fprintf(stderr, "bench_lifecycle: %s\n", err_msg(&e, rc));
    return 1;
  }
  bl_stage(&b);
  uv_run(&b.loop, UV_RUN_DEFAULT);
  blob_store_close(b.s);
  rc = uv_loop_close(&b.loop);
  datadir_close(&dd);
  free(b.pkg);
  if (b.failed || rc != 0 || b.expired != b.count || b.collected != b.count) {
    fprintf(stderr, "bench_lifecycle: expired %u, collected %u of %u%s\n",
            b.expired, b.collected, b.count,
            rc != 0 ? " (loop not empty at exit)" : "");
    return 1;
  }
  printf("{\"packages\":%u,\"sweep_s\":%.6f,\"expired_per_s\":%.1f,"
         "\"sweep_jobs\":%u,\"collect_s\":%.6f,\"trash_s\":%.6f,"
         "\"blobs_per_s\":%.1f,\"collect_jobs\":%u,\"events\":%" PRId64
         "}\n",
         b.count, b.sweep_s, b.count / b.sweep_s, b.sweep_jobs, b.collect_s,
         b.trash_s, b.count / (b.collect_s + b.trash_s), b.collect_jobs,
         b.last_sequence);
  return 0;
}
