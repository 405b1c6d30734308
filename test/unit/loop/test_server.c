/*
 * test_server.c: server_new() and server_address() of src/loop: what they
 * refuse, and that a server that never served leaves nothing on its loop.
 */
#include <llhttp.h>
#include <stdbool.h>
#include <string.h>

#include "loop/http.h"
#include "test.h"

static void h_dummy(struct conn *c, const struct http_req *req) {
  (void)c;
  (void)req;
}

static const struct route routes[] = {
    {HTTP_GET, "/x", h_dummy, NULL},
};

/* --- server_address never hands out a cut address --- */

static void address_stopped_cb(struct server *s, void *arg) {
  server_free(s);
  *(bool *)arg = true;
}

static void test_address(void) {
  struct server_opts o = {.host = "127.0.0.1", .port = 0, .max_conns = 1,
                          .routes = routes, .nroutes = ARRAY_SIZE(routes)};
  struct errbuf e = {{0}};
  struct server *srv;
  uv_loop_t loop;
  char addr[80], tiny[8] = "garbage";
  bool stopped = false;

  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(server_new(&loop, &o, &srv, &e), 0);
  ASSERT_EQ(server_address(srv, addr, sizeof addr), 0);
  ASSERT(strncmp(addr, "127.0.0.1:", 10) == 0);
  ASSERT_EQ(server_address(srv, tiny, sizeof tiny), UV_ENOBUFS);
  ASSERT_STREQ(tiny, "");
  server_stop(srv, 0, address_stopped_cb, &stopped);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT(stopped);
  ASSERT_EQ(uv_loop_close(&loop), 0);
}

/* --- server_new refuses a table whose 405 Allow could be cut --- */

static void test_allow_fits(void) {
  static const struct route many[] = {
      {HTTP_GET, "/x", h_dummy, NULL},     {HTTP_HEAD, "/x", h_dummy, NULL},
      {HTTP_POST, "/x", h_dummy, NULL},    {HTTP_PUT, "/x", h_dummy, NULL},
      {HTTP_DELETE, "/x", h_dummy, NULL},  {HTTP_PATCH, "/x", h_dummy, NULL},
      {HTTP_OPTIONS, "/x", h_dummy, NULL}, {HTTP_PROPFIND, "/x", h_dummy, NULL},
      {HTTP_GET, "/y", h_dummy, NULL},
  };
  struct server_opts o = {.host = "127.0.0.1", .port = 0, .max_conns = 1,
                          .routes = many, .nroutes = ARRAY_SIZE(many)};
  struct errbuf e = {{0}};
  struct server *srv = NULL;
  uv_loop_t loop;

  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(server_new(&loop, &o, &srv, &e), UV_EINVAL);
  ASSERT(srv == NULL);
  ASSERT(strstr(e.msg, "Allow") != NULL);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);
}

TEST_MAIN(TEST_CASE(test_address), TEST_CASE(test_allow_fits))
