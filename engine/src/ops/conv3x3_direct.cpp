// SPDX-License-Identifier: MIT
// Host side of shaders/conv3x3.comp, the direct conv3x3 kernel (conv3x3_direct.h).
#include "ops/conv3x3_direct.h"

#include <algorithm>

#include "shaders/variants.h"

namespace repvk {
namespace {

// Must match the push_constant block of shaders/conv3x3.comp.
struct ConvPush {
  uint32_t n, cin, h, w, cout, oh, ow, words_per_row, codebook_size, pixel_base;
};
static_assert(sizeof(ConvPush) == 40, "shaders/conv3x3.comp: 40 bytes of push constants");

// Specialization constant ids of shaders/conv3x3.comp.
enum ConvSpec : uint32_t {
  kSpecWorkgroup = 0,
  kSpecOcTile = 1,
  kSpecBits = 2,
  kSpecPerChannel = 3,
  kSpecStride = 4,
  kSpecRelu = 5,
};

static_assert(variants::kConv3x3.has_plain(false) && variants::kConv3x3.has_plain(true),
              "shaders/CMakeLists.txt: conv3x3 is compiled in f32 and f16");

// Output channels per invocation: each loaded input value is reused this many times,
// while the accumulators stay in registers. Four is enough to amortize the loads
// without wasting much work on layers whose Cout is not a multiple of it.
constexpr uint32_t kMaxChannelTile = 4;
// Output pixels per workgroup: a multiple of every common subgroup size (8..64).
constexpr uint32_t kMaxWorkgroupPixels = 64;

}  // namespace

Conv3x3DirectOp::Conv3x3DirectOp(const Conv3x3Args& args) : Conv3x3Op(args) {
  const std::string op = "conv3x3";
  weights_ = ops::upload_layer_weights(device_, args.layer, op);
  const DeviceLimits& limits = device_.info().limits;
  oc_tile_ = std::min(kMaxChannelTile, out_.c);
  while (oc_tile_ > 1 && weights_.shared_bytes(oc_tile_) > limits.max_shared_memory) --oc_tile_;
  if (weights_.shared_bytes(oc_tile_) > limits.max_shared_memory)
    throw Error(op + ": a " + std::to_string(weights_.bits) + "-bit codebook needs " +
                std::to_string(weights_.shared_bytes(1)) +
                " bytes of shared memory; the device has " +
                std::to_string(limits.max_shared_memory));
  // Small late-stage layers (7x7, 1x1) get a workgroup no larger than their plane.
  workgroup_ = ops::pow2_at_least(uint64_t(out_.h) * out_.w,
                                  std::min(kMaxWorkgroupPixels, ops::max_workgroup_x(device_)));
  ops::check_group_count(device_, op, 1, ops::ceil_div(out_.c, oc_tile_), "output channel tiles");

  const std::vector<SpecConstant> spec = {{kSpecWorkgroup, workgroup_},
                                          {kSpecOcTile, oc_tile_},
                                          {kSpecBits, weights_.bits},
                                          {kSpecPerChannel, weights_.per_channel ? 1u : 0u},
                                          {kSpecStride, stride_},
                                          {kSpecRelu, relu_ ? 1u : 0u}};
  pipeline_ = std::make_unique<ComputePipeline>(device_, args.cache,
                                                variants::kConv3x3.plain(fp16_)->name, 5,
                                                uint32_t(sizeof(ConvPush)), spec);
}

void Conv3x3DirectOp::bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) {
  set_ = arena.allocate(*pipeline_, {input, output, weights_.words.handle(),
                                     weights_.codebooks.handle(), weights_.bias.handle()});
}

void Conv3x3DirectOp::record_dispatches(VkCommandBuffer cmd, uint32_t batch) const {
  ops::check_group_count(device_, "conv3x3", 2, batch, "batch");
  const uint64_t pixels = uint64_t(out_.h) * out_.w;
  const uint32_t total_groups = ops::ceil_div(pixels, workgroup_);
  const uint32_t max_x = device_.info().limits.max_workgroup_count[0];
  const uint32_t groups_y = ops::ceil_div(out_.c, oc_tile_);
  ConvPush push{batch,
                in_.c,
                in_.h,
                in_.w,
                out_.c,
                out_.h,
                out_.w,
                weights_.words_per_row,
                weights_.codebook_size,
                0};
  for (uint32_t first = 0; first < total_groups;) {
    const uint32_t groups_x = std::min(max_x, total_groups - first);
    push.pixel_base = first * workgroup_;
    record_dispatch(cmd, *pipeline_, set_, &push, groups_x, groups_y, batch);
    first += groups_x;
  }
}

}  // namespace repvk
