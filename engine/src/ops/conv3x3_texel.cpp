// Conv3x3Op's Texel path (shaders/conv3x3_texel.comp): activations and weights are
// read through texel-buffer views, the weights expanded once, at load time, into the
// RGBA32F layout the shader fetches four output channels at a time from.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "ops/conv3x3.h"

namespace repvk {
namespace {

// Must match the push_constant block of shaders/conv3x3_texel.comp.
struct TexelPush {
  uint32_t n, cin, h, w, cout, oh, ow, group_base, owb, positions;
};

VkBufferView make_view(Device& device, VkBuffer buffer, VkFormat format, VkDeviceSize range) {
  VkBufferViewCreateInfo ci{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
  ci.buffer = buffer;
  ci.format = format;
  ci.offset = 0;
  ci.range = range;
  VkBufferView view = VK_NULL_HANDLE;
  vk_check(vkCreateBufferView(device.handle(), &ci, nullptr, &view), "vkCreateBufferView");
  return view;
}

}  // namespace

TexelConvConfig choose_texel_config(const PhysicalDeviceInfo& device, const TensorShape& output,
                                    uint32_t batch_hint) {
  TexelConvConfig c;
  // lavapipe: 4x8 tied 4x16 and beat 8x8, 8x16, 2x8 and 4x4 on the small model;
  // workgroups of 16, 32 and 64 tied within noise (docs/benchmarks.md, "Kernel log").
  // Past 32 accumulators the spills cost more than the fetches they save. GPUs run
  // Tiled by default; this is a starting point for them.
  uint32_t px = 4;
  uint32_t oc = 8;
  uint32_t wg = 64;
  if (const char* env = std::getenv("REPVK_CONV_TILE")) {
    unsigned a = 0, b = 0, d = 0;
    if (std::sscanf(env, "%u,%u,%u", &a, &b, &d) == 3 && a && b && d) {
      px = a;
      oc = b;
      wg = d;
    }
  }
  // Only compiled blocks (shaders/CMakeLists.txt): 4x8, 4x16, 8x8, 8x16. 2x8 and 4x4
  // were tried and lost (more fetches per multiply-add).
  c.px = px >= 8 ? 8 : 4;
  c.oc_block = oc >= 16 && output.c > 8 ? 16 : 8;
  const uint64_t positions =
      uint64_t(std::max(1u, batch_hint)) * output.h * ops::ceil_div(output.w, c.px);
  const DeviceLimits& limits = device.limits;
  const uint32_t max_wg = std::min(wg, std::max<uint32_t>(1, std::min(limits.max_workgroup_invocations,
                                                                      limits.max_workgroup_size[0])));
  c.workgroup = ops::pow2_at_least(positions, ops::pow2_at_most(max_wg));
  return c;
}

bool Conv3x3Op::texel_fits(uint32_t batch_hint) const {
  const uint64_t max_elements = device_.info().limits.max_texel_buffer_elements;
  const uint64_t weight_texels = uint64_t(ops::ceil_div(out_.c, 4)) * in_.c * 9;
  return uint64_t(batch_hint) * in_.elements() <= max_elements && weight_texels <= max_elements;
}

void Conv3x3Op::create_texel(VkPipelineCache cache, const Layer& layer, uint32_t batch_hint) {
  const std::string op = "conv3x3_texel";
  texel_ = choose_texel_config(device_.info(), out_, batch_hint);
  wg_pixels_ = texel_.workgroup;
  oc_tile_ = texel_.oc_block;
  ops::check_group_count(device_, op, 1, ops::ceil_div(out_.c, oc_tile_), "output channel tiles");

  // Expand to [oc/4][ic][tap] x 4 channels; channels past Cout stay zero.
  const std::vector<float> dense = decode_weights(layer);
  const uint32_t groups = ops::ceil_div(out_.c, 4);
  const size_t row = size_t(in_.c) * 9;
  std::vector<float> expanded(size_t(groups) * row * 4, 0.0f);
  for (uint32_t oc = 0; oc < out_.c; ++oc)
    for (size_t e = 0; e < row; ++e)
      expanded[((oc / 4) * row + e) * 4 + oc % 4] = dense[oc * row + e];
  texel_weights_ = Buffer(device_, expanded.size() * sizeof(float), MemoryUsage::DeviceLocal);
  upload(device_, texel_weights_, expanded.data(), expanded.size() * sizeof(float));
  weights_view_ = make_view(device_, texel_weights_.handle(), VK_FORMAT_R32G32B32A32_SFLOAT,
                            VK_WHOLE_SIZE);
  // The packed copy is not read by this kernel; only the bias stays.
  weights_.words = Buffer();
  weights_.codebooks = Buffer();

  const std::vector<uint32_t> spec = {texel_.workgroup, 0, 0, 0, stride_, relu_ ? 1u : 0u};
  const std::string shader = "conv3x3_texel_" + std::to_string(texel_.px) + "x" +
                             std::to_string(texel_.oc_block) + "_" + ops::act_suffix(fp16_);
  pipeline_ = std::make_unique<ComputePipeline>(
      device_, cache, shader,
      std::vector<VkDescriptorType>{VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
                                    VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                    VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
                                    VK_DESCRIPTOR_TYPE_STORAGE_BUFFER},
      uint32_t(sizeof(TexelPush)), spec);
}

void Conv3x3Op::bind_texel(DescriptorArena& arena, VkBuffer input, VkBuffer output) {
  // The view covers exactly the images one record() may read, which texel_fits()
  // checked against maxTexelBufferElements.
  const VkDeviceSize range = VkDeviceSize(max_batch_) * in_.elements() * input_element_bytes();
  const VkBufferView view = make_view(
      device_, input, fp16_ ? VK_FORMAT_R16_SFLOAT : VK_FORMAT_R32_SFLOAT, range);
  input_views_.push_back(view);
  using B = DescriptorArena::Binding;
  set_ = arena.allocate_bindings(*pipeline_,
                        std::vector<B>{{VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, VK_NULL_HANDLE, view},
                                       {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, output, VK_NULL_HANDLE},
                                       {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, VK_NULL_HANDLE,
                                        weights_view_},
                                       {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, weights_.bias.handle(),
                                        VK_NULL_HANDLE}});
}

void Conv3x3Op::record_texel(VkCommandBuffer cmd, uint32_t batch) const {
  const uint32_t owb = ops::ceil_div(out_.w, texel_.px);
  const uint32_t groups_y = ops::ceil_div(out_.c, oc_tile_);
  TexelPush push{batch, in_.c, in_.h, in_.w, out_.c, out_.h, out_.w, 0, owb, 0};
  record_position_groups(texel_.px, batch, [&](uint32_t first, uint32_t groups_x, uint32_t positions) {
    push.group_base = first;
    push.positions = positions;
    record_dispatch(cmd, *pipeline_, set_, &push, groups_x, groups_y, 1);
  });
}

}  // namespace repvk
