/* test_main.c: the runner behind TEST_MAIN (see test.h). */
#include "test.h"

#include <unistd.h>

/* Cases are functions named test_<case>; they are known by <case>. */
static const char *test_name(const struct test_case *t) {
  return strncmp(t->name, "test_", 5) == 0 ? t->name + 5 : t->name;
}

static int test_usage(const char *prog) {
  fprintf(stderr, "usage: %s [-l | -t CASE]\n", prog);
  return 2;
}

int test_main(int argc, char **argv, const struct test_case *cases,
              size_t n) {
  const char *only = NULL;
  int opt;

  while ((opt = getopt(argc, argv, "lt:")) != -1) {
    switch (opt) {
    case 'l':
      for (size_t i = 0; i < n; i++)
        printf("%s\n", test_name(&cases[i]));
      return 0;
    case 't':
      only = optarg;
      break;
    default:
      return test_usage(argv[0]);
    }
  }
  if (optind != argc)
    return test_usage(argv[0]);
  for (size_t i = 0; i < n; i++) {
    if (only != NULL && strcmp(only, test_name(&cases[i])) != 0)
      continue;
    cases[i].fn();
    printf("ok %s\n", test_name(&cases[i]));
    fflush(stdout);
    if (only != NULL)
      return 0;
  }
  if (only != NULL) {
    fprintf(stderr, "%s: no case named \"%s\" (-l lists them)\n", argv[0],
            only);
    return 2;
  }
  return 0;
}
