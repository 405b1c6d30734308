/*
 * strpack.h: a struct and copies of the strings it points to, in one
 * allocation (free() releases all), so a request can outlive the caller's
 * buffers: writer jobs and read jobs carry their string arguments so.
 */
#ifndef AS_STRPACK_H
#define AS_STRPACK_H

#include <stddef.h>

/* Allocates size bytes (zeroed) followed by copies of the n strings
 * src[]; the `const char *` field at byte offset offs[i] of the struct is
 * set to the copy of src[i] (NULL stays NULL).  NULL on ENOMEM. */
void *strpack_alloc(size_t size, const char *const *src, const size_t *offs,
                    size_t n);

#endif
