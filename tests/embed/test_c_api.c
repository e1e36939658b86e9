// SPDX-License-Identifier: MIT
/* The C API, compiled as C99 and linked against librepvk.so: versions, an owned device
 * with validation on (any message fails), model load errors, inference checked against
 * the CPU reference written by make_c_api_fixture, argument errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_check.h"
#include "repvk/repvk.h"

static int failures = 0;
static int debug_messages = 0;

static void on_debug(void* user, int severity, const char* id, const char* text) {
  (void)user;
  fprintf(stderr, "validation message (severity %d): %s: %s\n", severity, id, text);
  ++debug_messages;
}

static double max_abs_diff(const float* a, const float* b, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = fabs((double)a[i] - (double)b[i]);
    if (!(d <= worst)) worst = d; /* NaN counts as the worst */
  }
  return worst;
}

/* Softmax of each row of `rows` x `cols` logits, in double. */
static void softmax_rows(const float* logits, size_t rows, size_t cols, float* out) {
  for (size_t r = 0; r < rows; ++r) {
    const float* x = logits + r * cols;
    double top = x[0], sum = 0;
    for (size_t j = 1; j < cols; ++j)
      if (x[j] > top) top = x[j];
    for (size_t j = 0; j < cols; ++j) sum += exp((double)x[j] - top);
    for (size_t j = 0; j < cols; ++j) out[r * cols + j] = (float)(exp((double)x[j] - top) / sum);
  }
}

/* Fails, printing the worst difference, unless every element is within tol. */
#define CHECK_CLOSE(got, want, n, tol)                                                   \
  do {                                                                                   \
    const double d_ = max_abs_diff((got), (want), (n));                                  \
    if (!(d_ <= (tol))) {                                                                \
      fprintf(stderr, "%s:%d: %s vs %s: max |difference| %g, tolerance %g\n", __FILE__,  \
              __LINE__, #got, #want, d_, (double)(tol));                                 \
      ++failures;                                                                        \
    }                                                                                    \
  } while (0)

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_c_api FIXTURE_DIR\n");
    return 2;
  }
  const char* dir = argv[1];
  char path[4096];

  /* The header and the loaded library agree. */
  CHECK(strcmp(repvk_version_string(), REPVK_VERSION_STRING) == 0);
  CHECK(repvk_version() == REPVK_VERSION);
  CHECK(repvk_model_format_version() == REPVK_MODEL_FORMAT_VERSION);
  CHECK(strcmp(repvk_status_name(REPVK_ERROR_MODEL), "REPVK_ERROR_MODEL") == 0);

  CHECK_STATUS(repvk_device_create(NULL, NULL), REPVK_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(repvk_last_error(), "out is NULL") != NULL);

  repvk_device_options dopt;
  repvk_device_options_init(&dopt);
  dopt.validation = 1;
  dopt.on_debug_message = on_debug;
  repvk_device* device = NULL;
  CHECK_STATUS(repvk_device_create(&dopt, &device), REPVK_OK);
  if (!device) return 1;
  printf("device: %s (queue family %u)\n", repvk_device_name(device),
         repvk_device_queue_family(device));

  repvk_network_options nopt;
  repvk_network_options_init(&nopt);
  nopt.pipeline_cache_path = "none";
  nopt.precision = REPVK_PRECISION_FP32;
  repvk_network* network = NULL;

  /* A missing file and a file that is not a model: error code, and a message naming it. */
  snprintf(path, sizeof path, "%s/no-such-model.rpvk", dir);
  CHECK_STATUS(repvk_network_load(device, path, &nopt, &network), REPVK_ERROR_MODEL);
  CHECK(network == NULL);
  CHECK(strstr(repvk_device_last_error(device), "no-such-model.rpvk") != NULL);
  CHECK(strstr(repvk_last_error(), "no-such-model.rpvk") != NULL);
  snprintf(path, sizeof path, "%s/garbage.rpvk", dir);
  FILE* g = fopen(path, "wb");
  CHECK(g != NULL);
  if (g) {
    fputs("definitely not a repvk model\n", g);
    fclose(g);
  }
  CHECK_STATUS(repvk_network_load(device, path, &nopt, &network), REPVK_ERROR_MODEL);
  CHECK(strstr(repvk_device_last_error(device), "garbage.rpvk") != NULL);
  printf("expected error: %s\n", repvk_device_last_error(device));
  CHECK_STATUS(repvk_network_load(device, NULL, &nopt, &network), REPVK_ERROR_INVALID_ARGUMENT);

  snprintf(path, sizeof path, "%s/model.rpvk", dir);
  CHECK_STATUS(repvk_network_load(device, path, &nopt, &network), REPVK_OK);
  if (!network) return 1;
  CHECK(repvk_device_allocated_bytes(device) > 0);
  uint32_t c = 0, h = 0, w = 0;
  repvk_network_input_shape(network, &c, &h, &w);
  CHECK(c == 3 && h == 20 && w == 24);
  const uint32_t classes = repvk_network_num_classes(network);
  CHECK(classes == 7);
  CHECK(repvk_network_class_name(network, 0) != NULL);
  CHECK(repvk_network_class_name(network, classes) == NULL);

  size_t n_input = 0, n_expected = 0;
  float* input = read_file(dir, "input.f32", sizeof(float), &n_input);
  float* expected = read_file(dir, "expected.f32", sizeof(float), &n_expected);
  CHECK(n_input == 2u * c * h * w && n_expected == 2u * classes);
  const size_t per_image = (size_t)c * h * w;
  float probs[64];
  for (int i = 0; i < 64; ++i) probs[i] = NAN;
  CHECK_STATUS(repvk_network_infer(network, input, n_input, 2, probs, 64), REPVK_OK);
  CHECK_CLOSE(probs, expected, n_expected, 1e-4);
  CHECK(strcmp(repvk_network_last_error(network), "") == 0);
  CHECK(strcmp(repvk_last_error(), "") == 0);
  /* Logits: the CPU reference's, and softmax of them gives the probabilities. */
  size_t n_expected_logits = 0;
  float* expected_logits = read_file(dir, "expected_logits.f32", sizeof(float), &n_expected_logits);
  CHECK(n_expected_logits == 2u * classes);
  float logits[64];
  for (int i = 0; i < 64; ++i) logits[i] = NAN; /* poison: a value not written stays NaN */
  CHECK_STATUS(repvk_network_infer_logits(network, input, n_input, 2, logits, 64), REPVK_OK);
  CHECK_CLOSE(logits, expected_logits, n_expected, 1e-4);
  {
    float soft[64];
    softmax_rows(logits, 2, classes, soft);
    CHECK_CLOSE(soft, probs, n_expected, 1e-5);
  }
  free(expected_logits);

  /* Too small an output buffer is refused before any work, and nothing is written. */
  for (int i = 0; i < 64; ++i) probs[i] = -1.0f;
  CHECK_STATUS(repvk_network_infer(network, input, n_input, 2, probs, classes),
               REPVK_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(repvk_network_last_error(network), "out holds 7 floats, batch 2 needs 14") != NULL);
  CHECK(probs[0] == -1.0f);
  CHECK_STATUS(repvk_network_infer(network, NULL, n_input, 1, probs, 64),
               REPVK_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(repvk_network_last_error(network), "input is NULL") != NULL);
  /* A success empties the messages again. */
  CHECK_STATUS(repvk_network_infer(network, input, per_image, 1, probs, classes), REPVK_OK);
  CHECK(strcmp(repvk_network_last_error(network), "") == 0);
  CHECK(strcmp(repvk_last_error(), "") == 0);

  /* A batch the input cannot hold (the old API read past it, and crashed in memcpy). */
  CHECK_STATUS(repvk_network_infer(network, input, n_input, 100000, probs, 10),
               REPVK_ERROR_INVALID_ARGUMENT);
  printf("expected error: %s\n", repvk_network_last_error(network));
  CHECK(strstr(repvk_network_last_error(network), "input holds 2880 floats, batch 100000 needs") !=
        NULL);
  /* Input large enough, output too small: refused before the batch runs. */
  CHECK_STATUS(repvk_network_infer(network, input, n_input, 2, probs, 10),
               REPVK_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(repvk_network_last_error(network), "out holds 10 floats, batch 2 needs 14") != NULL);
  /* Batch 0 is an error, not a silent success. */
  CHECK_STATUS(repvk_network_infer(network, input, n_input, 0, probs, 64),
               REPVK_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(repvk_network_last_error(network), "batch is 0") != NULL);
  CHECK_STATUS(repvk_network_infer_logits(network, input, n_input, 0, probs, 64),
               REPVK_ERROR_INVALID_ARGUMENT);

  size_t n_pixels = 0, n_expected_pixels = 0;
  unsigned char* pixels = read_file(dir, "pixels.u8", 1, &n_pixels);
  float* expected_pixels = read_file(dir, "expected_pixels.f32", sizeof(float), &n_expected_pixels);
  CHECK(n_pixels == 33u * 27u * 3u && n_expected_pixels == classes);
  CHECK_STATUS(repvk_network_classify_pixels(network, pixels, n_pixels, 33, 27, 3, 0, probs, 64),
               REPVK_OK);
  CHECK(max_abs_diff(probs, expected_pixels, classes) <= 1e-4);
  /* The same image with padded rows (row_stride) gives the same result. */
  {
    const size_t stride = 33 * 3 + 5;
    unsigned char* padded = malloc(stride * 27);
    CHECK(padded != NULL);
    if (padded) {
      memset(padded, 0xAB, stride * 27);
      for (size_t y = 0; y < 27; ++y) memcpy(padded + y * stride, pixels + y * 33 * 3, 33 * 3);
      /* The last row needs no padding: stride*(h-1) + w*c bytes are enough. */
      const size_t needed = stride * 26 + 33 * 3;
      for (int i = 0; i < 64; ++i) probs[i] = -1.0f;
      CHECK_STATUS(repvk_network_classify_pixels(network, padded, needed, 33, 27, 3, stride, probs,
                                                 classes),
                   REPVK_OK);
      CHECK(max_abs_diff(probs, expected_pixels, classes) <= 1e-4);
      CHECK_STATUS(repvk_network_classify_pixels(network, padded, needed - 1, 33, 27, 3, stride,
                                                 probs, classes),
                   REPVK_ERROR_INVALID_ARGUMENT);
      CHECK(strstr(repvk_network_last_error(network), "needs") != NULL);
      CHECK_STATUS(repvk_network_classify_pixels(network, padded, stride * 27, 33, 27, 3, 33 * 3 - 1,
                                                 probs, classes),
                   REPVK_ERROR_INVALID_ARGUMENT);
      CHECK(strstr(repvk_network_last_error(network), "row_stride") != NULL);
      free(padded);
    }
  }
  CHECK_STATUS(repvk_network_classify_pixels(network, pixels, n_pixels, 33, 27, 5, 0, probs, 64),
               REPVK_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(repvk_network_last_error(network), "channel") != NULL);
  /* 70000x70000 from a 16 KiB buffer: over the dimension limit, and over the buffer. */
  CHECK_STATUS(repvk_network_classify_pixels(network, pixels, 16384, 70000, 70000, 1, 0, probs, 10),
               REPVK_ERROR_INVALID_ARGUMENT);
  printf("expected error: %s\n", repvk_network_last_error(network));
  CHECK(strstr(repvk_network_last_error(network), "70000x70000") != NULL);
  CHECK(strstr(repvk_network_last_error(network), "16384") != NULL);
  CHECK_STATUS(repvk_network_classify_pixels(network, pixels, n_pixels, 200, 200, 1, 0, probs, 10),
               REPVK_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(repvk_network_last_error(network), "40000") != NULL);
  CHECK_STATUS(repvk_network_classify_pixels(network, pixels, n_pixels, 33, 27, 3, 0, probs, 6),
               REPVK_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(repvk_network_last_error(network), "out holds 6 floats") != NULL);

  /* GPU-image calls in the wrong order are errors, not crashes. */
  CHECK_STATUS(repvk_network_read_result(network, probs, 64), REPVK_ERROR_ENGINE);
  CHECK(strstr(repvk_network_last_error(network), "no image was classified") != NULL);
  CHECK_STATUS(repvk_network_poll(network), REPVK_ERROR_ENGINE);
  CHECK(strstr(repvk_network_last_error(network), "nothing submitted") != NULL);
  /* wait_count 0 allows wait_semaphores NULL: the error is about the image alone. */
  CHECK_STATUS(repvk_network_submit_classify_image(network, NULL, NULL, 0, VK_NULL_HANDLE,
                                                   VK_NULL_HANDLE),
               REPVK_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(repvk_network_last_error(network), "image is NULL") != NULL);
  CHECK(strstr(repvk_network_last_error(network), "wait_semaphores") == NULL);
  {
    repvk_image_input image;
    memset(&image, 0, sizeof image);
    CHECK_STATUS(repvk_network_submit_classify_image(network, &image, NULL, 2, VK_NULL_HANDLE,
                                                     VK_NULL_HANDLE),
                 REPVK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(repvk_network_last_error(network), "wait_count is 2") != NULL);
  }

  /* A device with a live network is not destroyed: the call says why, and both stay usable. */
  CHECK_STATUS(repvk_device_destroy(device), REPVK_ERROR_ENGINE);
  printf("expected error: %s\n", repvk_device_last_error(device));
  CHECK(strstr(repvk_device_last_error(device), "1 network(s)") != NULL);
  CHECK(repvk_device_allocated_bytes(device) > 0);
  CHECK_STATUS(repvk_network_infer(network, input, n_input, 2, probs, 64), REPVK_OK);
  CHECK(max_abs_diff(probs, expected, n_expected) <= 1e-4);

  repvk_network_destroy(network);
  CHECK(repvk_device_allocated_bytes(device) == 0);
  /* A destroyed handle is refused (the registry no longer knows it). */
  CHECK_STATUS(repvk_network_infer(network, input, n_input, 2, probs, 64),
               REPVK_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(repvk_last_error(), "not a live handle") != NULL);
  repvk_network_destroy(network); /* twice: ignored */
  CHECK_STATUS(repvk_device_destroy(device), REPVK_OK);
  CHECK_STATUS(repvk_device_destroy(device), REPVK_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(repvk_device_destroy(NULL), REPVK_OK);
  free(input);
  free(expected);
  free(pixels);
  free(expected_pixels);
  CHECK(debug_messages == 0);
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  else printf("all C API checks passed\n");
  return failures ? 1 : 0;
}
