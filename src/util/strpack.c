/* strpack.c: a struct and its strings in one allocation (see strpack.h). */
#include "util/strpack.h"

#include <stdlib.h>
#include <string.h>

void *strpack_alloc(size_t size, const char *const *src, const size_t *offs,
                    size_t n) {
  size_t total = size;
  char *j, *p;

  for (size_t i = 0; i < n; i++)
    if (src[i] != NULL)
      total += strlen(src[i]) + 1;
  j = calloc(1, total);
  if (j == NULL)
    return NULL;
  p = j + size;
  for (size_t i = 0; i < n; i++) {
    const char *copy = NULL;
    if (src[i] != NULL) {
      size_t len = strlen(src[i]) + 1;
      memcpy(p, src[i], len);
      copy = p;
      p += len;
    }
    memcpy(j + offs[i], &copy, sizeof copy);
  }
  return j;
}
