/* caddr.c: parse and format content addresses (see caddr.h). */
#include "store/codec/caddr.h"

#include <string.h>

#include "util/hex.h"

static const struct {
  enum caddr_alg alg;
  const char *prefix;
} algs[] = {
    {CADDR_BLAKE3, "blake3:"},
    {CADDR_SHA256, "sha256:"},
};

#define PREFIX_LEN 7

int caddr_parse(const char *s, size_t n, struct caddr *out, struct errbuf *e) {
  size_t i;
  const char *hex;

  for (i = 0; i < ARRAY_SIZE(algs); i++)
    if (n >= PREFIX_LEN && memcmp(s, algs[i].prefix, PREFIX_LEN) == 0)
      break;
  if (i == ARRAY_SIZE(algs))
    return err_set(e, UV_EINVAL,
                   "content address must start with \"blake3:\" or \"sha256:\"");
  if (n != CADDR_STRLEN)
    return err_set(e, UV_EINVAL,
                   "content address must have exactly 64 hex digits after \"%s\"",
                   algs[i].prefix);
  hex = s + PREFIX_LEN;
  for (size_t k = 0; k < DIGEST_LEN; k++) {
    int hi = hex_val_lower(hex[2 * k]), lo = hex_val_lower(hex[2 * k + 1]);
    if (hi < 0 || lo < 0)
      return err_set(e, UV_EINVAL,
                     "content address digest must be lowercase hex (0-9, a-f)");
    out->d[k] = (uint8_t)(hi << 4 | lo);
  }
  out->alg = algs[i].alg;
  return 0;
}

void caddr_format_raw(enum caddr_alg alg, const uint8_t d[DIGEST_LEN],
                      char out[CADDR_BUFSIZE]) {
  memcpy(out, alg == CADDR_SHA256 ? "sha256:" : "blake3:", PREFIX_LEN);
  hex_encode(d, DIGEST_LEN, out + PREFIX_LEN);
}

void caddr_format(const struct caddr *a, char out[CADDR_BUFSIZE]) {
  caddr_format_raw(a->alg, a->d, out);
}
