/*
 * uuid.c: UUIDs (RFC 9562).  Random bits come from libsodium's
 * randombytes_buf (sodium_init is called by writer_open/main before any
 * id is made; randombytes_buf is safe without it on Linux).
 */
#include "store/codec/uuid.h"

#include <string.h>

#include <sodium.h>
#include <uv.h>

#include "util/hex.h"

int uuid_parse(const char *s, size_t n, struct uuid *out) {
  size_t j = 0;

  if (n != UUID_STRLEN)
    return UV_EINVAL;
  for (size_t i = 0; i < n;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-')
        return UV_EINVAL;
      i++;
      continue;
    }
    int hi = hex_val(s[i]), lo = hex_val(s[i + 1]);
    if (hi < 0 || lo < 0)
      return UV_EINVAL;
    out->b[j++] = (uint8_t)(hi << 4 | lo);
    i += 2;
  }
  return 0;
}

void uuid_format(const struct uuid *u, char out[UUID_STRLEN + 1]) {
  size_t o = 0;

  for (size_t i = 0; i < UUID_LEN; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out[o++] = '-';
    out[o++] = hex_digits[u->b[i] >> 4];
    out[o++] = hex_digits[u->b[i] & 0xf];
  }
  out[o] = '\0';
}

void uuid_v7(uint64_t unix_ms, struct uuid *out) {
  randombytes_buf(out->b, sizeof out->b);
  for (int i = 0; i < 6; i++)
    out->b[i] = (uint8_t)(unix_ms >> (8 * (5 - i)));
  out->b[6] = (uint8_t)(0x70 | (out->b[6] & 0x0f)); /* version 7 */
  out->b[8] = (uint8_t)(0x80 | (out->b[8] & 0x3f)); /* variant 10 */
}
