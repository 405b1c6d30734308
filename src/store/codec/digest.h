/*
 * digest.h: the dual digest.  Every blob is identified by its BLAKE3 digest;
 * its SHA-256 is computed from the same bytes in the same pass so that
 * clients holding either can find it.  SHA-256 comes from libcrypto (EVP,
 * which uses the CPU's SHA extensions) unless built with -Dsha256=libsodium.
 *
 * The hasher is plain memory and CPU: callers decide which thread runs it.
 * Uploads feed it on the uv threadpool, never on the loop thread.
 */
#ifndef AS_DIGEST_H
#define AS_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DIGEST_LEN 32 /* bytes, for both algorithms */

struct digest_pair {
  uint8_t blake3[DIGEST_LEN];
  uint8_t sha256[DIGEST_LEN];
};

struct dual_hasher; /* opaque */

/* 0 or UV_ENOMEM. */
int dual_hasher_new(struct dual_hasher **out);
void dual_hasher_update(struct dual_hasher *h, const void *data, size_t len);
/* Writes both digests and resets the hasher for reuse. */
void dual_hasher_final(struct dual_hasher *h, struct digest_pair *out);
void dual_hasher_free(struct dual_hasher *h);

/* SHA-256 alone, fed in pieces (the Content-Digest of a large range). */
struct sha256_hasher; /* opaque */

/* 0 or UV_ENOMEM. */
int sha256_hasher_new(struct sha256_hasher **out);
/* 0 or UV_EIO (the provider failed). */
int sha256_hasher_update(struct sha256_hasher *h, const void *data,
                         size_t len);
/* Writes the digest and resets the hasher for reuse: 0 or UV_EIO. */
int sha256_hasher_final(struct sha256_hasher *h, uint8_t out[DIGEST_LEN]);
void sha256_hasher_free(struct sha256_hasher *h);

/* One-shot helpers. */
void digest_blake3(const void *data, size_t len, uint8_t out[DIGEST_LEN]);
int digest_sha256(const void *data, size_t len, uint8_t out[DIGEST_LEN]);

/* "libcrypto" or "libsodium": the provider compiled in. */
const char *digest_sha256_provider(void);

#endif
