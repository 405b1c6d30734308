/*
 * test_digest.c: the dual digest against published answers, against the
 * b3sum and sha256sum commands, and against both SHA-256 libraries called
 * directly, whichever provider this build compiled in (tools/test.sh runs
 * this test in a libcrypto build and in a -Dsha256=libsodium build).
 *
 * Random data and random chunk splits come from a seeded PRNG; the seed is
 * printed, and AS_TEST_SEED=<n> replays a run.
 */
#include "store/codec/digest.h"
#include "util/hex.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <time.h>
#include <unistd.h>

#include "as_config.h"
#include "store/codec/caddr.h"
#include "test.h"

#define LIT(s) s, sizeof(s) - 1
#define MiB (1024 * 1024)
#define CMD_MAX 4200

/* ---- seeded PRNG (splitmix64) ---------------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static size_t rng_below(size_t n) {
  return n == 0 ? 0 : (size_t)(rng_next() % n);
}

static void rng_fill(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng_next();
    size_t k = n - i < 8 ? n - i : 8;

    memcpy(p + i, &v, k);
  }
}

static void rng_seed(void) {
  const char *env = getenv("AS_TEST_SEED");

  if (env != NULL && *env != '\0')
    rng_state = strtoull(env, NULL, 0);
  else
    rng_state = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
  printf("digest: seed %" PRIu64 " (replay with AS_TEST_SEED=%" PRIu64 ")\n",
         rng_state, rng_state);
  fflush(stdout);
}

/* ---- helpers ---------------------------------------------------------- */

static void hex(const uint8_t d[DIGEST_LEN], char out[2 * DIGEST_LEN + 1]) {
  hex_encode(d, DIGEST_LEN, out);
}

#define ASSERT_HEX(d, want)                                                 \
  do {                                                                      \
    char got_[2 * DIGEST_LEN + 1];                                          \
    hex((d), got_);                                                         \
    ASSERT_STREQ(got_, (want));                                             \
  } while (0)

/* Feeds data to h in random pieces of 1..cap bytes, with zero-length
 * updates mixed in.  cap is drawn per call so that one input is hashed
 * byte by byte in one pass and in large slices in another. */
static size_t feed_split(struct dual_hasher *h, const uint8_t *p, size_t n) {
  static const size_t caps[] = {1, 7, 64, 1000, 65536, MiB};
  size_t off = 0, pieces = 0, cap;

  /* At most about 100k pieces, so 5 MiB is not hashed byte by byte. */
  do
    cap = caps[rng_below(ARRAY_SIZE(caps))];
  while (cap * 100000 < n);
  while (off < n) {
    size_t len = rng_below(16) == 0 ? 0 : 1 + rng_below(cap);

    if (len > n - off)
      len = n - off;
    dual_hasher_update(h, p + off, len);
    off += len;
    pieces++;
  }
  dual_hasher_update(h, p + off, 0);
  return pieces;
}

#define SPLITS 3 /* random splits of each input */

static void evp_sha256(const void *p, size_t n, uint8_t out[DIGEST_LEN]) {
  unsigned int len = 0;

  ASSERT_EQ(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
  ASSERT_EQ(len, DIGEST_LEN);
}

/* What every case starts from: libsodium ready, the PRNG seeded (and the
 * seed printed), and a fresh hasher the case frees. */
static struct dual_hasher *hasher_setup(void) {
  struct dual_hasher *h;

  ASSERT(sodium_init() >= 0);
  rng_seed();
  ASSERT_EQ(dual_hasher_new(&h), 0);
  return h;
}

/* ---- known answers ---------------------------------------------------- */

struct kat {
  const char *msg; /* NULL: the BLAKE3 test-vector pattern, byte i = i % 251 */
  size_t len;
  const char *hex;
};

/* BLAKE3 reference test vectors (input byte i is i % 251), plus "abc". */
static const struct kat b3_kats[] = {
    {LIT(""), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
    {LIT("abc"), "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"},
    {NULL, 1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"},
    {NULL, 63, "e9bc37a594daad83be9470df7f7b3798297c3d834ce80ba85d6e207627b7db7b"},
    {NULL, 64, "4eed7141ea4a5cd4b788606bd23f46e212af9cacebacdc7d1f4c6dc7f2511b98"},
    {NULL, 65, "de1e5fa0be70df6d2be8fffd0e99ceaa8eb6e8c93a63f2d8d1c30ecb6b263dee"},
    {NULL, 1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"},
    {NULL, 1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"},
    {NULL, 1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"},
    {NULL, 8193, "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b"},
    {NULL, 31744, "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47"},
    {NULL, 102400, "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"},
};

/* FIPS 180-2 appendix B and the NIST example vectors. */
static const struct kat sha_kats[] = {
    {LIT(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {LIT("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {LIT("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {LIT("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
         "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
};

static const uint8_t *kat_bytes(const struct kat *k, uint8_t *scratch) {
  if (k->msg != NULL)
    return (const uint8_t *)k->msg;
  for (size_t i = 0; i < k->len; i++)
    scratch[i] = (uint8_t)(i % 251);
  return scratch;
}

/* digest_blake3 and the hasher, over random splits, give the reference
 * answers. */
static void test_blake3_known(void) {
  static uint8_t scratch[102400];
  struct dual_hasher *h = hasher_setup();
  struct digest_pair dp;
  uint8_t d[DIGEST_LEN];

  for (size_t i = 0; i < ARRAY_SIZE(b3_kats); i++) {
    const struct kat *k = &b3_kats[i];
    const uint8_t *p = kat_bytes(k, scratch);

    ASSERT(k->len <= sizeof scratch);
    digest_blake3(p, k->len, d);
    ASSERT_HEX(d, k->hex);
    for (int s = 0; s < SPLITS; s++) {
      feed_split(h, p, k->len);
      dual_hasher_final(h, &dp);
      ASSERT_HEX(dp.blake3, k->hex);
    }
  }
  dual_hasher_free(h);
}

/* digest_sha256 and the hasher, fed one byte at a time, give the FIPS
 * answers. */
static void test_sha256_known(void) {
  struct dual_hasher *h = hasher_setup();
  struct digest_pair dp;
  uint8_t d[DIGEST_LEN];

  for (size_t i = 0; i < ARRAY_SIZE(sha_kats); i++) {
    const struct kat *k = &sha_kats[i];

    ASSERT_EQ(digest_sha256(k->msg, k->len, d), 0);
    ASSERT_HEX(d, k->hex);
    /* One byte at a time crosses every block boundary. */
    for (size_t j = 0; j < k->len; j++)
      dual_hasher_update(h, k->msg + j, 1);
    dual_hasher_final(h, &dp);
    ASSERT_HEX(dp.sha256, k->hex);
  }
  dual_hasher_free(h);
}

/* One million 'a' (FIPS 180-2 B.3), and the same for BLAKE3. */
static void test_million_a(void) {
  struct dual_hasher *h = hasher_setup();
  struct digest_pair dp;
  uint8_t *a = malloc(1000000);

  ASSERT(a != NULL);
  memset(a, 'a', 1000000);
  for (size_t off = 0; off < 1000000; off += 1000)
    dual_hasher_update(h, a + off, 1000);
  dual_hasher_final(h, &dp);
  ASSERT_HEX(dp.sha256,
             "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  ASSERT_HEX(dp.blake3,
             "616f575a1b58d4c9797d4217b9730ae5e6eb319d76edef6549b46f4efe31ff8b");
  free(a);
  dual_hasher_free(h);
}

/* final() resets: a fresh digest after it, not a continuation. */
static void test_final_resets(void) {
  struct dual_hasher *h = hasher_setup();
  struct digest_pair a, b;

  dual_hasher_update(h, "junk that must not leak", 23);
  dual_hasher_final(h, &a);
  dual_hasher_final(h, &b);
  ASSERT_HEX(b.blake3, b3_kats[0].hex);
  ASSERT_HEX(b.sha256, sha_kats[0].hex);
  dual_hasher_update(h, "abc", 3);
  dual_hasher_final(h, &b);
  ASSERT_HEX(b.blake3, b3_kats[1].hex);
  ASSERT_HEX(b.sha256, sha_kats[1].hex);
  dual_hasher_free(h);
}

/* ---- against the command-line tools ----------------------------------- */

/* Runs "<tool> '<path>'" and returns the first 64 characters it prints. */
static void run_tool(const char *tool, const char *path,
                     char out[2 * DIGEST_LEN + 1]) {
  char cmd[CMD_MAX], line[256];
  FILE *f;
  int n = snprintf(cmd, sizeof cmd, "%s '%s'", tool, path);

  ASSERT(n > 0 && (size_t)n < sizeof cmd);
  f = popen(cmd, "r");
  ASSERT(f != NULL);
  line[0] = '\0';
  if (fgets(line, sizeof line, f) == NULL)
    line[0] = '\0';
  if (pclose(f) != 0)
    fprintf(stderr, "digest: \"%s\" failed\n", cmd);
  ASSERT(strlen(line) >= 2 * DIGEST_LEN);
  memcpy(out, line, 2 * DIGEST_LEN);
  out[2 * DIGEST_LEN] = '\0';
}

static void make_temp(char *path, size_t size, int *fd) {
  const char *dir = getenv("TMPDIR");

  /* The path goes into a shell command inside single quotes. */
  if (dir == NULL || *dir == '\0' || strchr(dir, '\'') != NULL)
    dir = "/tmp";
  ASSERT((size_t)snprintf(path, size, "%s/as-digest-XXXXXX", dir) < size);
  *fd = mkstemp(path);
  if (*fd < 0) {
    perror(path);
    abort();
  }
}

static void write_all(int fd, const uint8_t *p, size_t n) {
  ASSERT_EQ(ftruncate(fd, 0), 0);
  ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
  while (n > 0) {
    ssize_t w = write(fd, p, n);

    ASSERT(w > 0);
    p += w;
    n -= (size_t)w;
  }
}

static void test_against_tools(void) {
  static const size_t sizes[] = {0,     1,     63,    64,          65,
                                 1023,  1024,  1025,  65535,       65536,
                                 65537, 1 * MiB + 1,  5 * MiB + 3};
  size_t max = 5 * MiB + 3;
  struct dual_hasher *h = hasher_setup();
  uint8_t *data = malloc(max);
  char path[CMD_MAX - 64];
  int fd;

  ASSERT(data != NULL);
  make_temp(path, sizeof path, &fd);
  for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
    size_t n = sizes[i], pieces[SPLITS];
    struct digest_pair dp;
    uint8_t one[DIGEST_LEN];
    char want_b3[2 * DIGEST_LEN + 1], want_sha[2 * DIGEST_LEN + 1];

    rng_fill(data, n);
    write_all(fd, data, n);
    run_tool("b3sum --no-names", path, want_b3);
    run_tool("sha256sum", path, want_sha);

    for (int s = 0; s < SPLITS; s++) {
      pieces[s] = feed_split(h, data, n);
      dual_hasher_final(h, &dp);
      ASSERT_HEX(dp.blake3, want_b3);
      ASSERT_HEX(dp.sha256, want_sha);
    }

    digest_blake3(data, n, one);
    ASSERT_HEX(one, want_b3);
    ASSERT_EQ(digest_sha256(data, n, one), 0);
    ASSERT_HEX(one, want_sha);
    printf("digest: %zu bytes split in %zu, %zu and %zu pieces: "
           "blake3 %.16s... sha256 %.16s... match b3sum and sha256sum\n", n,
           pieces[0], pieces[1], pieces[2], want_b3, want_sha);
  }
  ASSERT_EQ(close(fd), 0);
  ASSERT_EQ(unlink(path), 0);
  free(data);
  dual_hasher_free(h);
}

/* ---- both SHA-256 libraries, called directly -------------------------- */

static void test_providers(void) {
  static const size_t sizes[] = {0, 1, 55, 56, 63, 64, 65, 119, 120, 4096,
                                 100003, 2 * MiB + 17};
  struct dual_hasher *h = hasher_setup();
  uint8_t *data = malloc(2 * MiB + 17);

  ASSERT(data != NULL);
  /* The provider this build says it has is the one meson configured. */
  ASSERT_STREQ(digest_sha256_provider(), AS_SHA256_PROVIDER);
  printf("digest: sha256 provider %s\n", digest_sha256_provider());

  for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
    size_t n = sizes[i];
    uint8_t ours[DIGEST_LEN], sodium[DIGEST_LEN], evp[DIGEST_LEN];
    struct digest_pair dp;

    rng_fill(data, n);
    ASSERT_EQ(crypto_hash_sha256(sodium, data, n), 0);
    evp_sha256(data, n, evp);
    ASSERT_MEMEQ(sodium, evp, DIGEST_LEN);
    ASSERT_EQ(digest_sha256(data, n, ours), 0);
    ASSERT_MEMEQ(ours, sodium, DIGEST_LEN);
    ASSERT_MEMEQ(ours, evp, DIGEST_LEN);
    feed_split(h, data, n);
    dual_hasher_final(h, &dp);
    ASSERT_MEMEQ(dp.sha256, sodium, DIGEST_LEN);
    ASSERT_MEMEQ(dp.sha256, evp, DIGEST_LEN);
  }
  free(data);
  dual_hasher_free(h);
}

/* Many hashers at once do not share state. */
static void test_independent(void) {
  struct dual_hasher *a, *b;
  struct digest_pair da, db;

  ASSERT(sodium_init() >= 0);
  ASSERT_EQ(dual_hasher_new(&a), 0);
  ASSERT_EQ(dual_hasher_new(&b), 0);
  dual_hasher_update(a, "ab", 2);
  dual_hasher_update(b, "xyz", 3);
  dual_hasher_update(a, "c", 1);
  dual_hasher_final(a, &da);
  dual_hasher_final(b, &db);
  ASSERT_HEX(da.blake3, b3_kats[1].hex);
  ASSERT_HEX(da.sha256, sha_kats[1].hex);
  ASSERT(memcmp(db.blake3, da.blake3, DIGEST_LEN) != 0);
  dual_hasher_free(a);
  dual_hasher_free(b);
  dual_hasher_free(NULL);
}

/* SHA-256 alone, fed in random pieces: the one-shot digest, both
 * libraries', and a final that resets the hasher for reuse. */
static void test_sha256_incremental(void) {
  static const size_t sizes[] = {0, 1, 63, 64, 65, 4096, 512 * 1024 + 3,
                                 2 * MiB + 17};
  struct sha256_hasher *h;
  uint8_t *data = malloc(2 * MiB + 17), got[DIGEST_LEN], want[DIGEST_LEN];

  ASSERT(data != NULL);
  ASSERT(sodium_init() >= 0);
  ASSERT_EQ(sha256_hasher_new(&h), 0);
  ASSERT_EQ(sha256_hasher_update(h, "junk that must not leak", 23), 0);
  ASSERT_EQ(sha256_hasher_final(h, got), 0);
  ASSERT_EQ(sha256_hasher_final(h, got), 0);
  ASSERT_HEX(got, sha_kats[0].hex);
  for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
    size_t n = sizes[i], at = 0;

    rng_fill(data, n);
    while (at < n) {
      size_t k = 1 + rng_below(n - at < 300000 ? n - at : 300000);
      ASSERT_EQ(sha256_hasher_update(h, data + at, k), 0);
      at += k;
    }
    ASSERT_EQ(sha256_hasher_final(h, got), 0);
    ASSERT_EQ(crypto_hash_sha256(want, data, n), 0);
    ASSERT_MEMEQ(got, want, DIGEST_LEN);
    evp_sha256(data, n, want);
    ASSERT_MEMEQ(got, want, DIGEST_LEN);
  }
  sha256_hasher_free(h);
  sha256_hasher_free(NULL);
  free(data);
}

TEST_MAIN(TEST_CASE(test_blake3_known), TEST_CASE(test_sha256_known),
          TEST_CASE(test_million_a), TEST_CASE(test_final_resets),
          TEST_CASE(test_against_tools), TEST_CASE(test_providers),
          TEST_CASE(test_independent), TEST_CASE(test_sha256_incremental))
