// SPDX-License-Identifier: MIT
/* Checks for the C API tests (C99): each failed check prints where and why and counts
 * into the includer's `static int failures`, so a test reports every failure before it
 * exits non-zero; and the fixture reader both tests use. */
#ifndef REPVK_TESTS_EMBED_C_CHECK_H
#define REPVK_TESTS_EMBED_C_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include "repvk/repvk.h"

#define CHECK(cond)                                                             \
  do {                                                                          \
    if (!(cond)) {                                                              \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                               \
    }                                                                           \
  } while (0)

#define CHECK_STATUS(call, want)                                                          \
  do {                                                                                    \
    repvk_status s_ = (call);                                                             \
    if (s_ != (want)) {                                                                   \
      fprintf(stderr, "%s:%d: %s returned %s, expected %s (%s)\n", __FILE__, __LINE__,    \
              #call, repvk_status_name(s_), repvk_status_name(want), repvk_last_error()); \
      ++failures;                                                                         \
    }                                                                                     \
  } while (0)

/* Reads a whole file; *count receives the number of `elem`-byte elements. */
static inline void* read_file(const char* dir, const char* name, size_t elem, size_t* count) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE* f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(1);
  }
  fseek(f, 0, SEEK_END);
  const long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  void* data = malloc((size_t)size);
  if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(1);
  }
  fclose(f);
  *count = (size_t)size / elem;
  return data;
}

#endif
