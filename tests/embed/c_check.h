// SPDX-License-Identifier: MIT
/* Checks for the C API tests (C99): each failed check prints where and why and counts
 * into the includer's `static int failures`, so a test reports every failure before it
 * exits non-zero. */
#ifndef REPVK_TESTS_EMBED_C_CHECK_H
#define REPVK_TESTS_EMBED_C_CHECK_H

#include <stdio.h>

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

#endif
