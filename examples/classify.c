/* SPDX-License-Identifier: MIT */
/* Classifies one image with repvk's C API: classify_c MODEL.rpvk IMAGE.png
 * The C API takes pixels; the image is decoded here with stb_image (libstb-dev). */
#include <repvk/repvk.h>
#include <stb_image.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  repvk_device* device = NULL;
  repvk_network* net = NULL;
  int w = 0, h = 0, channels = 0, status = 1;
  unsigned char* pixels = NULL;
  float* probs = NULL;
  if (argc != 3) return fprintf(stderr, "usage: %s MODEL.rpvk IMAGE.png\n", argv[0]), 2;
  pixels = stbi_load(argv[2], &w, &h, &channels, 0);
  if (!pixels) return fprintf(stderr, "error: %s: %s\n", argv[2], stbi_failure_reason()), 1;
  if (repvk_device_create(NULL, &device) != REPVK_OK) {
    fprintf(stderr, "error: %s\n", repvk_last_error());
  } else if (repvk_network_load(device, argv[1], NULL, &net) != REPVK_OK) {
    fprintf(stderr, "error: %s\n", repvk_last_error());
  } else {
    const uint32_t classes = repvk_network_num_classes(net);
    uint32_t best = 0, i;
    probs = malloc(classes * sizeof *probs);
    if (probs && repvk_network_classify_pixels(net, pixels, (size_t)w * h * channels, (uint32_t)w,
                                               (uint32_t)h, (uint32_t)channels, 0, probs,
                                               classes) == REPVK_OK) {
      for (i = 1; i < classes; ++i)
        if (probs[i] > probs[best]) best = i;
      printf("%s %.1f%%\n", repvk_network_class_name(net, best), 100.0 * probs[best]);
      status = 0;
    } else {
      fprintf(stderr, "error: %s\n", probs ? repvk_network_last_error(net) : "out of memory");
    }
  }
  free(probs);
  repvk_network_destroy(net);
  repvk_device_destroy(device);
  stbi_image_free(pixels);
  return status;
}
