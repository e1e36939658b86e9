#include "ops/global_avg_pool.h"

#include <algorithm>

#include "ops/op_common.h"

namespace repvk {
namespace {

// Must match the push_constant block of shaders/global_avg_pool.comp.
struct PoolPush {
  uint32_t planes, plane_size;
};

// One invocation per plane; N*C is usually a few thousand, so 64 keeps enough
// workgroups in flight without idling lanes on small batches.
constexpr uint32_t kMaxWorkgroup = 64;

}  // namespace

GlobalAvgPoolOp::GlobalAvgPoolOp(Device& device, VkPipelineCache cache, const TensorShape& input,
                                 bool fp16)
    : device_(device), in_(input), fp16_(fp16) {
  const std::string op = "global_avg_pool";
  if (input.c == 0 || input.h == 0 || input.w == 0) throw Error(op + ": empty input");
  if (uint64_t(input.h) * input.w > UINT32_MAX) throw Error(op + ": plane too large");
  ops::check_fp16(device, op, fp16);
  wg_ = std::min(kMaxWorkgroup, ops::max_workgroup_x(device));
  pipeline_ = std::make_unique<ComputePipeline>(
      device, cache, std::string("global_avg_pool_") + ops::act_suffix(fp16), 2,
      uint32_t(sizeof(PoolPush)), std::vector<uint32_t>{wg_});
}

void GlobalAvgPoolOp::bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) {
  set_ = arena.allocate(*pipeline_, {input, output});
}

void GlobalAvgPoolOp::record(VkCommandBuffer cmd, uint32_t batch) const {
  if (set_ == VK_NULL_HANDLE) throw Error("global_avg_pool: record() before bind()");
  if (batch == 0) return;
  const uint64_t planes = uint64_t(batch) * in_.c;
  const uint32_t groups = ops::ceil_div(planes, wg_);
  ops::check_group_count(device_, "global_avg_pool", 0, groups, "batch * channels");
  const PoolPush push{static_cast<uint32_t>(planes), in_.h * in_.w};
  record_dispatch(cmd, *pipeline_, set_, &push, groups, 1, 1);
}

uint64_t GlobalAvgPoolOp::flops(uint32_t batch) const { return uint64_t(batch) * in_.elements(); }

std::string GlobalAvgPoolOp::name() const {
  return "global_avg_pool " + std::to_string(in_.c) + "x" + std::to_string(in_.h) + "x" +
         std::to_string(in_.w) + " " + ops::act_suffix(fp16_);
}

}  // namespace repvk
