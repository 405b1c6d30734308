/*
 * bench_digest.c: the dual-digest limit for tools/bench.  Hashes a buffer
 * of the given size (default 1 GiB) with the same dual_hasher the daemon
 * uses for uploads, fed in the same chunk size, on one thread, and prints
 * one JSON line: {"bytes":N,"seconds":S,"mb_per_s":R,"provider":"..."}.
 * MB is 10^6 bytes throughout the bench.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/codec/digest.h"

#define BENCH_DEFAULT_BYTES (1024ull * 1024 * 1024)
#define BENCH_CHUNK_BYTES (256u * 1024) /* typical upload read size */
#define BENCH_MAX_BYTES (16ull * 1024 * 1024 * 1024)

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift fill: incompressible, cheap, deterministic. */
static void fill(uint8_t *buf, size_t n) {
  uint64_t x = 0x9e3779b97f4a7c15ull;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    memcpy(buf + i, &x, 8);
  }
  for (; i < n; i++)
    buf[i] = (uint8_t)i;
}

int main(int argc, char **argv) {
  unsigned long long bytes = BENCH_DEFAULT_BYTES;
  struct dual_hasher *h = NULL;
  struct digest_pair d;
  uint8_t *buf;
  double t0, t1;

  if (argc > 2 || (argc == 2 && strcmp(argv[1], "--help") == 0)) {
    fprintf(stderr, "usage: bench_digest [BYTES]\n");
    return 2;
  }
  if (argc == 2) {
    char *end;
    errno = 0;
    bytes = strtoull(argv[1], &end, 10);
    if (errno != 0 || *end != '\0' || bytes == 0 || bytes > BENCH_MAX_BYTES) {
      fprintf(stderr, "bench_digest: BYTES must be 1..%llu\n",
              (unsigned long long)BENCH_MAX_BYTES);
      return 2;
    }
  }
  buf = malloc((size_t)bytes);
  if (buf == NULL || dual_hasher_new(&h) != 0) {
    fprintf(stderr, "bench_digest: out of memory for %llu bytes\n", bytes);
    free(buf);
    return 1;
  }
  fill(buf, (size_t)bytes);

  t0 = now_s();
  for (size_t off = 0; off < bytes; off += BENCH_CHUNK_BYTES) {
    size_t n = bytes - off < BENCH_CHUNK_BYTES ? (size_t)(bytes - off)
                                               : BENCH_CHUNK_BYTES;
    dual_hasher_update(h, buf + off, n);
  }
  dual_hasher_final(h, &d);
  t1 = now_s();

  printf("{\"bytes\":%llu,\"seconds\":%.6f,\"mb_per_s\":%.1f,"
         "\"provider\":\"%s\",\"blake3_first_byte\":%u}\n",
         bytes, t1 - t0, (double)bytes / (t1 - t0) / 1e6,
         digest_sha256_provider(), d.blake3[0]);
  dual_hasher_free(h);
  free(buf);
  return 0;
}
