// SPDX-License-Identifier: MIT
// Host side of shaders/conv3x3_texel.comp, the texel conv3x3 kernel (conv3x3_texel.h).
#include "ops/conv3x3_texel.h"

#include <algorithm>
#include <utility>

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

bool Conv3x3TexelOp::fits(const Conv3x3Args& args) {
  const uint64_t max_elements = args.device.info().limits.max_texel_buffer_elements;
  const uint64_t weight_texels = uint64_t(ops::ceil_div(args.layer.out_channels, 4)) * args.input.c * 9;
  return uint64_t(std::max(1u, args.max_batch)) * args.input.elements() <= max_elements &&
         weight_texels <= max_elements;
}

Conv3x3TexelOp::Conv3x3TexelOp(const Conv3x3Args& args)
    : Conv3x3Op(args), max_batch_(std::max(1u, args.max_batch)) {
  const std::string op = "conv3x3_texel";
  // The weights are read from texel_weights_ below: only the bias is uploaded as is.
  bias_ = std::move(ops::upload_bias_only(device_, args.layer, "conv3x3").bias);
  config_ = choose_texel_config(device_.info(), out_, max_batch_, fp16_, args.tuning);
  ops::check_group_count(device_, op, 1, ops::ceil_div(out_.c, config_.oc_block()),
                         "output channel tiles");

  // Expand to [oc/4][ic][tap] x 4 channels; channels past Cout stay zero.
  texel_weights_ = ops::TexelWeights(device_, decode_weights(args.layer), out_.c, size_t(in_.c) * 9);
  const std::vector<SpecConstant> spec = {
      {kSpecWorkgroup, config_.workgroup}, {kSpecStride, stride_}, {kSpecRelu, relu_ ? 1u : 0u}};
  pipeline_ = std::make_unique<ComputePipeline>(
      device_, args.cache, config_.variant->name,
      std::vector<VkDescriptorType>{VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
                                    VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                    VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
                                    VK_DESCRIPTOR_TYPE_STORAGE_BUFFER},
      uint32_t(sizeof(TexelPush)), spec);
}

Conv3x3TexelOp::~Conv3x3TexelOp() {
  for (VkBufferView v : input_views_) vkDestroyBufferView(device_.handle(), v, nullptr);
}

void Conv3x3TexelOp::bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) {
  // The view covers exactly the images one record() may read, which fits() checked
  // against maxTexelBufferElements.
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
                                       {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, bias_.handle(),
                                        VK_NULL_HANDLE}});
}

void Conv3x3TexelOp::record_dispatches(VkCommandBuffer cmd, uint32_t batch) const {
  if (batch > max_batch_)
    throw Error("conv3x3: batch " + std::to_string(batch) + " exceeds the " +
                std::to_string(max_batch_) + " images the op was created for (its input view is sized for them)");
  const uint32_t owb = ops::ceil_div(out_.w, config_.px());
  const uint32_t groups_y = ops::ceil_div(out_.c, config_.oc_block());
  TexelPush push{batch, in_.c, in_.h, in_.w, out_.c, out_.h, out_.w, 0, owb, 0};
  record_position_groups(config_.px(), config_.workgroup, batch,
                         [&](uint32_t first, uint32_t groups_x, uint32_t positions) {
                           push.group_base = first;
                           push.positions = positions;
                           record_dispatch(cmd, *pipeline_, set_, &push, groups_x, groups_y, 1);
                         });
}

}  // namespace repvk
