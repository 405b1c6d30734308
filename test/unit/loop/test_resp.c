/*
 * test_resp.c: responses of src/loop as a client reads them off a real
 * socket (the harness: loop_harness.h).
 */
#include <llhttp.h>
#include <stdio.h>

#define T_LONG_HEADER_LEN 3000 /* past any fixed buffer for extra headers */

struct counts {
  unsigned problems;
};

#include "loop_harness.h"

/* GET /problem: a problem with extra headers longer than any fixed buffer
 * a head builder might use. */
static void problem_h(struct conn *c, const struct http_req *req) {
  char *extra = malloc(T_LONG_HEADER_LEN + 64);
  int n;

  (void)req;
  H(c)->n.problems++;
  ASSERT(extra != NULL);
  n = snprintf(extra, 64, "X-First: 1\r\nX-Long: ");
  memset(extra + n, 'L', T_LONG_HEADER_LEN);
  memcpy(extra + n + T_LONG_HEADER_LEN, "\r\nX-Last: 2\r\n",
         sizeof "\r\nX-Last: 2\r\n"); /* with its NUL */
  http_problem_with(c, PROB_RANGE_NOT_SATISFIABLE, extra, "the range %s",
                    "is not there");
  free(extra); /* http_problem_with copied what it needed */
}

static const struct route routes[] = {
    {HTTP_GET, "/problem", problem_h, NULL},
};

static void client_problem(struct harness *h) {
  static const char req[] = "GET /problem HTTP/1.1\r\nHost: t\r\n\r\n";
  struct reader r = {.fd = client_connect(h->port, 0)};
  struct resp p;
  const char *v;

  client_send(r.fd, req, sizeof req - 1);
  client_response(&r, &p);
  ASSERT_EQ(p.status, 416);
  ASSERT(strstr(p.head, "\r\nX-First: 1\r\n") != NULL);
  ASSERT(strstr(p.head, "\r\nX-Last: 2\r\n") != NULL);
  v = strstr(p.head, "\r\nX-Long: ");
  ASSERT(v != NULL);
  v += 10;
  ASSERT_EQ(strspn(v, "L"), T_LONG_HEADER_LEN);
  ASSERT(strncmp(v + T_LONG_HEADER_LEN, "\r\n", 2) == 0);
  ASSERT(strstr(p.body, "\"detail\":\"the range is not there\"") != NULL);
  close(r.fd);
}

/* Extra headers of a problem arrive whole, however long (they used to
 * be dropped silently past 256 bytes). */
static void test_problem_headers(void) {
  struct harness h;

  harness_run(&h, routes, ARRAY_SIZE(routes), client_problem, false);
  ASSERT_EQ(h.n.problems, 1);
}

TEST_MAIN(TEST_CASE(test_problem_headers))
