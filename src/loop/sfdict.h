/*
 * sfdict.h: Structured Field Values (RFC 9651, which obsoletes RFC 8941)
 * Dictionaries, parsed strictly, for fields such as Repr-Digest and
 * Content-Digest (RFC 9530).
 *
 * The whole field is checked before anything is handed out: a field
 * malformed anywhere (a key, a value, a parameter, an inner list, the
 * separators) fails as a whole, as RFC 9651 section 4.2 asks.  Then the
 * callback runs once per member, in order, with the member's key, its
 * value (a bare item, or the text of an inner list) and its parameters'
 * text.  A key that comes again runs the callback again: RFC 9651 says
 * the last value wins, so a caller that keeps what it sees by key gets
 * exactly that.
 *
 * Nothing is allocated and nothing recurses beyond an inner list; every
 * span points into the field.  The field of several header lines is
 * their values joined with ", " (RFC 9110 section 5.3) by the caller.
 */
#ifndef AS_SFDICT_H
#define AS_SFDICT_H

#include <stddef.h>
#include <stdint.h>

#include "util/common.h"

enum sf_type {
  SF_INTEGER = 1, /* num */
  SF_DECIMAL,     /* num: the value times 1000 (at most 3 decimals) */
  SF_STRING,      /* text: between the quotes, escapes kept; len: unescaped */
  SF_TOKEN,       /* text */
  SF_BYTES,       /* text: the base64 between the colons; len: bytes */
  SF_BOOLEAN,     /* num: 0 or 1 */
  SF_DATE,        /* num: seconds since the epoch */
  SF_DISPLAY,     /* text: between %" and ", escapes kept; len: UTF-8 bytes */
  SF_INNER_LIST,  /* text: "(...)" as sent, without its parameters */
};

struct sf_item {
  enum sf_type type;
  const char *text;
  size_t text_len;
  int64_t num;
  size_t len;
};

struct sf_member {
  const char *key;
  size_t key_len;
  struct sf_item value; /* a key alone is the boolean true */
  const char *params;   /* ";k=v;k2" as sent (checked); params_len 0: none */
  size_t params_len;
};

/* Returns 0 to go on; anything else stops the parse and is returned. */
typedef int (*sfdict_cb)(const struct sf_member *m, void *arg);

/* Parses field[0..n) as a Dictionary; cb (may be NULL) runs per member
 * only when the whole field is well formed.  An empty field is an empty
 * dictionary.  0, cb's non-zero result, or UV_EINVAL with what is wrong
 * and where (a byte offset) in e; the message never quotes the field. */
int sfdict_parse(const char *field, size_t n, sfdict_cb cb, void *arg,
                 struct errbuf *e);

/* Decodes a byte sequence item into out, which has room for it->len. */
void sfdict_bytes_decode(const struct sf_item *it, uint8_t *out);

#endif
