/*
 * sfdict.c: the Dictionary parser of RFC 9651 (Structured Field Values,
 * which obsoletes RFC 8941), following its parsing algorithms (section
 * 4.2) step by step, so a field is accepted exactly when the RFC's
 * algorithm accepts it:
 *
 *   - leading and trailing SP around the field; OWS (SP or HTAB) around
 *     the ',' between members; SP only inside inner lists and after ';';
 *   - keys: lowercase letter or '*', then lowercase letters, digits and
 *     "_-.*"; a key alone is the boolean true, with parameters;
 *   - integers: 1..15 digits; decimals: 1..12 digits, '.', 1..3 digits;
 *   - strings: printable ASCII, escapes only \" and \\;
 *   - tokens: ALPHA or '*', then tchar, ':' and '/';
 *   - byte sequences: ':' base64 ':'.  Characters outside the base64
 *     alphabet fail (the RFC's MUST).  Padding is either absent or
 *     complete and only at the end (base64 itself, RFC 4648); missing
 *     padding and non-zero pad bits are accepted, as RFC 9651 says
 *     parsers SHOULD;
 *   - booleans ?0 and ?1; dates '@' integer; display strings %"..."
 *     with lowercase %xx escapes of valid UTF-8 (the two RFC 9651 types).
 *
 * The first pass checks the whole field without calling back; the second
 * calls back per member, so callers never see part of a bad field.
 */
#include <stdbool.h>
#include <string.h>

#include "loop/sfdict.h"
#include "util/hex.h"
#include "util/utf8.h"

#define SF_INT_DIGITS_MAX 15
#define SF_DEC_INT_DIGITS_MAX 12
#define SF_DEC_FRAC_DIGITS_MAX 3

struct sfp {
  const char *start, *p, *end;
  struct errbuf *e;
};

static int sf_fail(struct sfp *x, const char *what) {
  return err_set(x->e, UV_EINVAL, "at byte %zu: %s",
                 (size_t)(x->p - x->start), what);
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_lcalpha(char c) { return c >= 'a' && c <= 'z'; }
static bool is_ucalpha(char c) { return c >= 'A' && c <= 'Z'; }
static bool is_alpha(char c) { return is_lcalpha(c) || is_ucalpha(c); }

static bool is_keychar(char c) {
  return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' ||
         c == '*';
}

/* tchar (RFC 9110 section 5.6.2), plus ':' and '/' for tokens. */
static bool is_tokenchar(char c) {
  return is_alpha(c) || is_digit(c) ||
         (c != '\0' && strchr("!#$%&'*+-.^_`|~:/", c) != NULL);
}

static int b64_val(char c) {
  if (is_ucalpha(c))
    return c - 'A';
  if (is_lcalpha(c))
    return c - 'a' + 26;
  if (is_digit(c))
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

static bool sf_at(const struct sfp *x, char c) {
  return x->p < x->end && *x->p == c;
}

static void skip_sp(struct sfp *x) {
  while (sf_at(x, ' '))
    x->p++;
}

static void skip_ows(struct sfp *x) {
  while (x->p < x->end && (*x->p == ' ' || *x->p == '\t'))
    x->p++;
}

static int parse_key(struct sfp *x, const char **key, size_t *len) {
  const char *k = x->p;

  if (x->p == x->end)
    return sf_fail(x, "a key is missing");
  if (is_ucalpha(*x->p))
    return sf_fail(x, "keys are lowercase");
  if (!is_lcalpha(*x->p) && *x->p != '*')
    return sf_fail(x, "a key must start with a lowercase letter or '*'");
  while (x->p < x->end && is_keychar(*x->p))
    x->p++;
  if (x->p < x->end && is_ucalpha(*x->p))
    return sf_fail(x, "keys are lowercase");
  *key = k;
  *len = (size_t)(x->p - k);
  return 0;
}

/* Integer or Decimal (RFC 9651 section 4.2.4); Dates reuse it. */
static int parse_number(struct sfp *x, struct sf_item *it) {
  int64_t ip = 0, frac = 0;
  int digits = 0, fdigits = -1; /* -1: no '.' yet */
  bool neg = false;

  if (sf_at(x, '-')) {
    neg = true;
    x->p++;
  }
  if (x->p == x->end || !is_digit(*x->p))
    return sf_fail(x, "a number needs a digit");
  for (; x->p < x->end; x->p++) {
    char c = *x->p;
    if (is_digit(c) && fdigits < 0) {
      if (++digits > SF_INT_DIGITS_MAX)
        return sf_fail(x, "an integer has at most 15 digits");
      ip = ip * 10 + (c - '0');
    } else if (is_digit(c)) {
      if (++fdigits > SF_DEC_FRAC_DIGITS_MAX)
        return sf_fail(x, "a decimal has at most 3 digits after '.'");
      frac = frac * 10 + (c - '0');
    } else if (c == '.' && fdigits < 0) {
      if (digits > SF_DEC_INT_DIGITS_MAX)
        return sf_fail(x, "a decimal has at most 12 digits before '.'");
      fdigits = 0;
    } else {
      break;
    }
  }
  if (fdigits == 0)
    return sf_fail(x, "a decimal needs a digit after '.'");
  if (fdigits < 0) {
    it->type = SF_INTEGER;
    it->num = neg ? -ip : ip;
  } else {
    for (int i = fdigits; i < SF_DEC_FRAC_DIGITS_MAX; i++)
      frac *= 10;
    it->type = SF_DECIMAL;
    it->num = (neg ? -1 : 1) * (ip * 1000 + frac);
  }
  return 0;
}

static int parse_string(struct sfp *x, struct sf_item *it) {
  const char *s = ++x->p; /* after '"' */
  size_t len = 0;

  while (x->p < x->end) {
    char c = *x->p;
    if (c == '"') {
      it->type = SF_STRING;
      it->text = s;
      it->text_len = (size_t)(x->p - s);
      it->len = len;
      x->p++;
      return 0;
    }
    if (c == '\\') {
      x->p++;
      if (x->p == x->end)
        return sf_fail(x, "a string ends inside an escape");
      if (*x->p != '"' && *x->p != '\\')
        return sf_fail(x, "in a string only \\\" and \\\\ are escapes");
    } else if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e) {
      return sf_fail(x, "a string holds printable ASCII only");
    }
    x->p++;
    len++;
  }
  return sf_fail(x, "a string has no closing '\"'");
}

static int parse_token(struct sfp *x, struct sf_item *it) {
  const char *s = x->p++; /* ALPHA or '*', checked by the caller */

  while (x->p < x->end && is_tokenchar(*x->p))
    x->p++;
  it->type = SF_TOKEN;
  it->text = s;
  it->text_len = (size_t)(x->p - s);
  return 0;
}

static int parse_bytes(struct sfp *x, struct sf_item *it) {
  const char *s = ++x->p; /* after ':' */
  const char *colon = memchr(s, ':', (size_t)(x->end - s));
  size_t n, pad = 0;

  if (colon == NULL)
    return sf_fail(x, "a byte sequence has no closing ':'");
  for (; x->p < colon; x->p++) {
    if (*x->p == '=') {
      pad++;
    } else if (b64_val(*x->p) < 0) {
      return sf_fail(x, "a byte sequence holds base64 characters only "
                        "(A-Z a-z 0-9 + / =)");
    } else if (pad > 0) {
      return sf_fail(x, "base64 padding '=' comes only at the end");
    }
  }
  n = (size_t)(colon - s);
  if (pad > 2 || (pad > 0 && n % 4 != 0))
    return sf_fail(x, "base64 padding must be complete: 4 characters per "
                      "group, at most two '='");
  n -= pad;
  if (n % 4 == 1)
    return sf_fail(x, "base64 cannot be one character longer than a group "
                      "of 4");
  it->type = SF_BYTES;
  it->text = s;
  it->text_len = n; /* without the padding */
  it->len = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
  x->p = colon + 1;
  return 0;
}

static int parse_boolean(struct sfp *x, struct sf_item *it) {
  x->p++; /* '?' */
  if (!sf_at(x, '0') && !sf_at(x, '1'))
    return sf_fail(x, "a boolean is ?0 or ?1");
  it->type = SF_BOOLEAN;
  it->num = *x->p++ == '1';
  return 0;
}

static int parse_date(struct sfp *x, struct sf_item *it) {
  int rc;

  x->p++; /* '@' */
  if ((rc = parse_number(x, it)) != 0)
    return rc;
  if (it->type != SF_INTEGER)
    return sf_fail(x, "a date is an integer number of seconds");
  it->type = SF_DATE;
  return 0;
}

/* The next byte of a display string's text at *i: a character or a %xx
 * escape (already checked). */
static uint8_t display_byte(const char *t, size_t *i) {
  if (t[*i] != '%')
    return (uint8_t)t[(*i)++];
  *i += 3;
  return (uint8_t)(hex_val_lower(t[*i - 2]) << 4 | hex_val_lower(t[*i - 1]));
}

static int parse_display(struct sfp *x, struct sf_item *it) {
  const char *s;
  size_t n, i = 0, len = 0;

  x->p++; /* '%' */
  if (!sf_at(x, '"'))
    return sf_fail(x, "a display string starts with %\"");
  s = ++x->p;
  for (;; x->p++) {
    unsigned char c;
    if (x->p == x->end)
      return sf_fail(x, "a display string has no closing '\"'");
    c = (unsigned char)*x->p;
    if (c == '"')
      break;
    if (c < 0x20 || c > 0x7e)
      return sf_fail(x, "a display string holds printable ASCII only");
    if (c == '%') {
      if (x->end - x->p < 3 || hex_val_lower(x->p[1]) < 0 ||
          hex_val_lower(x->p[2]) < 0)
        return sf_fail(x, "in a display string '%' starts two lowercase "
                          "hex digits");
      x->p += 2;
    }
  }
  n = (size_t)(x->p - s);
  /* the decoded bytes must be UTF-8: check them a sequence at a time */
  while (i < n) {
    uint8_t seq[4];
    size_t k = 0, at = i, used;
    uint32_t cp;
    while (k < sizeof seq && at < n)
      seq[k++] = display_byte(s, &at);
    used = utf8_decode(seq, k, &cp);
    if (used == 0)
      return sf_fail(x, "a display string is not valid UTF-8");
    for (size_t j = 0; j < used; j++)
      display_byte(s, &i);
    len += used;
  }
  it->type = SF_DISPLAY;
  it->text = s;
  it->text_len = n;
  it->len = len;
  x->p++; /* the closing '"' */
  return 0;
}

static int parse_bare_item(struct sfp *x, struct sf_item *it) {
  char c;

  memset(it, 0, sizeof *it);
  if (x->p == x->end)
    return sf_fail(x, "a value is missing");
  c = *x->p;
  if (c == '-' || is_digit(c))
    return parse_number(x, it);
  if (c == '"')
    return parse_string(x, it);
  if (is_alpha(c) || c == '*')
    return parse_token(x, it);
  if (c == ':')
    return parse_bytes(x, it);
  if (c == '?')
    return parse_boolean(x, it);
  if (c == '@')
    return parse_date(x, it);
  if (c == '%')
    return parse_display(x, it);
  return sf_fail(x, "not the start of a value (a number, \"string\", token, "
                    ":base64:, ?0/?1, @date or %\"display\")");
}

static int parse_params(struct sfp *x, const char **params, size_t *len) {
  const char *s = x->p;
  struct sf_item scratch;
  const char *k;
  size_t kn;
  int rc;

  while (sf_at(x, ';')) {
    x->p++;
    skip_sp(x);
    if ((rc = parse_key(x, &k, &kn)) != 0)
      return rc;
    if (sf_at(x, '=')) {
      x->p++;
      if ((rc = parse_bare_item(x, &scratch)) != 0)
        return rc;
    }
  }
  *params = s;
  *len = (size_t)(x->p - s);
  return 0;
}

static int parse_inner_list(struct sfp *x, struct sf_item *it) {
  const char *s = x->p++; /* '(' */
  struct sf_item scratch;
  const char *pp;
  size_t pn;
  int rc;

  for (;;) {
    skip_sp(x);
    if (x->p == x->end)
      return sf_fail(x, "an inner list has no closing ')'");
    if (*x->p == ')') {
      x->p++;
      break;
    }
    if ((rc = parse_bare_item(x, &scratch)) != 0 ||
        (rc = parse_params(x, &pp, &pn)) != 0)
      return rc;
    if (x->p < x->end && *x->p != ' ' && *x->p != ')')
      return sf_fail(x, "items of an inner list are separated by spaces");
  }
  memset(it, 0, sizeof *it);
  it->type = SF_INNER_LIST;
  it->text = s;
  it->text_len = (size_t)(x->p - s);
  return 0;
}

static int parse_member(struct sfp *x, struct sf_member *m) {
  int rc;

  memset(m, 0, sizeof *m);
  if ((rc = parse_key(x, &m->key, &m->key_len)) != 0)
    return rc;
  if (!sf_at(x, '=')) {
    m->value.type = SF_BOOLEAN;
    m->value.num = 1;
  } else {
    x->p++;
    rc = sf_at(x, '(') ? parse_inner_list(x, &m->value)
                       : parse_bare_item(x, &m->value);
    if (rc != 0)
      return rc;
  }
  return parse_params(x, &m->params, &m->params_len);
}

static int parse_dictionary(struct sfp *x, sfdict_cb cb, void *arg) {
  struct sf_member m;
  int rc;

  while (x->p < x->end) {
    if ((rc = parse_member(x, &m)) != 0)
      return rc;
    if (cb != NULL && (rc = cb(&m, arg)) != 0)
      return rc;
    skip_ows(x);
    if (x->p == x->end)
      return 0;
    if (*x->p != ',')
      return sf_fail(x, "members are separated by ','");
    x->p++;
    skip_ows(x);
    if (x->p == x->end)
      return sf_fail(x, "the field ends with ','");
  }
  return 0;
}

/* RFC 9651 section 4.2: SP, the dictionary, SP, nothing else. */
static int sfdict_pass(const char *field, size_t n, sfdict_cb cb, void *arg,
                       struct errbuf *e) {
  struct sfp x = {field, field, field + n, e};
  int rc;

  skip_sp(&x);
  if ((rc = parse_dictionary(&x, cb, arg)) != 0)
    return rc;
  skip_sp(&x);
  return x.p == x.end ? 0 : sf_fail(&x, "text after the last member");
}

int sfdict_parse(const char *field, size_t n, sfdict_cb cb, void *arg,
                 struct errbuf *e) {
  int rc;

  /* HTAB is the one control character a field may hold (as OWS) */
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)field[i] > 0x7e ||
        ((unsigned char)field[i] < 0x20 && field[i] != '\t')) {
      struct sfp x = {field, field + i, field + n, e};
      return sf_fail(&x, "a structured field holds printable ASCII only");
    }
  rc = sfdict_pass(field, n, NULL, NULL, e);
  if (rc == 0 && cb != NULL)
    rc = sfdict_pass(field, n, cb, arg, e);
  return rc;
}

void sfdict_bytes_decode(const struct sf_item *it, uint8_t *out) {
  uint32_t acc = 0;
  int bits = 0;

  for (size_t i = 0; i < it->text_len; i++) {
    acc = acc << 6 | (uint32_t)b64_val(it->text[i]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *out++ = (uint8_t)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
}
