/*
 * common.h: the few helpers every module uses once and only once.
 *
 * Error convention (libuv style): functions return 0 on success or a
 * negative error code (UV_E* values, which are -errno on Unix).  Where a
 * user will see the failure, the callee also fills a struct errbuf with a
 * sentence that says what was wrong and what to do about it.  AS_AGAIN is
 * "not yet, call again" and is never an error.
 */
#ifndef AS_COMMON_H
#define AS_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) \
  ((type *)((char *)(ptr) - offsetof(type, member)))

#define AS_AGAIN 1 /* positive: not an error, try again later */

#define ERRBUF_MAX 512

struct errbuf {
  char msg[ERRBUF_MAX];
};

/* Formats the message into e (if e is not NULL) and returns code. */
int err_set(struct errbuf *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The message in e, or a generic description of code when e is empty. */
const char *err_msg(const struct errbuf *e, int code);

#endif
