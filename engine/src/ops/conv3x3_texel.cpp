// Conv3x3Op's Texel path (shaders/conv3x3_texel.comp): activations and weights are
// read through texel-buffer views, the weights expanded once, at load time, into the
// RGBA32F layout the shader fetches four output channels at a time from.
#include <algorithm>

#include "ops/conv3x3.h"

namespace repvk {
namespace {

// Must match the push_constant block of shaders/conv3x3_texel.comp.
struct TexelPush {
  uint32_t n, cin, h, w, cout, oh, ow, group_base, owb, positions;
};
static_assert(sizeof(TexelPush) == 40, "shaders/conv3x3_texel.comp: 40 bytes of push constants");

// Specialization constant ids of shaders/conv3x3_texel.comp (those of conv3x3.comp
// that it shares; the block is compiled in and it reads no codebooks).
enum TexelSpec : uint32_t { kSpecWorkgroup = 0, kSpecStride = 4, kSpecRelu = 5 };

}  // namespace


bool Conv3x3Op::texel_fits(uint32_t batch_hint) const {
  const uint64_t max_elements = device_.info().limits.max_texel_buffer_elements;
  const uint64_t weight_texels = uint64_t(ops::ceil_div(out_.c, 4)) * in_.c * 9;
  return uint64_t(batch_hint) * in_.elements() <= max_elements && weight_texels <= max_elements;
}

void Conv3x3Op::create_texel(VkPipelineCache cache, const Layer& layer, uint32_t batch_hint) {
  const std::string op = "conv3x3_texel";
  texel_ = choose_texel_config(device_.info(), out_, batch_hint, tuning_);
  wg_pixels_ = texel_.workgroup;
  oc_tile_ = texel_.oc_block;
  ops::check_group_count(device_, op, 1, ops::ceil_div(out_.c, oc_tile_), "output channel tiles");

  // Expand to [oc/4][ic][tap] x 4 channels; channels past Cout stay zero.
  texel_weights_ = ops::TexelWeights(device_, decode_weights(layer), out_.c, size_t(in_.c) * 9);
  const std::vector<SpecConstant> spec = {
      {kSpecWorkgroup, texel_.workgroup}, {kSpecStride, stride_}, {kSpecRelu, relu_ ? 1u : 0u}};
  const std::string shader = texel_shader_name(texel_, fp16_);
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
  const VkDeviceSize range = VkDeviceSize(max_batch_) * in_.elements() * (fp16_ ? 2 : 4);
  const VkBufferView view = ops::make_buffer_view(
      device_, input, fp16_ ? VK_FORMAT_R16_SFLOAT : VK_FORMAT_R32_SFLOAT, range);
  input_views_.push_back(view);
  using B = DescriptorArena::Binding;
  set_ = arena.allocate_bindings(*pipeline_,
                        std::vector<B>{{VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, VK_NULL_HANDLE, view},
                                       {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, output, VK_NULL_HANDLE},
                                       {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, VK_NULL_HANDLE,
                                        texel_weights_.view()},
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
