// SPDX-License-Identifier: MIT
// lavapipe_cache_width: a minimal Vulkan program (no repvk) that shows a Mesa lavapipe
// bug: vertex shader code JIT-compiled at one SIMD width is loaded from Mesa's on-disk
// shader cache and run at another, and writes past the end of a heap buffer.
//
// It renders, headless, triangle lists of 3..192 vertices with a vertex shader that has
// many outputs, and exits 0. Run it twice with one cache directory:
//
//   export MESA_SHADER_CACHE_DIR=$(mktemp -d)
//   LP_NATIVE_VECTOR_WIDTH=256 ./lavapipe_cache_width   # compiles 8-wide, stores it
//   LP_NATIVE_VECTOR_WIDTH=128 ./lavapipe_cache_width   # loads the 8-wide code: heap
//                                                       # corruption (abort or SIGSEGV)
//
// (reproduce.sh next to this file does exactly that.) In Mesa 22.3.6 the cache of
// llvmpipe (lavapipe's backend) is keyed by the Mesa and LLVM builds, GALLIVM_PERF and
// the CPU's features (llvmpipe/lp_screen.c, lp_disk_cache_create) and, per vertex
// shader, by its NIR and variant key (draw/draw_llvm.c, draw_get_ir_cache_key), but not
// by LP_NATIVE_VECTOR_WIDTH. The draw module sizes its vertex output buffer by the
// *current* width (draw/draw_pt_fetch_shade_pipeline_llvm.c, llvm_pipeline_generic:
// MALLOC(vertex_size * align(count, lp_native_vector_width / 32) + padding)), while the
// cached shader stores whole 8-vertex batches: with count % 8 in 1..4 the last batch
// lands up to 4 vertices past the buffer. A cold cache, or a cache per width, runs
// clean. (At 512 bits any draw crashes in LLVM while lavapipe compiles it, cache or
// not: a different Mesa 22.3 problem, see docs/lavapipe.md.)
//
// Build: glslc -mfmt=num -o many_outputs.vert.inc many_outputs.vert (same for .frag),
//        c++ -std=c++17 -I. lavapipe_cache_width.cpp -lvulkan
#include <vulkan/vulkan.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

const uint32_t kVertexSpirv[] = {
#include "many_outputs.vert.inc"
};
const uint32_t kFragmentSpirv[] = {
#include "many_outputs.frag.inc"
};

constexpr uint32_t kSize = 64;
constexpr uint32_t kMaxTriangles = 64;
constexpr int kRounds = 4;

void check(VkResult r, const char* what) {
  if (r == VK_SUCCESS) return;
  std::fprintf(stderr, "lavapipe_cache_width: %s failed: VkResult %d\n", what, int(r));
  std::exit(1);
}

VkShaderModule module(VkDevice dev, const uint32_t* code, size_t bytes) {
  VkShaderModuleCreateInfo ci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  ci.codeSize = bytes;
  ci.pCode = code;
  VkShaderModule m = VK_NULL_HANDLE;
  check(vkCreateShaderModule(dev, &ci, nullptr, &m), "vkCreateShaderModule");
  return m;
}

}  // namespace

int main() {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "lavapipe_cache_width";
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo ici{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ici.pApplicationInfo = &app;
  VkInstance instance = VK_NULL_HANDLE;
  check(vkCreateInstance(&ici, nullptr, &instance), "vkCreateInstance");

  uint32_t n = 0;
  check(vkEnumeratePhysicalDevices(instance, &n, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> pds(n);
  check(vkEnumeratePhysicalDevices(instance, &n, pds.data()), "vkEnumeratePhysicalDevices");
  VkPhysicalDevice pd = VK_NULL_HANDLE;
  for (VkPhysicalDevice p : pds) {
    VkPhysicalDeviceProperties props{};
    vkGetPhysicalDeviceProperties(p, &props);
    if (props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU) pd = p;
  }
  if (pd == VK_NULL_HANDLE) {
    std::fprintf(stderr, "lavapipe_cache_width: no CPU Vulkan device (lavapipe) found\n");
    return 77;
  }
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceProperties2 props2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  props2.pNext = &subgroup;
  vkGetPhysicalDeviceProperties2(pd, &props2);
  std::printf("%s, %u-wide\n", props2.properties.deviceName, subgroup.subgroupSize);

  uint32_t family_count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &family_count, nullptr);
  std::vector<VkQueueFamilyProperties> families(family_count);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &family_count, families.data());
  uint32_t family = 0;
  while (family < family_count && !(families[family].queueFlags & VK_QUEUE_GRAPHICS_BIT)) ++family;
  if (family == family_count) {
    std::fprintf(stderr, "lavapipe_cache_width: no graphics queue\n");
    return 1;
  }
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  VkDevice dev = VK_NULL_HANDLE;
  check(vkCreateDevice(pd, &dci, nullptr, &dev), "vkCreateDevice");
  VkQueue queue = VK_NULL_HANDLE;
  vkGetDeviceQueue(dev, family, 0, &queue);

  // Colour target.
  const VkFormat format = VK_FORMAT_R8G8B8A8_UNORM;
  VkImageCreateInfo imci{VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
  imci.imageType = VK_IMAGE_TYPE_2D;
  imci.format = format;
  imci.extent = {kSize, kSize, 1};
  imci.mipLevels = imci.arrayLayers = 1;
  imci.samples = VK_SAMPLE_COUNT_1_BIT;
  imci.usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT;
  VkImage image = VK_NULL_HANDLE;
  check(vkCreateImage(dev, &imci, nullptr, &image), "vkCreateImage");
  VkMemoryRequirements req{};
  vkGetImageMemoryRequirements(dev, image, &req);
  uint32_t type = 0;
  while (!(req.memoryTypeBits & (1u << type))) ++type;
  VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = type;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  check(vkAllocateMemory(dev, &mai, nullptr, &memory), "vkAllocateMemory");
  check(vkBindImageMemory(dev, image, memory, 0), "vkBindImageMemory");
  VkImageViewCreateInfo vci{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
  vci.image = image;
  vci.viewType = VK_IMAGE_VIEW_TYPE_2D;
  vci.format = format;
  vci.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
  VkImageView view = VK_NULL_HANDLE;
  check(vkCreateImageView(dev, &vci, nullptr, &view), "vkCreateImageView");

  VkAttachmentDescription att{};
  att.format = format;
  att.samples = VK_SAMPLE_COUNT_1_BIT;
  att.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
  att.storeOp = VK_ATTACHMENT_STORE_OP_STORE;
  att.stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
  att.stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
  att.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
  att.finalLayout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL;
  VkAttachmentReference ref{0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
  VkSubpassDescription sub{};
  sub.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS;
  sub.colorAttachmentCount = 1;
  sub.pColorAttachments = &ref;
  VkRenderPassCreateInfo rpci{VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO};
  rpci.attachmentCount = 1;
  rpci.pAttachments = &att;
  rpci.subpassCount = 1;
  rpci.pSubpasses = &sub;
  VkRenderPass pass = VK_NULL_HANDLE;
  check(vkCreateRenderPass(dev, &rpci, nullptr, &pass), "vkCreateRenderPass");
  VkFramebufferCreateInfo fci{VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO};
  fci.renderPass = pass;
  fci.attachmentCount = 1;
  fci.pAttachments = &view;
  fci.width = fci.height = kSize;
  fci.layers = 1;
  VkFramebuffer framebuffer = VK_NULL_HANDLE;
  check(vkCreateFramebuffer(dev, &fci, nullptr, &framebuffer), "vkCreateFramebuffer");

  // Pipeline: no vertex input, no descriptors.
  VkPipelineLayoutCreateInfo plci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  VkPipelineLayout layout = VK_NULL_HANDLE;
  check(vkCreatePipelineLayout(dev, &plci, nullptr, &layout), "vkCreatePipelineLayout");
  VkPipelineShaderStageCreateInfo stages[2]{};
  stages[0].sType = stages[1].sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  stages[0].stage = VK_SHADER_STAGE_VERTEX_BIT;
  stages[0].module = module(dev, kVertexSpirv, sizeof kVertexSpirv);
  stages[0].pName = "main";
  stages[1].stage = VK_SHADER_STAGE_FRAGMENT_BIT;
  stages[1].module = module(dev, kFragmentSpirv, sizeof kFragmentSpirv);
  stages[1].pName = "main";
  VkPipelineVertexInputStateCreateInfo vi{VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO};
  VkPipelineInputAssemblyStateCreateInfo ia{
      VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO};
  ia.topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST;
  VkViewport viewport{0, 0, float(kSize), float(kSize), 0, 1};
  VkRect2D scissor{{0, 0}, {kSize, kSize}};
  VkPipelineViewportStateCreateInfo vp{VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO};
  vp.viewportCount = vp.scissorCount = 1;
  vp.pViewports = &viewport;
  vp.pScissors = &scissor;
  VkPipelineRasterizationStateCreateInfo rs{
      VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO};
  rs.polygonMode = VK_POLYGON_MODE_FILL;
  rs.cullMode = VK_CULL_MODE_NONE;
  rs.lineWidth = 1.0f;
  VkPipelineMultisampleStateCreateInfo ms{VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO};
  ms.rasterizationSamples = VK_SAMPLE_COUNT_1_BIT;
  VkPipelineColorBlendAttachmentState blend{};
  blend.colorWriteMask = 0xf;
  VkPipelineColorBlendStateCreateInfo cb{VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO};
  cb.attachmentCount = 1;
  cb.pAttachments = &blend;
  VkGraphicsPipelineCreateInfo gci{VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO};
  gci.stageCount = 2;
  gci.pStages = stages;
  gci.pVertexInputState = &vi;
  gci.pInputAssemblyState = &ia;
  gci.pViewportState = &vp;
  gci.pRasterizationState = &rs;
  gci.pMultisampleState = &ms;
  gci.pColorBlendState = &cb;
  gci.layout = layout;
  gci.renderPass = pass;
  VkPipeline pipeline = VK_NULL_HANDLE;
  check(vkCreateGraphicsPipelines(dev, VK_NULL_HANDLE, 1, &gci, nullptr, &pipeline),
        "vkCreateGraphicsPipelines");

  VkCommandPoolCreateInfo cpci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  cpci.queueFamilyIndex = family;
  VkCommandPool pool = VK_NULL_HANDLE;
  check(vkCreateCommandPool(dev, &cpci, nullptr, &pool), "vkCreateCommandPool");
  VkCommandBufferAllocateInfo cbai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  cbai.commandPool = pool;
  cbai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cbai.commandBufferCount = 1;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  check(vkAllocateCommandBuffers(dev, &cbai, &cmd), "vkAllocateCommandBuffers");

  // One draw per vertex count 3, 6, ..., 192: every remainder mod 8 occurs, so some
  // draws end a batch 1..4 vertices into an 8-vertex SIMD group.
  for (int round = 0; round < kRounds; ++round) {
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    check(vkBeginCommandBuffer(cmd, &bi), "vkBeginCommandBuffer");
    VkClearValue clear{};
    VkRenderPassBeginInfo rbi{VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO};
    rbi.renderPass = pass;
    rbi.framebuffer = framebuffer;
    rbi.renderArea = scissor;
    rbi.clearValueCount = 1;
    rbi.pClearValues = &clear;
    vkCmdBeginRenderPass(cmd, &rbi, VK_SUBPASS_CONTENTS_INLINE);
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, pipeline);
    for (uint32_t t = 1; t <= kMaxTriangles; ++t) vkCmdDraw(cmd, 3 * t, 1, 0, 0);
    vkCmdEndRenderPass(cmd);
    check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd;
    check(vkQueueSubmit(queue, 1, &si, VK_NULL_HANDLE), "vkQueueSubmit");
    check(vkQueueWaitIdle(queue), "vkQueueWaitIdle");
    check(vkResetCommandPool(dev, pool, 0), "vkResetCommandPool");
  }

  vkDestroyCommandPool(dev, pool, nullptr);
  vkDestroyPipeline(dev, pipeline, nullptr);
  vkDestroyShaderModule(dev, stages[0].module, nullptr);
  vkDestroyShaderModule(dev, stages[1].module, nullptr);
  vkDestroyPipelineLayout(dev, layout, nullptr);
  vkDestroyFramebuffer(dev, framebuffer, nullptr);
  vkDestroyRenderPass(dev, pass, nullptr);
  vkDestroyImageView(dev, view, nullptr);
  vkDestroyImage(dev, image, nullptr);
  vkFreeMemory(dev, memory, nullptr);
  vkDestroyDevice(dev, nullptr);
  vkDestroyInstance(instance, nullptr);
  std::printf("ok: %d rounds of %u draws\n", kRounds, kMaxTriangles);
  return 0;
}
