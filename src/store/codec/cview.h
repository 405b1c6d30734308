/*
 * cview.h: reading fields of a canonical CBOR map in place (no item tree,
 * no allocation), for the view handlers that run once per event on the
 * writer thread and in replay.  The payloads were encoded by ccbor.c and
 * are pinned by their digests; this reader checks what it relies on
 * (bounds, types, the subset's majors, strictly increasing keys, UTF-8
 * without U+0000 in the text it returns) and walks past what it does not
 * read.  ccbor_decode remains the strict decoder for whole documents.
 */
#ifndef AS_CVIEW_H
#define AS_CVIEW_H

#include <stddef.h>
#include <stdint.h>

/* One encoded item: its bytes. */
struct cview {
  const uint8_t *p;
  size_t n;
};

/* Finds the values of nkeys keys (C strings) in the map m, in one pass:
 * out[i] is the value of keys[i], or {NULL, 0} when absent.  0, or
 * UV_EPROTO when m is not a well-formed map of the subset (wrong type,
 * truncated, keys not text or not in canonical order, trailing bytes). */
int cview_map(const struct cview *m, const char *const *keys, size_t nkeys,
              struct cview *out);
/* The text of v: 0 with *s (not NUL-terminated) and *n set, or UV_EPROTO
 * when v is not a text string of valid UTF-8 without U+0000. */
int cview_text(const struct cview *v, const char **s, size_t *n);
/* 0 with *out set, or UV_EPROTO when v is not an integer of the subset. */
int cview_int(const struct cview *v, int64_t *out);
/* Whether v is a map (its first byte; cview_map checks the rest). */
int cview_is_map(const struct cview *v);
/* Whether v is the simple value null. */
int cview_is_null(const struct cview *v);

#endif
