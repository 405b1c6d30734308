/*
 * uuid.h: RFC 9562 UUIDs: the 16-byte form, the 36-character text form,
 * and version 7 (time-ordered) generation.
 */
#ifndef AS_UUID_H
#define AS_UUID_H

#include <stddef.h>
#include <stdint.h>

#define UUID_LEN 16
#define UUID_STRLEN 36          /* 8-4-4-4-12, lowercase */

struct uuid {
  uint8_t b[UUID_LEN];
};

/* Accepts the 36-character hyphenated form, either case. 0 or UV_EINVAL. */
int uuid_parse(const char *s, size_t n, struct uuid *out);
void uuid_format(const struct uuid *u, char out[UUID_STRLEN + 1]);
/* RFC 9562 UUIDv7 for the given Unix time in milliseconds. */
void uuid_v7(uint64_t unix_ms, struct uuid *out);

#endif
