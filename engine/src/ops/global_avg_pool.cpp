// SPDX-License-Identifier: MIT
// Everything the engine knows about global_avg_pool: the op (shaders/global_avg_pool.comp),
// its CPU reference and its entry in the op-kind table.
#include "ops/global_avg_pool.h"

#include <algorithm>

#include "ops/op_common.h"
#include "ops/op_kind.h"
#include "repvk/cpu_reference.h"

namespace repvk {
namespace {

// Must match the push_constant block of shaders/global_avg_pool.comp.
struct PoolPush {
  uint32_t planes, plane_size;
};
static_assert(sizeof(PoolPush) == 8, "shaders/global_avg_pool.comp: 8 bytes of push constants");

// Specialization constant ids of shaders/global_avg_pool.comp.
constexpr uint32_t kSpecWorkgroup = 0;

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
      uint32_t(sizeof(PoolPush)), std::vector<SpecConstant>{{kSpecWorkgroup, wg_}});
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

namespace cpu {

void global_avg_pool(const float* in, uint32_t n, uint32_t c, uint32_t h, uint32_t w, float* out) {
  const size_t plane = size_t(h) * w;
  for (size_t p = 0; p < size_t(n) * c; ++p) {
    double s = 0;
    for (size_t i = 0; i < plane; ++i) s += in[p * plane + i];
    out[p] = float(s / double(plane));
  }
}

}  // namespace cpu

namespace {

std::unique_ptr<Op> create(const OpPlan& plan) {
  if (plan.output_half) throw Error("global_avg_pool: its output is always fp32");
  return std::make_unique<GlobalAvgPoolOp>(plan.device, plan.cache, plan.input, plan.input_half);
}

void cpu_forward(const Layer&, const TensorShape& input, const TensorShape&, const float* in,
                 uint32_t batch, float* out) {
  cpu::global_avg_pool(in, batch, input.c, input.h, input.w, out);
}

}  // namespace

const OpKind kGlobalAvgPoolOp{LayerType::GlobalAvgPool, create, cpu_forward};

}  // namespace repvk
