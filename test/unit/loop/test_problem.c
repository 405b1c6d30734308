/*
 * test_problem.c: the problem table (src/loop/problem.c) and the Problems
 * table of docs/API.md say the same: every problem type has exactly one
 * row in the docs with its status and title, and the docs list no slug the
 * server does not send.  A drift fails here with every difference listed.
 *
 * docs/API.md is found under $AS_SOURCE_ROOT (test/meson.build sets it).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop/problem.h"

#include "test.h"

#define DOC_MAX (1024 * 1024)    /* bytes of docs/API.md we read */
#define DOC_ROWS_MAX 128          /* rows of the Problems table */
#define DOC_CELL_MAX 128          /* bytes of a slug or title cell */

static const char doc_section[] = "## Problems";
static const char doc_header[] = "| slug | status | title | meaning |";

struct doc_row {
  char slug[DOC_CELL_MAX];
  char title[DOC_CELL_MAX];
  int status;
  int line;
};

struct doc_table {
  struct doc_row rows[DOC_ROWS_MAX];
  size_t n;
};

/* The whole of docs/API.md, NUL-terminated (free it). */
static char *doc_read(void) {
  const char *root = getenv("AS_SOURCE_ROOT");
  char path[4096];
  FILE *f;
  char *text;
  size_t n;

  if (root == NULL) {
    fprintf(stderr, "AS_SOURCE_ROOT is not set: run through meson test, or "
                    "set it to the source tree\n");
    abort();
  }
  ASSERT((size_t)snprintf(path, sizeof path, "%s/docs/API.md", root) <
         sizeof path);
  f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s\n", path);
    abort();
  }
  text = malloc(DOC_MAX + 1);
  ASSERT(text != NULL);
  n = fread(text, 1, DOC_MAX, f);
  ASSERT(!ferror(f) && n < DOC_MAX);
  fclose(f);
  text[n] = '\0';
  return text;
}

/* Copies cell [p, end) without surrounding blanks and, for code, the
 * backquotes around it. */
static void doc_cell(const char *p, const char *end, bool code, char *out) {
  while (p < end && *p == ' ')
    p++;
  while (end > p && end[-1] == ' ')
    end--;
  if (code && end - p >= 2 && *p == '`' && end[-1] == '`') {
    p++;
    end--;
  }
  ASSERT(end - p < DOC_CELL_MAX);
  memcpy(out, p, (size_t)(end - p));
  out[end - p] = '\0';
}

/* One row "| `slug` | status | title | meaning |"; the meaning may hold
 * anything but is not checked. */
static void doc_row_parse(const char *line, const char *eol, int lineno,
                          struct doc_row *r) {
  const char *bar[4];
  const char *p = line;
  char status[DOC_CELL_MAX], *end;

  for (size_t i = 0; i < 4; i++) {
    p = memchr(p, '|', (size_t)(eol - p));
    if (p == NULL) {
      fprintf(stderr, "docs/API.md:%d: a Problems row needs 4 cells\n",
              lineno);
      abort();
    }
    bar[i] = p++;
  }
  doc_cell(bar[0] + 1, bar[1], true, r->slug);
  doc_cell(bar[1] + 1, bar[2], false, status);
  doc_cell(bar[2] + 1, bar[3], false, r->title);
  r->status = (int)strtol(status, &end, 10);
  if (status[0] == '\0' || *end != '\0') {
    fprintf(stderr, "docs/API.md:%d: status \"%s\" is not a number\n", lineno,
            status);
    abort();
  }
  r->line = lineno;
}

/* The rows of the table under "## Problems". */
static void doc_table_read(struct doc_table *t) {
  char *text = doc_read();
  const char *p = text;
  int lineno = 0;
  enum { BEFORE, SECTION, SEPARATOR, ROWS, DONE } at = BEFORE;

  t->n = 0;
  while (*p != '\0' && at != DONE) {
    const char *eol = strchr(p, '\n');
    size_t len;

    if (eol == NULL)
      eol = p + strlen(p);
    len = (size_t)(eol - p);
    lineno++;
    switch (at) {
    case BEFORE:
      if (len == sizeof doc_section - 1 && memcmp(p, doc_section, len) == 0)
        at = SECTION;
      break;
    case SECTION:
      if (len >= 2 && p[0] == '#' && p[1] == '#') {
        fprintf(stderr, "docs/API.md: no \"%s\" table under \"%s\"\n",
                doc_header, doc_section);
        abort();
      }
      if (len == sizeof doc_header - 1 && memcmp(p, doc_header, len) == 0)
        at = SEPARATOR;
      break;
    case SEPARATOR:
      ASSERT(len > 0 && p[0] == '|'); /* |---|---|---|---| */
      at = ROWS;
      break;
    case ROWS:
      if (len == 0 || p[0] != '|') {
        at = DONE;
        break;
      }
      ASSERT(t->n < DOC_ROWS_MAX);
      doc_row_parse(p, eol, lineno, &t->rows[t->n++]);
      break;
    case DONE:
      break;
    }
    p = *eol == '\n' ? eol + 1 : eol;
  }
  free(text);
  if (at != ROWS && at != DONE) {
    fprintf(stderr, "docs/API.md: no \"%s\" table under \"%s\"\n", doc_header,
            doc_section);
    abort();
  }
}

static const struct doc_row *doc_find(const struct doc_table *t,
                                      const char *slug) {
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->rows[i].slug, slug) == 0)
      return &t->rows[i];
  return NULL;
}

/* Every problem type is documented with its status and title. */
static void test_documented(void) {
  static struct doc_table t;
  int drift = 0;

  doc_table_read(&t);
  for (int id = 0; id < PROB_COUNT; id++) {
    const struct problem *p = problem_get((enum problem_id)id);
    const struct doc_row *r = doc_find(&t, p->slug);

    if (r == NULL) {
      fprintf(stderr, "docs/API.md: no row for \"%s\" (%d, \"%s\")\n",
              p->slug, p->status, p->title);
      drift++;
      continue;
    }
    if (r->status != p->status) {
      fprintf(stderr, "docs/API.md:%d: \"%s\" has status %d, the server "
                      "sends %d\n", r->line, p->slug, r->status, p->status);
      drift++;
    }
    if (strcmp(r->title, p->title) != 0) {
      fprintf(stderr, "docs/API.md:%d: \"%s\" has title \"%s\", the server "
                      "sends \"%s\"\n", r->line, p->slug, r->title, p->title);
      drift++;
    }
  }
  ASSERT_EQ(drift, 0);
}

/* The docs list each slug once, and none the server does not send. */
static void test_no_stray_rows(void) {
  static struct doc_table t;
  int drift = 0;

  doc_table_read(&t);
  ASSERT(t.n > 0);
  for (size_t i = 0; i < t.n; i++) {
    const struct doc_row *r = &t.rows[i];
    bool known = false;

    for (int id = 0; id < PROB_COUNT && !known; id++)
      known = strcmp(problem_get((enum problem_id)id)->slug, r->slug) == 0;
    if (!known) {
      fprintf(stderr, "docs/API.md:%d: \"%s\" is not a problem type of "
                      "src/loop/problem.c\n", r->line, r->slug);
      drift++;
    }
    if (doc_find(&t, r->slug) != r) {
      fprintf(stderr, "docs/API.md:%d: \"%s\" is listed twice\n", r->line,
              r->slug);
      drift++;
    }
  }
  ASSERT_EQ(drift, 0);
}

/* The table itself: every id filled, slugs unique, error statuses. */
static void test_table(void) {
  for (int id = 0; id < PROB_COUNT; id++) {
    const struct problem *p = problem_get((enum problem_id)id);

    ASSERT(p->slug != NULL && p->slug[0] != '\0');
    ASSERT(p->title != NULL && p->title[0] != '\0');
    ASSERT(p->status >= 400 && p->status <= 599);
    for (int other = 0; other < id; other++)
      ASSERT(strcmp(problem_get((enum problem_id)other)->slug, p->slug) != 0);
  }
}

TEST_MAIN(TEST_CASE(test_table), TEST_CASE(test_documented),
          TEST_CASE(test_no_stray_rows))
