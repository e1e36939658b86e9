// SPDX-License-Identifier: MIT
// Host side of shaders/conv3x3_tiled.comp, the tiled conv3x3 kernel (conv3x3_tiled.h).
#include "ops/conv3x3_tiled.h"

namespace repvk {
namespace {

// Must match the push_constant block of shaders/conv3x3_tiled.comp.
struct TiledPush {
  uint32_t n, cin, h, w, cout, oh, ow, words_per_row, codebook_size, group_base, owb, positions;
};
static_assert(sizeof(TiledPush) == 48, "shaders/conv3x3_tiled.comp: 48 bytes of push constants");

// Specialization constant ids of shaders/conv3x3_tiled.comp (those it shares with
// conv3x3.comp keep its numbers; the channel block is compiled in).
enum TiledSpec : uint32_t {
  kSpecWorkgroup = 0,
  kSpecBits = 2,
  kSpecPerChannel = 3,
  kSpecStride = 4,
  kSpecRelu = 5,
  kSpecCinChunk = 6,
};

}  // namespace

Conv3x3TiledOp::Conv3x3TiledOp(const Conv3x3Args& args) : Conv3x3Op(args) {
  const std::string op = "conv3x3_tiled";
  weights_ = ops::upload_layer_weights(device_, args.layer, "conv3x3");
  const DeviceLimits& limits = device_.info().limits;
  config_ = choose_tiled_config(device_.info(), out_, in_.c, args.max_batch, weights_, fp16_,
                                args.tuning);
  const uint64_t shared = tiled_shared_bytes(config_.cin_chunk, config_.oc_block(), weights_);
  if (shared > limits.max_shared_memory)
    throw Error(op + ": a " + std::to_string(weights_.bits) + "-bit codebook tile needs " +
                std::to_string(shared) + " bytes of shared memory; the device has " +
                std::to_string(limits.max_shared_memory));
  ops::check_group_count(device_, op, 1, ops::ceil_div(out_.c, config_.oc_block()),
                         "output channel tiles");
  const std::vector<SpecConstant> spec = {{kSpecWorkgroup, config_.workgroup},
                                          {kSpecBits, weights_.bits},
                                          {kSpecPerChannel, weights_.per_channel ? 1u : 0u},
                                          {kSpecStride, stride_},
                                          {kSpecRelu, relu_ ? 1u : 0u},
                                          {kSpecCinChunk, config_.cin_chunk}};
  pipeline_ = std::make_unique<ComputePipeline>(device_, args.cache, config_.variant->name, 5,
                                                uint32_t(sizeof(TiledPush)), spec);
}

void Conv3x3TiledOp::bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) {
  set_ = arena.allocate(*pipeline_, {input, output, weights_.words.handle(),
                                     weights_.codebooks.handle(), weights_.bias.handle()});
}

void Conv3x3TiledOp::record_dispatches(VkCommandBuffer cmd, uint32_t batch) const {
  const uint32_t owb = ops::ceil_div(out_.w, config_.px());
  const uint32_t groups_y = ops::ceil_div(out_.c, config_.oc_block());
  TiledPush push{batch,    in_.c,  in_.h,  in_.w, out_.c, out_.h, out_.w, weights_.words_per_row,
                 weights_.codebook_size, 0, owb, 0};
  record_position_groups(config_.px(), config_.workgroup, batch,
                         [&](uint32_t first, uint32_t groups_x, uint32_t positions) {
                           push.group_base = first;
                           push.positions = positions;
                           record_dispatch(cmd, *pipeline_, set_, &push, groups_x, groups_y, 1);
                         });
}

std::string Conv3x3TiledOp::tile_details() const {
  return "cin chunk " + std::to_string(config_.cin_chunk) +
         (config_.subgroup_broadcast() ? ", sg" + std::to_string(config_.variant->subgroup) : "");
}

}  // namespace repvk
