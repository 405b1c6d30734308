/*
 * digest.c: BLAKE3 + SHA-256 in one pass (see digest.h).
 *
 * BLAKE3 is the reference C implementation that Debian ships in
 * librust-blake3-dev, compiled with its SIMD assembly.  SHA-256 is
 * libcrypto's EVP (SHA-NI when the CPU has it) or, with -Dsha256=libsodium,
 * libsodium's crypto_hash_sha256.  Both providers must give identical
 * digests; test/unit/test_digest.c checks them against each other.
 */
#include "store/codec/digest.h"

#include <stdlib.h>
#include <uv.h>

#include "blake3.h"

#if defined(AS_SHA256_LIBCRYPTO)
#include <openssl/evp.h>
#else
#include <sodium.h>
#endif

struct dual_hasher {
  blake3_hasher b3;
#if defined(AS_SHA256_LIBCRYPTO)
  EVP_MD_CTX *sha;
#else
  crypto_hash_sha256_state sha;
#endif
};

static void sha_init(struct dual_hasher *h) {
#if defined(AS_SHA256_LIBCRYPTO)
  EVP_DigestInit_ex(h->sha, EVP_sha256(), NULL);
#else
  crypto_hash_sha256_init(&h->sha);
#endif
}

int dual_hasher_new(struct dual_hasher **out) {
  struct dual_hasher *h;

  *out = NULL;
  h = calloc(1, sizeof *h);
  if (h == NULL)
    return UV_ENOMEM;
#if defined(AS_SHA256_LIBCRYPTO)
  h->sha = EVP_MD_CTX_new();
  if (h->sha == NULL) {
    free(h);
    return UV_ENOMEM;
  }
#endif
  blake3_hasher_init(&h->b3);
  sha_init(h);
  *out = h;
  return 0;
}

void dual_hasher_update(struct dual_hasher *h, const void *data, size_t len) {
  if (len == 0)
    return;
  blake3_hasher_update(&h->b3, data, len);
#if defined(AS_SHA256_LIBCRYPTO)
  EVP_DigestUpdate(h->sha, data, len);
#else
  crypto_hash_sha256_update(&h->sha, data, len);
#endif
}

void dual_hasher_final(struct dual_hasher *h, struct digest_pair *out) {
  blake3_hasher_finalize(&h->b3, out->blake3, DIGEST_LEN);
#if defined(AS_SHA256_LIBCRYPTO)
  unsigned int n = 0;
  EVP_DigestFinal_ex(h->sha, out->sha256, &n);
#else
  crypto_hash_sha256_final(&h->sha, out->sha256);
#endif
  blake3_hasher_init(&h->b3);
  sha_init(h);
}

void dual_hasher_free(struct dual_hasher *h) {
  if (h == NULL)
    return;
#if defined(AS_SHA256_LIBCRYPTO)
  EVP_MD_CTX_free(h->sha);
#endif
  free(h);
}

struct sha256_hasher {
#if defined(AS_SHA256_LIBCRYPTO)
  EVP_MD_CTX *ctx;
#else
  crypto_hash_sha256_state st;
#endif
};

int sha256_hasher_new(struct sha256_hasher **out) {
  struct sha256_hasher *h = calloc(1, sizeof *h);

  *out = NULL;
  if (h == NULL)
    return UV_ENOMEM;
#if defined(AS_SHA256_LIBCRYPTO)
  h->ctx = EVP_MD_CTX_new();
  if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
    sha256_hasher_free(h);
    return UV_ENOMEM;
  }
#else
  crypto_hash_sha256_init(&h->st);
#endif
  *out = h;
  return 0;
}

int sha256_hasher_update(struct sha256_hasher *h, const void *data,
                         size_t len) {
  if (len == 0)
    return 0;
#if defined(AS_SHA256_LIBCRYPTO)
  return EVP_DigestUpdate(h->ctx, data, len) == 1 ? 0 : UV_EIO;
#else
  return crypto_hash_sha256_update(&h->st, data, len) == 0 ? 0 : UV_EIO;
#endif
}

int sha256_hasher_final(struct sha256_hasher *h, uint8_t out[DIGEST_LEN]) {
#if defined(AS_SHA256_LIBCRYPTO)
  unsigned int n = 0;

  if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != DIGEST_LEN ||
      EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
    return UV_EIO;
  return 0;
#else
  crypto_hash_sha256_final(&h->st, out);
  crypto_hash_sha256_init(&h->st);
  return 0;
#endif
}

void sha256_hasher_free(struct sha256_hasher *h) {
  if (h == NULL)
    return;
#if defined(AS_SHA256_LIBCRYPTO)
  EVP_MD_CTX_free(h->ctx);
#endif
  free(h);
}

void digest_blake3(const void *data, size_t len, uint8_t out[DIGEST_LEN]) {
  blake3_hasher b3;

  blake3_hasher_init(&b3);
  blake3_hasher_update(&b3, data, len);
  blake3_hasher_finalize(&b3, out, DIGEST_LEN);
}

int digest_sha256(const void *data, size_t len, uint8_t out[DIGEST_LEN]) {
#if defined(AS_SHA256_LIBCRYPTO)
  unsigned int n = 0;
  return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 ? 0 : UV_EIO;
#else
  crypto_hash_sha256(out, data, len);
  return 0;
#endif
}

const char *digest_sha256_provider(void) {
#if defined(AS_SHA256_LIBCRYPTO)
  return "libcrypto";
#else
  return "libsodium";
#endif
}
