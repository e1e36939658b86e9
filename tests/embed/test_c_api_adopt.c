// SPDX-License-Identifier: MIT
/* The C API's success paths for an application that owns its Vulkan objects, compiled
 * as C99 against librepvk.so. Like a renderer would, the test creates its own instance
 * (validation layer on, its own messenger: any message fails), device, queue and a
 * sampled RGBA8 texture, uploads pixels into it, then:
 *   1. repvk_device_adopt on those handles, repvk_network_load;
 *   2. repvk_network_record_classify_image into the application's command buffer,
 *      submitted and waited on by the application, then poll and read_result;
 *   3. repvk_network_submit_classify_image on repvk's queue with the application's
 *      fence, poll until done, read_result;
 * each result compared with the CPU reference of make_c_api_fixture at 1e-4. Finally
 * repvk is destroyed and the application's device must still work. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_check.h"
#include "repvk/repvk.h"

static int failures = 0;
static int messages = 0;

/* A Vulkan call the test itself makes: stops the test on failure. */
#define VK(call)                                                                             \
  do {                                                                                       \
    VkResult r_ = (call);                                                                    \
    if (r_ != VK_SUCCESS) {                                                                  \
      fprintf(stderr, "%s:%d: %s returned VkResult %d\n", __FILE__, __LINE__, #call, (int)r_); \
      exit(1);                                                                               \
    }                                                                                        \
  } while (0)

typedef struct app {
  VkInstance instance;
  VkDebugUtilsMessengerEXT messenger;
  VkPhysicalDevice physical;
  VkDevice device;
  VkQueue queue;
  uint32_t family;
  VkCommandPool pool;
  VkFence fence;
} app;

typedef struct texture {
  VkImage image;
  VkDeviceMemory memory;
  VkImageView view;
  uint32_t width, height;
} texture;

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                 VkDebugUtilsMessageTypeFlagsEXT type,
                                                 const VkDebugUtilsMessengerCallbackDataEXT* d,
                                                 void* user) {
  (void)type;
  (void)user;
  fprintf(stderr, "validation message (severity %d): %s\n", (int)severity,
          d && d->pMessage ? d->pMessage : "");
  ++messages;
  return VK_FALSE;
}

/* repvk's own messages on the adopted device (there are none unless the app's layer
 * reports through repvk; counted all the same). */
static void on_repvk_message(void* user, int severity, const char* id, const char* text) {
  (void)user;
  fprintf(stderr, "repvk debug message (severity %d): %s: %s\n", severity, id, text);
  ++messages;
}

static void create_instance(app* a) {
  VkDebugUtilsMessengerCreateInfoEXT mci;
  memset(&mci, 0, sizeof mci);
  mci.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT;
  mci.messageSeverity =
      VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  mci.messageType =
      VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT;
  mci.pfnUserCallback = on_message;
  const char* layer = "VK_LAYER_KHRONOS_validation";
  const char* ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
  VkApplicationInfo ai;
  memset(&ai, 0, sizeof ai);
  ai.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  ai.pApplicationName = "test_c_api_adopt";
  ai.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo ici;
  memset(&ici, 0, sizeof ici);
  ici.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  ici.pNext = &mci; /* also reports on vkCreateInstance/vkDestroyInstance */
  ici.pApplicationInfo = &ai;
  ici.enabledLayerCount = 1;
  ici.ppEnabledLayerNames = &layer;
  ici.enabledExtensionCount = 1;
  ici.ppEnabledExtensionNames = &ext;
  VK(vkCreateInstance(&ici, NULL, &a->instance));
  PFN_vkCreateDebugUtilsMessengerEXT create = (PFN_vkCreateDebugUtilsMessengerEXT)
      vkGetInstanceProcAddr(a->instance, "vkCreateDebugUtilsMessengerEXT");
  if (!create) {
    fprintf(stderr, "vkCreateDebugUtilsMessengerEXT not found\n");
    exit(1);
  }
  VK(create(a->instance, &mci, NULL, &a->messenger));
}

static void create_device(app* a) {
  uint32_t count = 1;
  const VkResult r = vkEnumeratePhysicalDevices(a->instance, &count, &a->physical);
  if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || count == 0) {
    fprintf(stderr, "no Vulkan physical device (VkResult %d)\n", (int)r);
    exit(1);
  }
  uint32_t families = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(a->physical, &families, NULL);
  VkQueueFamilyProperties props[16];
  if (families > 16) families = 16;
  vkGetPhysicalDeviceQueueFamilyProperties(a->physical, &families, props);
  a->family = UINT32_MAX;
  for (uint32_t i = 0; i < families && a->family == UINT32_MAX; ++i)
    if (props[i].queueFlags & VK_QUEUE_COMPUTE_BIT) a->family = i;
  if (a->family == UINT32_MAX) {
    fprintf(stderr, "no queue family with compute\n");
    exit(1);
  }
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qci;
  memset(&qci, 0, sizeof qci);
  qci.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
  qci.queueFamilyIndex = a->family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  VkDeviceCreateInfo dci;
  memset(&dci, 0, sizeof dci);
  dci.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  VK(vkCreateDevice(a->physical, &dci, NULL, &a->device));
  vkGetDeviceQueue(a->device, a->family, 0, &a->queue);
  VkCommandPoolCreateInfo pci;
  memset(&pci, 0, sizeof pci);
  pci.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = a->family;
  VK(vkCreateCommandPool(a->device, &pci, NULL, &a->pool));
  VkFenceCreateInfo fci;
  memset(&fci, 0, sizeof fci);
  fci.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
  VK(vkCreateFence(a->device, &fci, NULL, &a->fence));
}

static void destroy_app(app* a) {
  vkDestroyFence(a->device, a->fence, NULL);
  vkDestroyCommandPool(a->device, a->pool, NULL);
  vkDestroyDevice(a->device, NULL);
  PFN_vkDestroyDebugUtilsMessengerEXT destroy = (PFN_vkDestroyDebugUtilsMessengerEXT)
      vkGetInstanceProcAddr(a->instance, "vkDestroyDebugUtilsMessengerEXT");
  if (destroy) destroy(a->instance, a->messenger, NULL);
  vkDestroyInstance(a->instance, NULL);
}

static uint32_t memory_type(const app* a, uint32_t bits, VkMemoryPropertyFlags want) {
  VkPhysicalDeviceMemoryProperties mp;
  vkGetPhysicalDeviceMemoryProperties(a->physical, &mp);
  for (uint32_t i = 0; i < mp.memoryTypeCount; ++i)
    if ((bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & want) == want) return i;
  fprintf(stderr, "no memory type with flags 0x%x in 0x%x\n", (unsigned)want, (unsigned)bits);
  exit(1);
}

static VkCommandBuffer begin_commands(const app* a) {
  VkCommandBufferAllocateInfo cai;
  memset(&cai, 0, sizeof cai);
  cai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  cai.commandPool = a->pool;
  cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cai.commandBufferCount = 1;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  VK(vkAllocateCommandBuffers(a->device, &cai, &cmd));
  VkCommandBufferBeginInfo bi;
  memset(&bi, 0, sizeof bi);
  bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  VK(vkBeginCommandBuffer(cmd, &bi));
  return cmd;
}

/* Ends, submits with the app's fence, waits for it, frees the command buffer. */
static void submit_and_wait(const app* a, VkCommandBuffer cmd) {
  VK(vkEndCommandBuffer(cmd));
  VkSubmitInfo si;
  memset(&si, 0, sizeof si);
  si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd;
  VK(vkQueueSubmit(a->queue, 1, &si, a->fence));
  VK(vkWaitForFences(a->device, 1, &a->fence, VK_TRUE, UINT64_MAX));
  VK(vkResetFences(a->device, 1, &a->fence));
  vkFreeCommandBuffers(a->device, a->pool, 1, &cmd);
}

static void layout_barrier(VkCommandBuffer cmd, VkImage image, VkImageLayout from,
                           VkImageLayout to, VkAccessFlags src_access, VkAccessFlags dst_access,
                           VkPipelineStageFlags src_stage, VkPipelineStageFlags dst_stage) {
  VkImageMemoryBarrier b;
  memset(&b, 0, sizeof b);
  b.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER;
  b.srcAccessMask = src_access;
  b.dstAccessMask = dst_access;
  b.oldLayout = from;
  b.newLayout = to;
  b.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.image = image;
  b.subresourceRange.aspectMask = VK_IMAGE_ASPECT_COLOR_BIT;
  b.subresourceRange.levelCount = 1;
  b.subresourceRange.layerCount = 1;
  vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 0, NULL, 0, NULL, 1, &b);
}

static void create_texture(const app* a, texture* t, uint32_t width, uint32_t height) {
  t->width = width;
  t->height = height;
  VkImageCreateInfo ici;
  memset(&ici, 0, sizeof ici);
  ici.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO;
  ici.imageType = VK_IMAGE_TYPE_2D;
  ici.format = VK_FORMAT_R8G8B8A8_UNORM;
  ici.extent.width = width;
  ici.extent.height = height;
  ici.extent.depth = 1;
  ici.mipLevels = 1;
  ici.arrayLayers = 1;
  ici.samples = VK_SAMPLE_COUNT_1_BIT;
  ici.tiling = VK_IMAGE_TILING_OPTIMAL;
  ici.usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
  ici.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  ici.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
  VK(vkCreateImage(a->device, &ici, NULL, &t->image));
  VkMemoryRequirements req;
  vkGetImageMemoryRequirements(a->device, t->image, &req);
  VkMemoryAllocateInfo mai;
  memset(&mai, 0, sizeof mai);
  mai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = memory_type(a, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  VK(vkAllocateMemory(a->device, &mai, NULL, &t->memory));
  VK(vkBindImageMemory(a->device, t->image, t->memory, 0));
  VkImageViewCreateInfo vci;
  memset(&vci, 0, sizeof vci);
  vci.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO;
  vci.image = t->image;
  vci.viewType = VK_IMAGE_VIEW_TYPE_2D;
  vci.format = VK_FORMAT_R8G8B8A8_UNORM;
  vci.subresourceRange.aspectMask = VK_IMAGE_ASPECT_COLOR_BIT;
  vci.subresourceRange.levelCount = 1;
  vci.subresourceRange.layerCount = 1;
  VK(vkCreateImageView(a->device, &vci, NULL, &t->view));
}

static void destroy_texture(const app* a, texture* t) {
  vkDestroyImageView(a->device, t->view, NULL);
  vkDestroyImage(a->device, t->image, NULL);
  vkFreeMemory(a->device, t->memory, NULL);
}

/* Copies width*height RGBA8 pixels into the texture through a staging buffer and
 * leaves it in SHADER_READ_ONLY_OPTIMAL, as a renderer's texture upload would. */
static void upload_texture(const app* a, const texture* t, const unsigned char* rgba) {
  const VkDeviceSize bytes = (VkDeviceSize)t->width * t->height * 4;
  VkBufferCreateInfo bci;
  memset(&bci, 0, sizeof bci);
  bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  bci.size = bytes;
  bci.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer staging = VK_NULL_HANDLE;
  VK(vkCreateBuffer(a->device, &bci, NULL, &staging));
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(a->device, staging, &req);
  VkMemoryAllocateInfo mai;
  memset(&mai, 0, sizeof mai);
  mai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = memory_type(a, req.memoryTypeBits,
                                    VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                        VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VK(vkAllocateMemory(a->device, &mai, NULL, &memory));
  VK(vkBindBufferMemory(a->device, staging, memory, 0));
  void* mapped = NULL;
  VK(vkMapMemory(a->device, memory, 0, bytes, 0, &mapped));
  memcpy(mapped, rgba, (size_t)bytes);
  vkUnmapMemory(a->device, memory);

  VkCommandBuffer cmd = begin_commands(a);
  layout_barrier(cmd, t->image, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 0,
                 VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT,
                 VK_PIPELINE_STAGE_TRANSFER_BIT);
  VkBufferImageCopy region;
  memset(&region, 0, sizeof region);
  region.imageSubresource.aspectMask = VK_IMAGE_ASPECT_COLOR_BIT;
  region.imageSubresource.layerCount = 1;
  region.imageExtent.width = t->width;
  region.imageExtent.height = t->height;
  region.imageExtent.depth = 1;
  vkCmdCopyBufferToImage(cmd, staging, t->image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
  layout_barrier(cmd, t->image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                 VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL, VK_ACCESS_TRANSFER_WRITE_BIT,
                 VK_ACCESS_SHADER_READ_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                 VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
  submit_and_wait(a, cmd);
  vkDestroyBuffer(a->device, staging, NULL);
  vkFreeMemory(a->device, memory, NULL);
}

/* Interleaved 8-bit pixels with `channels` channels to RGBA8 (alpha 255 when absent). */
static unsigned char* to_rgba(const unsigned char* pixels, size_t count, uint32_t channels) {
  unsigned char* rgba = malloc(count * 4);
  if (!rgba) exit(1);
  for (size_t i = 0; i < count; ++i)
    for (uint32_t c = 0; c < 4; ++c)
      rgba[i * 4 + c] = c < channels ? pixels[i * channels + c] : 255;
  return rgba;
}

static double max_abs_diff(const float* a, const float* b, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = fabs((double)a[i] - (double)b[i]);
    if (!(d <= worst)) worst = d; /* NaN counts as the worst */
  }
  return worst;
}

static void check_result(const char* what, const float* got, const float* want, size_t n) {
  const double d = max_abs_diff(got, want, n);
  printf("%s: max |GPU - CPU reference| = %g\n", what, d);
  if (!(d <= 1e-4)) {
    fprintf(stderr, "%s: max |difference| %g over the tolerance 1e-4\n", what, d);
    ++failures;
  }
}

static repvk_image_input image_input(const texture* t, uint32_t channels, int with_image) {
  repvk_image_input in;
  memset(&in, 0, sizeof in);
  in.view = t->view;
  in.layout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
  in.width = t->width;
  in.height = t->height;
  in.channels = channels;
  in.srgb = 0;
  in.image = with_image ? t->image : VK_NULL_HANDLE;
  return in;
}

/* Path 2: recorded into the app's command buffer, submitted and waited on by the app. */
static void classify_recorded(const app* a, repvk_network* net, const texture* t,
                              uint32_t channels, const float* want, uint32_t classes) {
  const repvk_image_input in = image_input(t, channels, 0);
  VkCommandBuffer cmd = begin_commands(a);
  CHECK_STATUS(repvk_network_record_classify_image(net, cmd, &in), REPVK_OK);
  submit_and_wait(a, cmd);
  CHECK_STATUS(repvk_network_poll(net), REPVK_OK);
  float out[64];
  for (int i = 0; i < 64; ++i) out[i] = NAN;
  CHECK_STATUS(repvk_network_read_result(net, out, classes), REPVK_OK);
  check_result("recorded in the app's command buffer", out, want, classes);
}

/* Path 3: submitted by repvk with the app's fence; polled until done. */
static void classify_submitted(const app* a, repvk_network* net, const texture* t,
                               uint32_t channels, const float* want, uint32_t classes) {
  const repvk_image_input in = image_input(t, channels, 1);
  CHECK_STATUS(repvk_network_submit_classify_image(net, &in, NULL, 0, VK_NULL_HANDLE, a->fence),
               REPVK_OK);
  repvk_status s = REPVK_ERROR_NOT_READY;
  for (long polls = 0; polls < 100000000L && s == REPVK_ERROR_NOT_READY; ++polls)
    s = repvk_network_poll(net);
  CHECK_STATUS(s, REPVK_OK);
  /* The app's fence was signalled too. */
  VK(vkWaitForFences(a->device, 1, &a->fence, VK_TRUE, UINT64_MAX));
  VK(vkResetFences(a->device, 1, &a->fence));
  float out[64];
  for (int i = 0; i < 64; ++i) out[i] = NAN;
  CHECK_STATUS(repvk_network_read_result(net, out, classes), REPVK_OK);
  check_result("submitted by repvk", out, want, classes);
}

/* After repvk is gone the application's device and queue still work. */
static void check_app_device_alive(const app* a) {
  VkCommandBuffer cmd = begin_commands(a);
  submit_and_wait(a, cmd);
  CHECK(vkDeviceWaitIdle(a->device) == VK_SUCCESS);
}

static void run(const app* a, const char* dir) {
  repvk_adopted_handles h;
  memset(&h, 0, sizeof h);
  h.instance = a->instance;
  h.physical_device = a->physical;
  h.device = a->device;
  h.queue = a->queue;
  h.queue_family = a->family;
  h.storage_16bit_enabled = 0;
  repvk_device_options dopt;
  repvk_device_options_init(&dopt);
  dopt.on_debug_message = on_repvk_message;
  repvk_device* device = NULL;
  CHECK_STATUS(repvk_device_adopt(&h, &dopt, &device), REPVK_OK);
  if (!device) exit(1);
  CHECK(repvk_device_queue_family(device) == a->family);
  printf("adopted: %s (queue family %u)\n", repvk_device_name(device), a->family);

  char path[4096];
  snprintf(path, sizeof path, "%s/model.rpvk", dir);
  repvk_network_options nopt;
  repvk_network_options_init(&nopt);
  nopt.pipeline_cache_path = "none";
  nopt.precision = REPVK_PRECISION_FP32;
  repvk_network* net = NULL;
  CHECK_STATUS(repvk_network_load(device, path, &nopt, &net), REPVK_OK);
  if (!net) exit(1);
  const uint32_t classes = repvk_network_num_classes(net);
  CHECK(classes == 7);

  size_t rgb_bytes = 0, rgba_bytes = 0, n1 = 0, n2 = 0;
  unsigned char* rgb = read_file(dir, "pixels.u8", 1, &rgb_bytes);
  unsigned char* rgba = read_file(dir, "pixels_rgba.u8", 1, &rgba_bytes);
  float* want_rgb = read_file(dir, "expected_pixels.f32", 1, &n1);
  float* want_rgba = read_file(dir, "expected_rgba.f32", 1, &n2);
  CHECK(rgb_bytes == 33u * 27u * 3u && rgba_bytes == 40u * 31u * 4u);
  CHECK(n1 == classes * sizeof(float) && n2 == classes * sizeof(float));
  unsigned char* rgb_as_rgba = to_rgba(rgb, 33u * 27u, 3);
  texture t1, t2;
  create_texture(a, &t1, 33, 27);
  create_texture(a, &t2, 40, 31);
  upload_texture(a, &t1, rgb_as_rgba);
  upload_texture(a, &t2, rgba);

  /* Two different images per path, so a stale result cannot pass. */
  classify_recorded(a, net, &t1, 3, want_rgb, classes);
  classify_recorded(a, net, &t2, 4, want_rgba, classes);
  classify_submitted(a, net, &t1, 3, want_rgb, classes);
  classify_submitted(a, net, &t2, 4, want_rgba, classes);

  repvk_network_destroy(net);
  CHECK_STATUS(repvk_device_destroy(device), REPVK_OK);
  check_app_device_alive(a);
  destroy_texture(a, &t1);
  destroy_texture(a, &t2);
  free(rgb);
  free(rgba);
  free(rgb_as_rgba);
  free(want_rgb);
  free(want_rgba);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_c_api_adopt FIXTURE_DIR\n");
    return 2;
  }
  app a;
  memset(&a, 0, sizeof a);
  create_instance(&a);
  create_device(&a);
  run(&a, argv[1]);
  destroy_app(&a);
  CHECK(messages == 0);
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  else printf("all C API adopt checks passed\n");
  return failures ? 1 : 0;
}
