/*
 * fuzz_sfdict.c: libFuzzer target for the Structured Field Dictionary
 * parser (src/loop/sfdict.h), the first parser of hostile header bytes
 * with a fuzz target.  Built two ways (fuzz/meson.build): with clang and
 * -Dfuzz=enabled as a libFuzzer binary (-fsanitize=fuzzer,address,
 * undefined), and always with driver.c, which replays the seed corpus
 * fuzz/corpus/sfdict/ as a meson test.
 *
 * Besides "no crash, no sanitizer report", it checks what the parser
 * promises: the answer is 0 or UV_EINVAL with a message; no member is
 * handed out for a bad field; keys and spans lie inside the input; a
 * byte sequence decodes to exactly its announced length; and the same
 * input always gets the same answer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loop/sfdict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_BYTES_MAX 16384 /* the largest header block the server takes */

struct fuzz_state {
  const char *field;
  size_t size, members;
  uint64_t sum; /* a digest of what was handed out, for the re-run */
};

static void fuzz_check(int ok) {
  if (!ok)
    abort();
}

static int fuzz_member_cb(const struct sf_member *m, void *arg) {
  struct fuzz_state *f = arg;
  const struct sf_item *it = &m->value;
  static uint8_t out[FUZZ_BYTES_MAX + 1];

  f->members++;
  fuzz_check(m->key_len > 0 && m->key >= f->field &&
             m->key + m->key_len <= f->field + f->size);
  fuzz_check(m->params_len == 0 || (m->params >= f->field &&
                                    m->params + m->params_len <=
                                        f->field + f->size));
  if (it->type != SF_INTEGER && it->type != SF_DECIMAL &&
      it->type != SF_BOOLEAN && it->type != SF_DATE)
    fuzz_check(it->text >= f->field &&
               it->text + it->text_len <= f->field + f->size);
  if (it->type == SF_BYTES) {
    fuzz_check(it->len <= FUZZ_BYTES_MAX);
    out[it->len] = 0x5a;
    sfdict_bytes_decode(it, out);
    fuzz_check(out[it->len] == 0x5a);
    for (size_t i = 0; i < it->len; i++)
      f->sum = f->sum * 31 + out[i];
  }
  f->sum = f->sum * 131 + (uint64_t)it->type * 7 + (uint64_t)it->num +
           it->len + m->key_len + m->params_len;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_state a = {(const char *)data, size, 0, 0};
  struct fuzz_state b = a;
  struct errbuf e = {{0}};
  int rc;

  if (size > FUZZ_BYTES_MAX)
    return 0;
  rc = sfdict_parse((const char *)data, size, fuzz_member_cb, &a, &e);
  fuzz_check(rc == 0 || rc == UV_EINVAL);
  fuzz_check(rc == 0 || (a.members == 0 && e.msg[0] != '\0'));
  fuzz_check(sfdict_parse((const char *)data, size, fuzz_member_cb, &b,
                          NULL) == rc);
  fuzz_check(a.members == b.members && a.sum == b.sum);
  return 0;
}
