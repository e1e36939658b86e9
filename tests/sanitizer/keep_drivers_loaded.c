// SPDX-License-Identifier: MIT
// Linked into every executable of a sanitizer build (-DREPVK_SANITIZE=address,...), and
// only there: the library never carries it.
//
// Why: the Vulkan loader dlclose()s the ICD (lavapipe) at vkDestroyInstance. Memory the
// driver keeps for the life of the process (LLVM's per-pipeline state) is then reported
// by LeakSanitizer with stacks that end in "<unknown module>", because the module is gone
// by the time the report is symbolized, so no suppression in .ci/lsan.supp can name it.
// Keeping the driver mapped (RTLD_NODELETE) lets its frames be named and suppressed,
// while leaks in repvk's own code are still reported.
//
// Which libraries: $REPVK_SANITIZER_KEEP_LOADED, a ':'-separated list of paths or
// sonames; unset means lavapipe's soname. A library that cannot be opened is skipped:
// the executable may run on a machine without it, and nothing else changes.
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

static void keep_loaded(const char* name) {
  if (name[0] != '\0') dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
}

__attribute__((constructor)) static void repvk_keep_drivers_loaded(void) {
  const char* list = getenv("REPVK_SANITIZER_KEEP_LOADED");
  if (list == NULL) list = "libvulkan_lvp.so";
  char buffer[4096];
  size_t length = strlen(list);
  if (length >= sizeof buffer) return;
  memcpy(buffer, list, length + 1);
  for (char* name = buffer;;) {
    char* colon = strchr(name, ':');
    if (colon != NULL) *colon = '\0';
    keep_loaded(name);
    if (colon == NULL) break;
    name = colon + 1;
  }
}
