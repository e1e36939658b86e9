// SPDX-License-Identifier: MIT
/* Built by run_consumer.cmake with nothing but `pkg-config --cflags --libs repvk`, as
 * C99: the header and the loaded library agree, and the sized entry points are there
 * and check their arguments before any work. */
#include <stdio.h>
#include <string.h>

#include <repvk/repvk.h>

int main(void) {
  float in[4] = {0, 0, 0, 0}, out[4];
  repvk_status s;
  if (strcmp(repvk_version_string(), REPVK_VERSION_STRING) != 0) {
    fprintf(stderr, "header %s, library %s\n", REPVK_VERSION_STRING, repvk_version_string());
    return 1;
  }
  s = repvk_network_infer(NULL, in, 4, 1, out, 4);
  if (s != REPVK_ERROR_INVALID_ARGUMENT || strstr(repvk_last_error(), "network is NULL") == NULL) {
    fprintf(stderr, "repvk_network_infer(NULL, ...): %s (%s)\n", repvk_status_name(s),
            repvk_last_error());
    return 1;
  }
  s = repvk_network_classify_pixels(NULL, NULL, 0, 1, 1, 1, 0, out, 4);
  if (s != REPVK_ERROR_INVALID_ARGUMENT) return 1;
  if (repvk_device_destroy(NULL) != REPVK_OK || strcmp(repvk_last_error(), "") != 0) return 1;
  printf("pkg-config: repvk %s, model format %u, image limit %u\n", repvk_version_string(),
         repvk_model_format_version(), REPVK_MAX_IMAGE_DIMENSION);
  return 0;
}
