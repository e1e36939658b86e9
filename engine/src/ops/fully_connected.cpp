#include "ops/fully_connected.h"

#include <algorithm>

namespace repvk {
namespace {

// Must match the push_constant block of shaders/fully_connected.comp.
struct FcPush {
  uint32_t n, in_features, out_features, words_per_row, codebook_size;
};

// Output features per workgroup. Per-channel codebooks stage one codebook per
// feature, so 8-bit layers shrink this to fit shared memory (32 on a 32 KiB device).
constexpr uint32_t kMaxWorkgroup = 64;

}  // namespace

FullyConnectedOp::FullyConnectedOp(Device& device, VkPipelineCache cache, const Layer& layer,
                                   const TensorShape& input, bool fp16)
    : device_(device),
      in_features_(layer.in_channels),
      out_features_(layer.out_channels),
      relu_(layer.relu) {
  const std::string op = "fully_connected";
  if (layer.type != LayerType::FullyConnected) throw Error(op + ": layer is not fully_connected");
  if (fp16)
    throw Error(op +
                ": inputs are always fp32 (global_avg_pool writes fp32); plan the "
                "FC input buffer as fp32 and pass fp16 = false");
  if (input.elements() != layer.in_channels || layer.in_channels == 0)
    throw Error(op + ": layer expects " + std::to_string(layer.in_channels) +
                " inputs, the input has " + std::to_string(input.elements()));
  if (out_features_ == 0) throw Error(op + ": no outputs");

  weights_ = ops::upload_layer_weights(device, layer, op);

  const DeviceLimits& limits = device.info().limits;
  wg_ = ops::pow2_at_least(out_features_, std::min(kMaxWorkgroup, ops::max_workgroup_x(device)));
  while (wg_ > 1 && weights_.shared_bytes(wg_) > limits.max_shared_memory) wg_ /= 2;
  if (weights_.shared_bytes(wg_) > limits.max_shared_memory)
    throw Error(op + ": a " + std::to_string(weights_.bits) + "-bit codebook needs " +
                std::to_string(weights_.shared_bytes(1)) +
                " bytes of shared memory; the device has " +
                std::to_string(limits.max_shared_memory));
  ops::check_group_count(device, op, 0, ops::ceil_div(out_features_, wg_), "outputs");

  const std::vector<uint32_t> spec = {wg_, weights_.bits, weights_.per_channel ? 1u : 0u,
                                      relu_ ? 1u : 0u};
  pipeline_ = std::make_unique<ComputePipeline>(device, cache, "fully_connected_f32", 5,
                                                uint32_t(sizeof(FcPush)), spec);
}

void FullyConnectedOp::bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) {
  set_ = arena.allocate(*pipeline_, {input, output, weights_.words.handle(),
                                     weights_.codebooks.handle(), weights_.bias.handle()});
}

void FullyConnectedOp::record(VkCommandBuffer cmd, uint32_t batch) const {
  if (set_ == VK_NULL_HANDLE) throw Error("fully_connected: record() before bind()");
  if (batch == 0) return;
  ops::check_group_count(device_, "fully_connected", 1, batch, "batch");
  const FcPush push{batch, in_features_, out_features_, weights_.words_per_row,
                    weights_.codebook_size};
  record_dispatch(cmd, *pipeline_, set_, &push, ops::ceil_div(out_features_, wg_), batch, 1);
}

uint64_t FullyConnectedOp::flops(uint32_t batch) const {
  return 2ull * batch * in_features_ * out_features_;
}

std::string FullyConnectedOp::name() const {
  return "fully_connected " + std::to_string(in_features_) + "->" + std::to_string(out_features_) +
         " " + weights_.tag() + (relu_ ? " relu" : "");
}

}  // namespace repvk
