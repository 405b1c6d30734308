/*
 * caddr.h: content addresses, "blake3:<64 lowercase hex>" and
 * "sha256:<64 lowercase hex>".  The parser is strict: known algorithm,
 * exact length, lowercase hex only, nothing before or after.
 */
#ifndef AS_CADDR_H
#define AS_CADDR_H

#include <stddef.h>
#include <stdint.h>

#include "util/common.h"
#include "store/codec/digest.h"

enum caddr_alg {
  CADDR_BLAKE3 = 1,
  CADDR_SHA256 = 2,
};

struct caddr {
  enum caddr_alg alg;
  uint8_t d[DIGEST_LEN];
};

/* "blake3:" and "sha256:" are both 7 bytes, so every address is 71 bytes. */
#define CADDR_STRLEN 71
#define CADDR_BUFSIZE (CADDR_STRLEN + 1)

/* 0, or UV_EINVAL with a reason in e. s need not be NUL-terminated. */
int caddr_parse(const char *s, size_t n, struct caddr *out, struct errbuf *e);
/* Writes CADDR_STRLEN characters and a NUL. */
void caddr_format(const struct caddr *a, char out[CADDR_BUFSIZE]);
void caddr_format_raw(enum caddr_alg alg, const uint8_t d[DIGEST_LEN],
                      char out[CADDR_BUFSIZE]);

#endif
