/*
 * driver.c: replays a seed corpus through LLVMFuzzerTestOneInput without
 * libFuzzer, so every build (gcc too, and the sanitizer build) runs each
 * fuzz target over its corpus as a plain meson test.
 *
 *   fuzz_sfdict_driver DIR|FILE...
 *
 * Each argument is a corpus directory (every regular file in it, in name
 * order) or a file.  Exits non-zero when nothing was read, so a missing
 * corpus cannot pass as a green test; a failed check aborts.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DRIVER_INPUT_MAX (1024 * 1024) /* bytes read from one file */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  static uint8_t buf[DRIVER_INPUT_MAX];
  FILE *f = fopen(path, "rb");
  size_t n;

  if (f == NULL) {
    perror(path);
    return -1;
  }
  n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  /* a copy of exactly n bytes, so ASan sees reads past the input */
  uint8_t *copy = malloc(n > 0 ? n : 1);
  if (copy == NULL)
    return -1;
  memcpy(copy, buf, n);
  LLVMFuzzerTestOneInput(copy, n);
  free(copy);
  return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_dir(const char *dir, size_t *count) {
  struct dirent **names;
  int n = scandir(dir, &names, NULL, by_name), rc = 0;

  if (n < 0) {
    perror(dir);
    return -1;
  }
  for (int i = 0; i < n; i++) {
    char path[4096];
    struct stat st;
    if (rc == 0 &&
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name) <
            (int)sizeof path &&
        stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
      rc = run_file(path);
      (*count)++;
    }
    free(names[i]);
  }
  free(names);
  return rc;
}

int main(int argc, char **argv) {
  size_t count = 0;
  struct stat st;

  for (int i = 1; i < argc; i++) {
    if (stat(argv[i], &st) != 0) {
      perror(argv[i]);
      return 1;
    }
    if (S_ISDIR(st.st_mode)) {
      if (run_dir(argv[i], &count) != 0)
        return 1;
    } else {
      if (run_file(argv[i]) != 0)
        return 1;
      count++;
    }
  }
  printf("%zu inputs\n", count);
  return count > 0 ? 0 : 1;
}
