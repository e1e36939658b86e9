// SPDX-License-Identifier: MIT
// Everything the engine knows about softmax: the op (shaders/softmax.comp), its CPU
// reference and its entry in the op-kind table.
#include "ops/softmax.h"

#include <algorithm>
#include <cmath>

#include "ops/op_common.h"
#include "ops/op_kind.h"
#include "repvk/cpu_reference.h"

namespace repvk {
namespace {

// Must match the push_constant block of shaders/softmax.comp.
struct SoftmaxPush {
  uint32_t n, k;
};
static_assert(sizeof(SoftmaxPush) == 8, "shaders/softmax.comp: 8 bytes of push constants");

// Specialization constant ids of shaders/softmax.comp.
constexpr uint32_t kSpecWorkgroup = 0;

// One workgroup per image: 256 lanes cover 1000 classes in four strided steps and
// keep the log2(256) = 8 barrier rounds of each reduction cheap.
constexpr uint32_t kMaxWorkgroup = 256;

}  // namespace

SoftmaxOp::SoftmaxOp(Device& device, VkPipelineCache cache, const TensorShape& input)
    : device_(device) {
  const std::string op = "softmax";
  if (input.elements() == 0 || input.elements() > UINT32_MAX) throw Error(op + ": bad input size");
  classes_ = static_cast<uint32_t>(input.elements());
  // The tree reduction needs a power of two.
  wg_ = ops::pow2_at_least(
      classes_, ops::pow2_at_most(std::min(kMaxWorkgroup, ops::max_workgroup_x(device))));
  pipeline_ = std::make_unique<ComputePipeline>(
      device, cache, "softmax_f32", 2, uint32_t(sizeof(SoftmaxPush)), std::vector<SpecConstant>{{kSpecWorkgroup, wg_}});
}

void SoftmaxOp::bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) {
  set_ = arena.allocate(*pipeline_, {input, output});
}

void SoftmaxOp::record(VkCommandBuffer cmd, uint32_t batch) const {
  if (set_ == VK_NULL_HANDLE) throw Error("softmax: record() before bind()");
  if (batch == 0) return;
  ops::check_group_count(device_, "softmax", 0, batch, "one workgroup per image");
  const SoftmaxPush push{batch, classes_};
  record_dispatch(cmd, *pipeline_, set_, &push, batch, 1, 1);
}

uint64_t SoftmaxOp::flops(uint32_t batch) const {
  // max, subtract+exp, sum, scale: about four operations per class.
  return 4ull * batch * classes_;
}

std::string SoftmaxOp::name() const { return "softmax " + std::to_string(classes_); }

namespace cpu {

void softmax(const float* in, uint32_t n, uint32_t k, float* out) {
  std::vector<double> e(k);
  for (uint32_t b = 0; b < n; ++b) {
    const float* x = in + size_t(b) * k;
    float* y = out + size_t(b) * k;
    double mx = -INFINITY;
    for (uint32_t i = 0; i < k; ++i) mx = std::max(mx, double(x[i]));
    double sum = 0;
    for (uint32_t i = 0; i < k; ++i) {
      e[i] = std::exp(double(x[i]) - mx);
      sum += e[i];
    }
    for (uint32_t i = 0; i < k; ++i) y[i] = float(e[i] / sum);
  }
}

}  // namespace cpu

namespace {

std::unique_ptr<Op> create(const OpPlan& plan) {
  if (plan.input_half || plan.output_half) throw Error("softmax: logits and probabilities are fp32");
  return std::make_unique<SoftmaxOp>(plan.device, plan.cache, plan.input);
}

void cpu_forward(const Layer&, const TensorShape& input, const TensorShape&, const float* in,
                 uint32_t batch, float* out) {
  cpu::softmax(in, batch, uint32_t(input.elements()), out);
}

}  // namespace

const OpKind kSoftmaxOp{LayerType::Softmax, create, cpu_forward};

}  // namespace repvk
