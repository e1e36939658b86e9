#include "ops/conv3x3.h"

#include <algorithm>

namespace repvk {
namespace {

// Must match the push_constant block of shaders/conv3x3.comp.
struct ConvPush {
  uint32_t n, cin, h, w, cout, oh, ow, words_per_row, codebook_size, pixel_base;
};

// Output channels per invocation: each loaded input value is reused this many times,
// while the accumulators stay in registers. Four is enough to amortize the loads
// without wasting much work on layers whose Cout is not a multiple of it.
constexpr uint32_t kMaxChannelTile = 4;
// Output pixels per workgroup: a multiple of every common subgroup size (8..64).
constexpr uint32_t kMaxWorkgroupPixels = 64;

}  // namespace

Conv3x3Op::Conv3x3Op(Device& device, VkPipelineCache cache, const Layer& layer,
                     const TensorShape& input, bool fp16)
    : device_(device), in_(input), stride_(layer.stride), relu_(layer.relu), fp16_(fp16) {
  const std::string op = "conv3x3";
  if (layer.type != LayerType::Conv3x3) throw Error(op + ": layer is not a conv3x3");
  if (layer.in_channels != input.c || input.c == 0 || input.h == 0 || input.w == 0)
    throw Error(op + ": layer expects " + std::to_string(layer.in_channels) +
                " input channels, the input has " + std::to_string(input.c) + "x" +
                std::to_string(input.h) + "x" + std::to_string(input.w));
  if (stride_ != 1 && stride_ != 2) throw Error(op + ": stride must be 1 or 2");
  if (layer.out_channels == 0) throw Error(op + ": no output channels");
  ops::check_fp16(device, op, fp16);
  out_ = TensorShape{layer.out_channels, (input.h - 1) / stride_ + 1, (input.w - 1) / stride_ + 1};

  weights_ = ops::upload_layer_weights(device, layer, op);

  const DeviceLimits& limits = device.info().limits;
  oc_tile_ = std::min(kMaxChannelTile, out_.c);
  while (oc_tile_ > 1 && weights_.shared_bytes(oc_tile_) > limits.max_shared_memory) --oc_tile_;
  if (weights_.shared_bytes(oc_tile_) > limits.max_shared_memory)
    throw Error(op + ": a " + std::to_string(weights_.bits) + "-bit codebook needs " +
                std::to_string(weights_.shared_bytes(1)) +
                " bytes of shared memory; the device has " +
                std::to_string(limits.max_shared_memory));
  // Small late-stage layers (7x7, 1x1) get a workgroup no larger than their plane.
  wg_pixels_ = ops::pow2_at_least(uint64_t(out_.h) * out_.w,
                                  std::min(kMaxWorkgroupPixels, ops::max_workgroup_x(device)));
  ops::check_group_count(device, op, 1, ops::ceil_div(out_.c, oc_tile_), "output channel tiles");

  const std::vector<uint32_t> spec = {wg_pixels_,    oc_tile_,
                                      weights_.bits, weights_.per_channel ? 1u : 0u,
                                      stride_,       relu_ ? 1u : 0u};
  pipeline_ = std::make_unique<ComputePipeline>(device, cache,
                                                std::string("conv3x3_") + ops::act_suffix(fp16), 5,
                                                uint32_t(sizeof(ConvPush)), spec);
}

void Conv3x3Op::bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) {
  set_ = arena.allocate(*pipeline_, {input, output, weights_.words.handle(),
                                     weights_.codebooks.handle(), weights_.bias.handle()});
}

void Conv3x3Op::record(VkCommandBuffer cmd, uint32_t batch) const {
  if (set_ == VK_NULL_HANDLE) throw Error("conv3x3: record() before bind()");
  if (batch == 0) return;
  ops::check_group_count(device_, "conv3x3", 2, batch, "batch");
  const uint64_t pixels = uint64_t(out_.h) * out_.w;
  const uint32_t total_groups = ops::ceil_div(pixels, wg_pixels_);
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
    push.pixel_base = first * wg_pixels_;
    record_dispatch(cmd, *pipeline_, set_, &push, groups_x, groups_y, batch);
    first += groups_x;
  }
}

uint64_t Conv3x3Op::flops(uint32_t batch) const {
  return 2ull * batch * out_.elements() * in_.c * 9;
}

std::string Conv3x3Op::name() const {
  return "conv3x3 " + std::to_string(in_.c) + "->" + std::to_string(out_.c) + " s" +
         std::to_string(stride_) + " " + std::to_string(in_.h) + "x" + std::to_string(in_.w) + " " +
         weights_.tag() + (relu_ ? " relu" : "") + " " + ops::act_suffix(fp16_);
}

}  // namespace repvk
