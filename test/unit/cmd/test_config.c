/* test_config.c: command-line parsing (src/cmd/config.c). */
#include "cmd/config.h"
#include "test.h"

static int parse(struct config *cfg, struct errbuf *e, const char *a1,
                 const char *a2, const char *a3, const char *a4) {
  char *argv[6] = {"artifactstored", (char *)a1, (char *)a2, (char *)a3,
                   (char *)a4, NULL};
  int argc = 1;
  while (argc < 5 && argv[argc] != NULL)
    argc++;
  e->msg[0] = '\0';
  return config_parse(argc, argv, cfg, e);
}

static void test_defaults(void) {
  struct config cfg;
  struct errbuf e;

  ASSERT_EQ(parse(&cfg, &e, NULL, NULL, NULL, NULL), 0);
  ASSERT_EQ(cfg.cmd, CMD_DAEMON);
  ASSERT_STREQ(cfg.listen_host, "127.0.0.1");
  ASSERT_EQ(cfg.listen_port, 8080);
  ASSERT_STREQ(cfg.data_dir, "./var");
  ASSERT(!cfg.check);
}

static void test_listen_forms(void) {
  struct config cfg;
  struct errbuf e;

  ASSERT_EQ(parse(&cfg, &e, "--listen", "0.0.0.0:9000", "--data", "/srv/a"), 0);
  ASSERT_STREQ(cfg.listen_host, "0.0.0.0");
  ASSERT_EQ(cfg.listen_port, 9000);
  ASSERT_STREQ(cfg.data_dir, "/srv/a");
  ASSERT_EQ(parse(&cfg, &e, "--listen", "[::1]:0", NULL, NULL), 0);
  ASSERT_STREQ(cfg.listen_host, "::1");
  ASSERT_EQ(cfg.listen_port, 0);
  ASSERT_EQ(parse(&cfg, &e, "--listen", "localhost:65535", NULL, NULL), 0);
  ASSERT_EQ(cfg.listen_port, 65535);
}

/* Each malformed --listen value is refused with a message naming it. */
static void test_listen_rejects(void) {
  static const char *bad[] = {"127.0.0.1", ":", "[]:80", "h:", "h:65536", "h:-1",
                              "h:80x", "[::1]80", "[::1", "h: 80", "h:+80",
                              "h:0x50"};
  struct config cfg;
  struct errbuf e;

  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    ASSERT_EQ(parse(&cfg, &e, "--listen", bad[i], NULL, NULL), UV_EINVAL);
    ASSERT(strstr(e.msg, "--listen") != NULL);
  }
}

static void test_commands(void) {
  struct config cfg;
  struct errbuf e;

  ASSERT_EQ(parse(&cfg, &e, "--replay", "--check", "--data", "d"), 0);
  ASSERT_EQ(cfg.cmd, CMD_REPLAY);
  ASSERT(cfg.check);
  ASSERT_EQ(parse(&cfg, &e, "--verify-log", NULL, NULL, NULL), 0);
  ASSERT_EQ(cfg.cmd, CMD_VERIFY_LOG);
  ASSERT(!cfg.blobs);
  ASSERT_EQ(parse(&cfg, &e, "--blobs", "--verify-log", "--data", "d"), 0);
  ASSERT_EQ(cfg.cmd, CMD_VERIFY_LOG);
  ASSERT(cfg.blobs);
  ASSERT_EQ(parse(&cfg, &e, "--version", NULL, NULL, NULL), 0);
  ASSERT_EQ(cfg.cmd, CMD_VERSION);
}

/* Conflicting, misplaced, unknown and incomplete arguments. */
static void test_command_errors(void) {
  struct config cfg;
  struct errbuf e;

  ASSERT_EQ(parse(&cfg, &e, "--replay", "--verify-log", NULL, NULL), UV_EINVAL);
  ASSERT(strstr(e.msg, "exclusive") != NULL);
  ASSERT_EQ(parse(&cfg, &e, "--check", NULL, NULL, NULL), UV_EINVAL);
  ASSERT(strstr(e.msg, "--check only goes with --replay") != NULL);
  ASSERT_EQ(parse(&cfg, &e, "--replay", "--blobs", NULL, NULL), UV_EINVAL);
  ASSERT(strstr(e.msg, "--blobs only goes with --verify-log") != NULL);
  ASSERT_EQ(parse(&cfg, &e, "--bogus", NULL, NULL, NULL), UV_EINVAL);
  ASSERT(strstr(e.msg, "--bogus") != NULL);
  ASSERT_EQ(parse(&cfg, &e, "stray", NULL, NULL, NULL), UV_EINVAL);
  ASSERT(strstr(e.msg, "stray") != NULL);
  ASSERT_EQ(parse(&cfg, &e, "--data", "", NULL, NULL), UV_EINVAL);
  ASSERT_EQ(parse(&cfg, &e, "--listen", NULL, NULL, NULL), UV_EINVAL);
}

/* --init and --verify-recent: the daemon's, checked numbers. */
static void test_start_flags(void) {
  struct config cfg;
  struct errbuf e;

  ASSERT_EQ(parse(&cfg, &e, NULL, NULL, NULL, NULL), 0);
  ASSERT(!cfg.init);
  ASSERT_EQ(cfg.verify_recent, CONFIG_DEFAULT_VERIFY_RECENT);
  ASSERT_EQ(parse(&cfg, &e, "--init", "--verify-recent", "0", NULL), 0);
  ASSERT(cfg.init);
  ASSERT_EQ(cfg.verify_recent, 0);
  ASSERT_EQ(parse(&cfg, &e, "--verify-recent", "250000", NULL, NULL), 0);
  ASSERT_EQ(cfg.verify_recent, 250000);
  ASSERT_EQ(parse(&cfg, &e, "--verify-recent", "-1", NULL, NULL), UV_EINVAL);
  ASSERT(strstr(e.msg, "--verify-recent") != NULL);
  ASSERT_EQ(parse(&cfg, &e, "--verify-recent", "10x", NULL, NULL), UV_EINVAL);
  ASSERT_EQ(parse(&cfg, &e, "--verify-recent", "99999999999999999999", NULL,
                  NULL), UV_EINVAL);
  ASSERT_EQ(parse(&cfg, &e, "--verify-log", "--init", NULL, NULL), UV_EINVAL);
  ASSERT(strstr(e.msg, "only go with the daemon") != NULL);
  ASSERT_EQ(parse(&cfg, &e, "--replay", "--verify-recent", "5", NULL),
            UV_EINVAL);
  /* --send-timeout: seconds, 0 (never) to a day */
  ASSERT_EQ(parse(&cfg, &e, NULL, NULL, NULL, NULL), 0);
  ASSERT_EQ(cfg.send_timeout, CONFIG_DEFAULT_SEND_TIMEOUT);
  ASSERT_EQ(parse(&cfg, &e, "--send-timeout", "0", NULL, NULL), 0);
  ASSERT_EQ(cfg.send_timeout, 0);
  ASSERT_EQ(parse(&cfg, &e, "--send-timeout", "86400", NULL, NULL), 0);
  ASSERT_EQ(cfg.send_timeout, 86400);
  ASSERT_EQ(parse(&cfg, &e, "--send-timeout", "86401", NULL, NULL), UV_EINVAL);
  ASSERT(strstr(e.msg, "--send-timeout") != NULL);
  ASSERT_EQ(parse(&cfg, &e, "--send-timeout", "-1", NULL, NULL), UV_EINVAL);
  ASSERT_EQ(parse(&cfg, &e, "--send-timeout", "1s", NULL, NULL), UV_EINVAL);
  ASSERT_EQ(parse(&cfg, &e, "--replay", "--send-timeout", "5", NULL),
            UV_EINVAL);
  /* the sweeper's seconds (issue 13): defaults, 0, bounds */
  ASSERT_EQ(parse(&cfg, &e, NULL, NULL, NULL, NULL), 0);
  ASSERT_EQ(cfg.sweep_interval, 60);
  ASSERT_EQ(cfg.open_package_ttl, 86400);
  ASSERT_EQ(cfg.gc_grace, 3600);
  ASSERT_EQ(cfg.trash_ttl, 86400);
  ASSERT_EQ(parse(&cfg, &e, "--sweep-interval", "0", "--gc-grace", "0"), 0);
  ASSERT_EQ(cfg.sweep_interval, 0);
  ASSERT_EQ(cfg.gc_grace, 0);
  ASSERT_EQ(parse(&cfg, &e, "--open-package-ttl", "7", "--trash-ttl", "9"),
            0);
  ASSERT_EQ(cfg.open_package_ttl, 7);
  ASSERT_EQ(cfg.trash_ttl, 9);
  ASSERT_EQ(parse(&cfg, &e, "--trash-ttl", "3153600000", NULL, NULL), 0);
  ASSERT_EQ(parse(&cfg, &e, "--trash-ttl", "3153600001", NULL, NULL),
            UV_EINVAL);
  ASSERT(strstr(e.msg, "--trash-ttl") != NULL);
  ASSERT_EQ(parse(&cfg, &e, "--gc-grace", "-1", NULL, NULL), UV_EINVAL);
  ASSERT(strstr(e.msg, "--gc-grace \"-1\"") != NULL);
  ASSERT_EQ(parse(&cfg, &e, "--sweep-interval", "1m", NULL, NULL), UV_EINVAL);
  ASSERT_EQ(parse(&cfg, &e, "--replay", "--gc-grace", "5", NULL), UV_EINVAL);
}

/* Issue 12: ":PORT" is every interface; a missing value is said so (not
 * "unknown option"); -h and -V; --log-file. */
static void test_cli_forms(void) {
  struct config cfg;
  struct errbuf e;

  ASSERT_EQ(parse(&cfg, &e, "--listen", ":8080", NULL, NULL), 0);
  ASSERT_STREQ(cfg.listen_host, "0.0.0.0");
  ASSERT_EQ(cfg.listen_port, 8080);
  ASSERT_EQ(parse(&cfg, &e, "--listen", "[::]:8080", NULL, NULL), 0);
  ASSERT_STREQ(cfg.listen_host, "::");
  ASSERT_EQ(parse(&cfg, &e, "--listen", NULL, NULL, NULL), UV_EINVAL);
  ASSERT_STREQ(e.msg, "--listen needs a value; see --help");
  ASSERT_EQ(parse(&cfg, &e, "--data", "d", "--listen", NULL), UV_EINVAL);
  ASSERT_STREQ(e.msg, "--listen needs a value; see --help");
  ASSERT_EQ(parse(&cfg, &e, "--listen", "--data", "d", NULL), UV_EINVAL);
  ASSERT(strstr(e.msg, "--listen needs a value") != NULL);
  ASSERT_EQ(parse(&cfg, &e, "-h", NULL, NULL, NULL), 0);
  ASSERT_EQ(cfg.cmd, CMD_HELP);
  ASSERT_EQ(parse(&cfg, &e, "-V", NULL, NULL, NULL), 0);
  ASSERT_EQ(cfg.cmd, CMD_VERSION);
  ASSERT_EQ(parse(&cfg, &e, "-h", "-V", NULL, NULL), UV_EINVAL);
  ASSERT_EQ(parse(&cfg, &e, "-x", NULL, NULL, NULL), UV_EINVAL);
  ASSERT(strstr(e.msg, "unknown option") != NULL);
  ASSERT_EQ(parse(&cfg, &e, NULL, NULL, NULL, NULL), 0);
  ASSERT(cfg.log_file == NULL);
  ASSERT_EQ(parse(&cfg, &e, "--log-file", "/var/log/a.log", NULL, NULL), 0);
  ASSERT_STREQ(cfg.log_file, "/var/log/a.log");
  ASSERT_EQ(parse(&cfg, &e, "--log-file", "", NULL, NULL), UV_EINVAL);
  ASSERT_EQ(parse(&cfg, &e, "--verify-log", "--log-file", "x", NULL),
            UV_EINVAL);
}

TEST_MAIN(TEST_CASE(test_defaults), TEST_CASE(test_listen_forms),
          TEST_CASE(test_listen_rejects), TEST_CASE(test_commands),
          TEST_CASE(test_command_errors), TEST_CASE(test_start_flags),
          TEST_CASE(test_cli_forms))
