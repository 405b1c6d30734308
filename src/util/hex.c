/* hex.c: hexadecimal digits (see hex.h). */
#include "util/hex.h"

const char hex_digits[16] = {'0', '1', '2', '3', '4', '5', '6', '7',
                             '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

void hex_encode(const uint8_t *d, size_t n, char *out) {
  for (size_t k = 0; k < n; k++) {
    out[2 * k] = hex_digits[d[k] >> 4];
    out[2 * k + 1] = hex_digits[d[k] & 15];
  }
  out[2 * n] = '\0';
}
