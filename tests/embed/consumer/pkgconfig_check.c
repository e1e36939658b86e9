/* Built by run_consumer.cmake with nothing but `pkg-config --cflags --libs repvk`. */
#include <stdio.h>
#include <string.h>

#include <repvk/repvk.h>

int main(void) {
  if (strcmp(repvk_version_string(), REPVK_VERSION_STRING) != 0) {
    fprintf(stderr, "header %s, library %s\n", REPVK_VERSION_STRING, repvk_version_string());
    return 1;
  }
  printf("pkg-config: repvk %s, model format %u\n", repvk_version_string(),
         repvk_model_format_version());
  return 0;
}
