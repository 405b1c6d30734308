/* test_http.c: the router and the request helpers of src/loop. */
#include <llhttp.h>
#include <stdlib.h>
#include <string.h>

#include "loop/http.h"
#include "test.h"

static void h_dummy(struct conn *c, const struct http_req *r) {
  (void)c;
  (void)r;
}

static const struct route routes[] = {
    {HTTP_GET, "/health", h_dummy, NULL},
    {HTTP_POST, "/v1/packages", h_dummy, NULL},
    {HTTP_GET, "/v1/packages", h_dummy, NULL},
    {HTTP_GET, "/v1/packages/{id}", h_dummy, NULL},
    {HTTP_PUT, "/v1/packages/{id}/files/{path...}", h_dummy, NULL},
    {HTTP_GET, "/v1/packages/{id}/files", h_dummy, NULL},
    {HTTP_HEAD, "/v1/files/{id}", h_dummy, NULL},
};

static const struct route *match(int method, const char *path, int *status,
                                 struct http_req *req, char *allow) {
  memset(req, 0, sizeof *req);
  return router_match(routes, ARRAY_SIZE(routes), method, path, strlen(path),
                      req, status, allow, 48);
}

static void test_router(void) {
  struct http_req req;
  char allow[48];
  int status;
  const struct route *r;

  r = match(HTTP_GET, "/health", &status, &req, allow);
  ASSERT(r == &routes[0]);
  ASSERT_EQ(status, 0);
  r = match(HTTP_HEAD, "/health", &status, &req, allow);
  ASSERT(r == &routes[0]); /* HEAD falls back to GET */
  r = match(HTTP_GET, "/healthz", &status, &req, allow);
  ASSERT(r == NULL);
  ASSERT_EQ(status, 404);
  r = match(HTTP_DELETE, "/v1/packages", &status, &req, allow);
  ASSERT(r == NULL);
  ASSERT_EQ(status, 405);
  ASSERT_STREQ(allow, "POST, GET, HEAD, OPTIONS"); /* HEAD wherever GET */
  r = match(HTTP_GET, "/v1/packages/abc", &status, &req, allow);
  ASSERT(r == &routes[3]);
  ASSERT_EQ(req.nparams, 1);
  ASSERT_EQ(req.params[0].n, 3);
  ASSERT(memcmp(req.params[0].p, "abc", 3) == 0);
  r = match(HTTP_PUT, "/v1/packages/p1/files/a/b/../c", &status, &req, allow);
  ASSERT(r == &routes[4]);
  ASSERT_EQ(req.nparams, 2);
  ASSERT_EQ(req.params[1].n, 8);
  ASSERT(memcmp(req.params[1].p, "a/b/../c", 8) == 0);
  r = match(HTTP_PUT, "/v1/packages/p1/files/", &status, &req, allow);
  ASSERT(r == NULL); /* empty rest does not match */
  r = match(HTTP_GET, "/v1/packages//files", &status, &req, allow);
  ASSERT(r == NULL); /* empty segment does not match */
  ASSERT_EQ(status, 404);
  r = match(HTTP_GET, "/v1/packages/p1/files/x", &status, &req, allow);
  ASSERT(r == NULL);
  ASSERT_EQ(status, 405);
  ASSERT_STREQ(allow, "PUT, OPTIONS");
  r = match(HTTP_POST, "/v1/files/x", &status, &req, allow);
  ASSERT(r == NULL);
  ASSERT_STREQ(allow, "HEAD, OPTIONS"); /* HEAD alone does not bring GET */
  /* OPTIONS: any known path, with Allow; `*` lists the whole table */
  r = match(HTTP_OPTIONS, "/v1/packages/p1", &status, &req, allow);
  ASSERT(r != NULL && r->handle != NULL);
  ASSERT_EQ(status, 0);
  ASSERT_EQ(req.nparams, 0);
  ASSERT_STREQ(allow, "GET, HEAD, OPTIONS");
  r = match(HTTP_OPTIONS, "*", &status, &req, allow);
  ASSERT(r != NULL);
  ASSERT_STREQ(allow, "GET, HEAD, POST, PUT, OPTIONS");
  r = match(HTTP_GET, "*", &status, &req, allow);
  ASSERT(r == NULL);
  ASSERT_EQ(status, 404);
  r = match(HTTP_OPTIONS, "/nope", &status, &req, allow);
  ASSERT(r == NULL);
  ASSERT_EQ(status, 404);
}

static void test_pct_decode(void) {
  char *out;
  size_t n;

  ASSERT_EQ(http_pct_decode("a%2e%2E/%20b", 12, &out, &n), 0);
  ASSERT_STREQ(out, "a../ b");
  ASSERT_EQ(n, 6);
  free(out);
  ASSERT_EQ(http_pct_decode("a%00b", 5, &out, &n), 0);
  ASSERT_EQ(n, 3);
  ASSERT(out[1] == '\0');
  free(out);
  ASSERT_EQ(http_pct_decode("%2", 2, &out, &n), UV_EINVAL);
  ASSERT_EQ(http_pct_decode("%", 1, &out, &n), UV_EINVAL);
  ASSERT_EQ(http_pct_decode("%g0", 3, &out, &n), UV_EINVAL);
  ASSERT_EQ(http_pct_decode("ab%4", 4, &out, &n), UV_EINVAL);
  ASSERT_EQ(http_pct_decode("", 0, &out, &n), 0);
  ASSERT_EQ(n, 0);
  free(out);
}

static void test_query_and_headers(void) {
  struct http_req req;
  char v[16];
  size_t n;
  static const char q[] =
      "since=5&limit=&wait&x=1&since=9&%73k%69p=%31%32&c=a+b%2B&bad=%4"
      "&nul=a%00&hex=%zz&big=123456789&%=1&k%=2";

  memset(&req, 0, sizeof req);
  req.query.p = q;
  req.query.n = strlen(q);
  ASSERT_EQ(http_query_value(&req, "since", v, sizeof v, &n), 0);
  ASSERT(n == 1 && strcmp(v, "5") == 0); /* the first one wins */
  ASSERT_EQ(http_query_value(&req, "limit", v, sizeof v, &n), 0);
  ASSERT(n == 0 && v[0] == '\0');
  ASSERT_EQ(http_query_value(&req, "wait", v, sizeof v, &n), 0);
  ASSERT_EQ(n, 0);
  ASSERT_EQ(http_query_value(&req, "sinc", v, sizeof v, &n), UV_ENOENT);
  ASSERT_EQ(http_query_value(&req, "x=1", v, sizeof v, &n), UV_ENOENT);
  /* names and values are percent-decoded; '+' is a plus */
  ASSERT_EQ(http_query_value(&req, "skip", v, sizeof v, &n), 0);
  ASSERT_STREQ(v, "12");
  ASSERT_EQ(http_query_value(&req, "c", v, sizeof v, &n), 0);
  ASSERT_STREQ(v, "a+b+");
  ASSERT_EQ(n, 4);
  ASSERT_EQ(http_query_value(&req, "bad", v, sizeof v, &n), UV_EINVAL);
  ASSERT_EQ(http_query_value(&req, "nul", v, sizeof v, &n), UV_EINVAL);
  ASSERT_EQ(http_query_value(&req, "hex", v, sizeof v, &n), UV_EINVAL);
  ASSERT_EQ(http_query_value(&req, "big", v, 9, &n), UV_ENOBUFS);
  ASSERT_EQ(http_query_value(&req, "big", v, 10, &n), 0);
  ASSERT_STREQ(v, "123456789");
  ASSERT_EQ(http_query_value(&req, "big", v, 0, &n), UV_ENOBUFS);
  ASSERT_EQ(http_query_value(&req, "k", v, sizeof v, &n), UV_ENOENT);
  ASSERT_EQ(http_query_value(&req, "", v, sizeof v, &n), UV_ENOENT);

  struct http_header hdr[1];
  req.headers = hdr;
  req.headers[0].name = "Accept";
  req.headers[0].value = "text/html, application/cbor;q=0.5";
  req.nheaders = 1;
  ASSERT(http_accepts(&req, "application/cbor"));
  ASSERT(!http_accepts(&req, "application/cbor-seq"));
  req.headers[0].value = "application/cbor-seq";
  ASSERT(http_accepts(&req, "application/cbor-seq"));
  ASSERT(!http_accepts(&req, "application/cbor"));
  req.headers[0].value = "application/cbor;q=0";
  ASSERT(!http_accepts(&req, "application/cbor"));
  req.headers[0].value = "application/xcbor";
  ASSERT(!http_accepts(&req, "application/cbor"));
  ASSERT_STREQ(http_header(&req, "ACCEPT"), "application/xcbor");
  ASSERT(http_header(&req, "content-type") == NULL);
}

TEST_MAIN(TEST_CASE(test_router), TEST_CASE(test_pct_decode),
          TEST_CASE(test_query_and_headers))
