#include "ops/softmax.h"

#include <algorithm>

#include "ops/op_common.h"

namespace repvk {
namespace {

// Must match the push_constant block of shaders/softmax.comp.
struct SoftmaxPush {
  uint32_t n, k;
};

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
      device, cache, "softmax_f32", 2, uint32_t(sizeof(SoftmaxPush)), std::vector<uint32_t>{wg_});
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

}  // namespace repvk
