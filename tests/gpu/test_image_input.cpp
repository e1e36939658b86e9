// SPDX-License-Identifier: MIT
// GPU image input: an application's VkImage classified without a host round trip.
// The preprocess shader is checked element-wise against repvk::preprocess(), the
// whole path against the CPU reference, through all three entry points
// (record into the app's command buffer, submit with semaphores, blocking).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gpu_fixture.h"
#include "runtime/memory.h"
#include "ops/preprocess_image.h"
#include "repvk/cpu_reference.h"
#include "repvk/error.h"
#include "repvk/network.h"
#include "repvk/synthetic.h"

namespace repvk {
namespace {

using test::GpuTest;

Image make_image(uint32_t w, uint32_t h, uint32_t channels, uint32_t seed) {
  Image img;
  img.width = w;
  img.height = h;
  img.channels = channels;
  img.pixels.resize(size_t(w) * h * channels);
  std::mt19937 rng(seed);
  for (auto& p : img.pixels) p = static_cast<uint8_t>(rng() & 0xFF);
  return img;
}

// What an application does to put pixels in a sampled image: staging buffer,
// copy, transition to SHADER_READ_ONLY_OPTIMAL.
class AppImage {
 public:
  AppImage(Device& device, const Image& img, bool srgb = false) : device_(device) {
    const uint32_t texel = img.channels == 1 ? 1 : img.channels == 2 ? 2 : 4;
    format_ = img.channels == 1   ? VK_FORMAT_R8_UNORM
              : img.channels == 2 ? VK_FORMAT_R8G8_UNORM
              : srgb              ? VK_FORMAT_R8G8B8A8_SRGB
                                  : VK_FORMAT_R8G8B8A8_UNORM;
    width_ = img.width;
    height_ = img.height;
    texel_ = texel;
    VkDevice dev = device.handle();
    VkImageCreateInfo ci{VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
    ci.imageType = VK_IMAGE_TYPE_2D;
    ci.format = format_;
    ci.extent = {img.width, img.height, 1};
    ci.mipLevels = 1;
    ci.arrayLayers = 1;
    ci.samples = VK_SAMPLE_COUNT_1_BIT;
    ci.tiling = VK_IMAGE_TILING_OPTIMAL;
    ci.usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT;
    ci.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    vk_check(vkCreateImage(dev, &ci, nullptr, &image_), "vkCreateImage");
    VkMemoryRequirements req{};
    vkGetImageMemoryRequirements(dev, image_, &req);
    VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    ai.allocationSize = req.size;
    ai.memoryTypeIndex = device.find_memory_type(req.memoryTypeBits, 0,
                                                 VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    vk_check(vkAllocateMemory(dev, &ai, nullptr, &memory_), "vkAllocateMemory");
    vk_check(vkBindImageMemory(dev, image_, memory_, 0), "vkBindImageMemory");
    VkImageViewCreateInfo vci{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
    vci.image = image_;
    vci.viewType = VK_IMAGE_VIEW_TYPE_2D;
    vci.format = format_;
    vci.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    vk_check(vkCreateImageView(dev, &vci, nullptr, &view_), "vkCreateImageView");
    staging_ = Buffer(device, uint64_t(img.width) * img.height * texel, MemoryUsage::Upload);
    write(img);
  }
  ~AppImage() {
    vkDestroyImageView(device_.handle(), view_, nullptr);
    vkDestroyImage(device_.handle(), image_, nullptr);
    vkFreeMemory(device_.handle(), memory_, nullptr);
  }

  // Fills the staging buffer (3-channel pixels get an opaque alpha).
  void write(const Image& img) {
    auto* dst = static_cast<uint8_t*>(staging_.mapped());
    for (size_t i = 0; i < size_t(img.width) * img.height; ++i)
      for (uint32_t c = 0; c < texel_; ++c)
        dst[i * texel_ + c] = c < img.channels ? img.pixels[i * img.channels + c] : 255;
    staging_.flush_host_writes();
  }

  // Records the upload and leaves the image in SHADER_READ_ONLY_OPTIMAL, its writes
  // visible to compute shaders.
  void record_upload(VkCommandBuffer cmd, bool first) const {
    VkImageMemoryBarrier b{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
    b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    b.image = image_;
    b.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    b.oldLayout = first ? VK_IMAGE_LAYOUT_UNDEFINED : VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    b.newLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
    b.srcAccessMask = 0;
    b.dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                         0, 0, nullptr, 0, nullptr, 1, &b);
    VkBufferImageCopy region{};
    region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
    region.imageExtent = {width_, height_, 1};
    vkCmdCopyBufferToImage(cmd, staging_.handle(), image_, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1,
                           &region);
    b.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
    b.newLayout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
    b.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         0, 0, nullptr, 0, nullptr, 1, &b);
  }

  void upload_now(bool first = true) const {
    CommandContext ctx(device_);
    record_upload(ctx.begin(), first);
    ctx.end_submit_wait();
  }

  ImageInput input(uint32_t channels) const {
    ImageInput in;
    in.view = view_;
    in.width = width_;
    in.height = height_;
    in.channels = channels;
    in.srgb = format_ == VK_FORMAT_R8G8B8A8_SRGB;
    return in;
  }
  VkImage image() const { return image_; }

 private:
  Device& device_;
  VkFormat format_ = VK_FORMAT_UNDEFINED;
  uint32_t width_ = 0, height_ = 0, texel_ = 0;
  VkImage image_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  VkImageView view_ = VK_NULL_HANDLE;
  Buffer staging_;
};

// Runs only the preprocess shader and returns the tensor it wrote.
std::vector<float> gpu_preprocess(Device& device, const InputSpec& spec, const ImageInput& in) {
  const size_t n = size_t(spec.channels) * spec.height * spec.width;
  Buffer out(device, n * sizeof(float), MemoryUsage::DeviceLocal);
  fill(device, out, 0xFFFFFFFFu);  // NaN: an unwritten element cannot pass
  PreprocessImageOp op(device, VK_NULL_HANDLE, spec, false, out.handle());
  op.bind(in);
  CommandContext ctx(device);
  VkCommandBuffer cmd = ctx.begin();
  op.record(cmd, in);
  record_compute_barrier(cmd);
  ctx.end_submit_wait();
  std::vector<float> result(n);
  download(device, out, result.data(), n * sizeof(float));
  return result;
}

Image crop(const Image& img, VkRect2D r) {
  Image out;
  out.width = r.extent.width;
  out.height = r.extent.height;
  out.channels = img.channels;
  for (uint32_t y = 0; y < out.height; ++y) {
    const uint8_t* row = img.pixels.data() +
                         ((size_t(y) + r.offset.y) * img.width + r.offset.x) * img.channels;
    out.pixels.insert(out.pixels.end(), row, row + size_t(out.width) * img.channels);
  }
  return out;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i])) return INFINITY;
    worst = std::max(worst, std::fabs(double(a[i]) - b[i]));
  }
  return a.size() == b.size() ? worst : INFINITY;
}

InputSpec spec(uint32_t c, uint32_t h, uint32_t w) {
  InputSpec s;
  s.channels = c;
  s.height = h;
  s.width = w;
  const float means[4] = {0.485f, 0.456f, 0.406f, 0.5f};
  const float stds[4] = {0.229f, 0.224f, 0.225f, 0.25f};
  s.mean.assign(means, means + c);
  s.std.assign(stds, stds + c);
  return s;
}

TEST_F(GpuTest, PreprocessShaderMatchesHostPreprocess) {
  struct Case {
    uint32_t img_w, img_h, img_c, model_c, model_h, model_w;
  };
  // Down- and upscaling, non-square, every channel mapping: gray->gray, RGB->gray
  // (luma), gray->RGB, RGB->RGB, RGBA->RGBA, gray+alpha->RGBA, RGB->RGBA (opaque).
  const Case cases[] = {{37, 23, 1, 1, 28, 28}, {64, 48, 3, 1, 28, 28}, {20, 30, 1, 3, 32, 24},
                        {100, 61, 3, 3, 17, 33}, {15, 15, 4, 4, 15, 15}, {9, 40, 2, 4, 12, 12},
                        {33, 33, 3, 4, 8, 8}};
  uint32_t seed = 1;
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.img_w) + "x" + std::to_string(c.img_h) + "x" +
                 std::to_string(c.img_c) + " -> " + std::to_string(c.model_c) + "x" +
                 std::to_string(c.model_h) + "x" + std::to_string(c.model_w));
    const Image img = make_image(c.img_w, c.img_h, c.img_c, seed++);
    const InputSpec s = spec(c.model_c, c.model_h, c.model_w);
    AppImage app(device(), img);
    app.upload_now();
    const auto got = gpu_preprocess(device(), s, app.input(c.img_c));
    // Values are O(1/std) ~ 4; fp32 weights vs. the host's double taps differ by ~1e-6.
    EXPECT_LE(max_abs_diff(got, preprocess(img, s)), 1e-4);
  }
}

TEST_F(GpuTest, PreprocessShaderRegionOfInterest) {
  const Image img = make_image(50, 40, 3, 7);
  const InputSpec s = spec(3, 16, 16);
  AppImage app(device(), img);
  app.upload_now();
  ImageInput in = app.input(3);
  in.region = {{11, 5}, {23, 30}};
  EXPECT_LE(max_abs_diff(gpu_preprocess(device(), s, in), preprocess(crop(img, in.region), s)),
            1e-4);
}

TEST_F(GpuTest, PreprocessShaderShorterSideAndCentreCrop) {
  // Landscape, portrait and square sources, down and up, also on a region of interest:
  // the shader samples the points the host does (engine/src/io/resize_geometry.h).
  struct Case {
    uint32_t img_w, img_h, shorter, model_h, model_w;
  };
  const Case cases[] = {{97, 61, 40, 32, 32}, {45, 90, 30, 24, 28}, {20, 20, 36, 32, 32},
                        {64, 33, 18, 16, 12}};
  uint32_t seed = 31;
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.img_w) + "x" + std::to_string(c.img_h) + " shorter " +
                 std::to_string(c.shorter));
    const Image img = make_image(c.img_w, c.img_h, 3, seed++);
    InputSpec s = spec(3, c.model_h, c.model_w);
    s.resize = InputResize::ShorterSideCrop;
    s.resize_shorter = c.shorter;
    AppImage app(device(), img);
    app.upload_now();
    EXPECT_LE(max_abs_diff(gpu_preprocess(device(), s, app.input(3)), preprocess(img, s)), 1e-4);
    ImageInput in = app.input(3);
    in.region = {{3, 2}, {c.img_w - 7, c.img_h - 5}};
    EXPECT_LE(max_abs_diff(gpu_preprocess(device(), s, in), preprocess(crop(img, in.region), s)),
              1e-4);
  }
}

TEST_F(GpuTest, PreprocessShaderSrgbViewSeesStoredCodes) {
  const Image img = make_image(24, 24, 4, 9);
  const InputSpec s = spec(3, 24, 24);
  AppImage app(device(), img, /*srgb=*/true);
  app.upload_now();
  // sRGB decode + re-encode round-trips 8-bit codes to within well under one code.
  EXPECT_LE(max_abs_diff(gpu_preprocess(device(), s, app.input(4)), preprocess(img, s)),
            0.5 / 255.0 / 0.224);
}

Model small_model() {
  SyntheticConfig cfg = synthetic_preset("small");
  cfg.stage_widths = {8, 8, 16, 16, 32};
  cfg.mean = {0.3f};
  cfg.std = {0.4f};
  return make_synthetic_model(cfg);
}

std::vector<float> cpu_probabilities(const Model& model, const Image& img) {
  const auto x = preprocess(img, model.input);
  return cpu::forward(model, x.data(), 1);
}

TEST_F(GpuTest, ClassifyImageMatchesCpuPath) {
  const Model model = small_model();
  NetworkOptions opts;
  opts.pipeline_cache_path = "none";
  Network net(device(), model, opts);
  const Image img = make_image(61, 47, 4, 3);
  AppImage app(device(), img);
  app.upload_now();
  const auto probs = net.classify_image(app.input(4));
  EXPECT_LE(max_abs_diff(probs, cpu_probabilities(model, img)), 1e-4);
  EXPECT_TRUE(net.result_ready());
  // The host path still works after (and shares buffers with) the image path.
  EXPECT_LE(max_abs_diff(net.classify(img), cpu_probabilities(model, img)), 1e-4);
}

// The application records upload + classification into its own command buffer,
// once, and resubmits it with new pixels: the recording stays valid.
TEST_F(GpuTest, RecordIntoAppCommandBufferAndResubmit) {
  const Model model = small_model();
  NetworkOptions opts;
  opts.pipeline_cache_path = "none";
  Network net(device(), model, opts);
  Image img = make_image(40, 40, 1, 11);
  AppImage app(device(), img);
  app.upload_now();  // first use: UNDEFINED -> SHADER_READ_ONLY

  VkDevice dev = device().handle();
  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.queueFamilyIndex = device().queue_family();
  VkCommandPool pool = VK_NULL_HANDLE;
  ASSERT_EQ(vkCreateCommandPool(dev, &pci, nullptr, &pool), VK_SUCCESS);
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = pool;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  ASSERT_EQ(vkAllocateCommandBuffers(dev, &ai, &cmd), VK_SUCCESS);
  VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkFence fence = VK_NULL_HANDLE;
  ASSERT_EQ(vkCreateFence(dev, &fci, nullptr, &fence), VK_SUCCESS);

  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  ASSERT_EQ(vkBeginCommandBuffer(cmd, &bi), VK_SUCCESS);
  app.record_upload(cmd, /*first=*/false);
  net.record_classify_image(cmd, app.input(1));
  ASSERT_EQ(vkEndCommandBuffer(cmd), VK_SUCCESS);

  for (uint32_t round = 0; round < 2; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    img = make_image(40, 40, 1, 100 + round);
    app.write(img);
    ASSERT_EQ(vkResetFences(dev, 1, &fence), VK_SUCCESS);
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd;
    device().submit(&si, 1, fence);
    ASSERT_EQ(vkWaitForFences(dev, 1, &fence, VK_TRUE, UINT64_MAX), VK_SUCCESS);
    EXPECT_LE(max_abs_diff(net.read_result(), cpu_probabilities(model, img)), 1e-4);
  }
  vkDestroyFence(dev, fence, nullptr);
  vkDestroyCommandPool(dev, pool, nullptr);
}

// The app uploads on the queue and signals a semaphore; repvk waits on it, signals
// another that the app's next submission waits on, and the app's fence.
TEST_F(GpuTest, SubmitChainsOnSemaphoresAndFence) {
  const Model model = small_model();
  NetworkOptions opts;
  opts.pipeline_cache_path = "none";
  Network net(device(), model, opts);
  const Image img = make_image(30, 20, 3, 5);
  AppImage app(device(), img);

  VkDevice dev = device().handle();
  VkSemaphoreCreateInfo sci{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
  VkSemaphore uploaded = VK_NULL_HANDLE, classified = VK_NULL_HANDLE;
  ASSERT_EQ(vkCreateSemaphore(dev, &sci, nullptr, &uploaded), VK_SUCCESS);
  ASSERT_EQ(vkCreateSemaphore(dev, &sci, nullptr, &classified), VK_SUCCESS);
  VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkFence upload_fence = VK_NULL_HANDLE, done = VK_NULL_HANDLE, after = VK_NULL_HANDLE;
  ASSERT_EQ(vkCreateFence(dev, &fci, nullptr, &upload_fence), VK_SUCCESS);
  ASSERT_EQ(vkCreateFence(dev, &fci, nullptr, &done), VK_SUCCESS);
  ASSERT_EQ(vkCreateFence(dev, &fci, nullptr, &after), VK_SUCCESS);

  CommandContext upload(device());
  VkCommandBuffer cmd = upload.begin();
  app.record_upload(cmd, true);
  ASSERT_EQ(vkEndCommandBuffer(cmd), VK_SUCCESS);
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd;
  si.signalSemaphoreCount = 1;
  si.pSignalSemaphores = &uploaded;
  device().submit(&si, 1, upload_fence);

  SubmitSync sync;
  sync.wait_semaphores = {uploaded};
  sync.wait_stages = {VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT};
  sync.signal_semaphores = {classified};
  sync.fence = done;
  ImageInput in = app.input(3);
  in.image = app.image();  // repvk records the visibility barrier itself
  net.submit_classify_image(in, sync);

  // The app's next submission waits for the classification.
  const VkPipelineStageFlags stage = VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT;
  VkSubmitInfo wait{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  wait.waitSemaphoreCount = 1;
  wait.pWaitSemaphores = &classified;
  wait.pWaitDstStageMask = &stage;
  device().submit(&wait, 1, after);
  const VkFence fences[3] = {upload_fence, done, after};
  ASSERT_EQ(vkWaitForFences(dev, 3, fences, VK_TRUE, UINT64_MAX), VK_SUCCESS);
  EXPECT_TRUE(net.result_ready());
  EXPECT_LE(max_abs_diff(net.read_result(), cpu_probabilities(model, img)), 1e-4);

  for (VkFence f : fences) vkDestroyFence(dev, f, nullptr);
  vkDestroySemaphore(dev, uploaded, nullptr);
  vkDestroySemaphore(dev, classified, nullptr);
}

// The image path is timed like infer(): one time per layer, and a total that also
// covers the preprocess dispatch. Both entry points, since the app's command buffer
// carries the queries on the record path.
TEST_F(GpuTest, ImagePathRecordsGpuTime) {
  if (!device().enabled().timestamps) GTEST_SKIP() << "the device's queue has no timestamps";
  const Model model = small_model();
  NetworkOptions opts;
  opts.pipeline_cache_path = "none";
  Network net(device(), model, opts);
  const Image img = make_image(32, 32, 1, 21);
  AppImage app(device(), img);
  app.upload_now();
  const auto check = [&](const char* path) {
    SCOPED_TRACE(path);
    const auto timings = net.last_timings();
    ASSERT_EQ(timings.size(), model.layers.size());
    double layers = 0;
    for (const auto& t : timings) {
      EXPECT_GE(t.gpu_ms, 0.0) << t.name;
      layers += t.gpu_ms;
    }
    EXPECT_GT(net.last_gpu_ms(), 0.0);
    EXPECT_GE(net.last_gpu_ms() + 1e-9, layers);
    EXPECT_LT(net.last_gpu_ms(), 60e3);  // ticks, not garbage from an unwritten query
  };
  net.classify_image(app.input(1));
  check("submit_classify_image");

  CommandContext ctx(device());
  VkCommandBuffer cmd = ctx.begin();
  net.record_classify_image(cmd, app.input(1));
  ctx.end_submit_wait();
  net.read_result();
  check("record_classify_image");

  // infer() afterwards reports its own run again, not the image's.
  const auto x = preprocess(img, model.input);
  net.infer(x, 1);
  EXPECT_EQ(net.last_timings().size(), model.layers.size());
  EXPECT_GT(net.last_gpu_ms(), 0.0);
}

TEST_F(GpuTest, ImageInputErrorsAreClear) {
  NetworkOptions opts;
  opts.pipeline_cache_path = "none";
  Network net(device(), small_model(), opts);
  const auto message = [&](const ImageInput& in) {
    try {
      net.classify_image(in);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THROW(net.read_result(), Error);
  ImageInput in;
  EXPECT_NE(message(in).find("view is null"), std::string::npos);
  const Image img = make_image(8, 8, 1, 1);
  AppImage app(device(), img);
  app.upload_now();
  in = app.input(1);
  in.region = {{4, 4}, {8, 8}};
  EXPECT_NE(message(in).find("outside the 8x8 image"), std::string::npos) << message(in);
  in = app.input(5);
  EXPECT_NE(message(in).find("channels must be 1..4"), std::string::npos);
  in = app.input(1);
  in.layout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
  EXPECT_NE(message(in).find("SHADER_READ_ONLY_OPTIMAL"), std::string::npos);
}

}  // namespace
}  // namespace repvk
