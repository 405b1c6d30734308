/*
 * stats.c: the figures loadclient reports besides counts: latency
 * percentiles of a run and the daemon's resident memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadclient.h"

/* VmRSS of pid in KiB, or -1. */
long lc_rss_kb(int pid) {
  char path[64], line[256];
  long kb = -1;
  FILE *f;

  if (pid <= 0)
    return -1;
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  f = fopen(path, "r");
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "VmRSS:", 6) == 0) {
      kb = strtol(line + 6, NULL, 10);
      break;
    }
  }
  fclose(f);
  return kb;
}

/* ---- statistics ------------------------------------------------------- */
void lc_lat_add(struct lc_lat *l, double x) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 1024;
    double *v = realloc(l->v, cap * sizeof *v);
    if (v == NULL)
      lc_die("out of memory");
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = x;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile, in milliseconds; -1 when empty. */
double lc_lat_pct(struct lc_lat *l, double p) {
  size_t rank;
  if (l->n == 0)
    return -1;
  qsort(l->v, l->n, sizeof *l->v, cmp_double);
  rank = (size_t)(p / 100.0 * (double)l->n + 0.999999);
  if (rank < 1)
    rank = 1;
  if (rank > l->n)
    rank = l->n;
  return l->v[rank - 1] * 1e3;
}
