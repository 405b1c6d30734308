/* err.c: filling struct errbuf (see common.h for the error convention). */
#include "util/common.h"

#include <stdarg.h>
#include <stdio.h>

int err_set(struct errbuf *e, int code, const char *fmt, ...) {
  va_list ap;

  if (e == NULL)
    return code;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return code;
}

const char *err_msg(const struct errbuf *e, int code) {
  if (e != NULL && e->msg[0] != '\0')
    return e->msg;
  return code < 0 ? uv_strerror(code) : "ok";
}
