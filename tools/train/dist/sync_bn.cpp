// SPDX-License-Identifier: MIT
#include "dist/sync_bn.h"

#include "oabn.h"

namespace repvk::train {
namespace {

struct AllReduceSum : torch::autograd::Function<AllReduceSum> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& t, Comm* comm) {
    ctx->saved_data["comm"] = int64_t(reinterpret_cast<intptr_t>(comm));
    torch::Tensor out = t.detach().clone().contiguous();
    comm->allreduce_sum(out, "sync-bn statistics");
    return out;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* comm = reinterpret_cast<Comm*>(intptr_t(ctx->saved_data["comm"].toInt()));
    torch::Tensor g = grads[0].contiguous().clone();
    comm->allreduce_sum(g, "sync-bn gradient");
    return {g, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor allreduce_sum_autograd(const torch::Tensor& t, Comm& comm) {
  return AllReduceSum::apply(t, &comm);
}

int enable_sync_bn(torch::nn::Module& m, Comm& comm) {
  int n = 0;
  for (auto& sub : m.modules(/*include_self=*/true)) {
    if (auto* bn = dynamic_cast<BranchNormImpl*>(sub.get())) {
      bn->sync_stats = [&comm](const torch::Tensor& t) { return allreduce_sum_autograd(t, comm); };
      ++n;
    }
  }
  return n;
}

}  // namespace repvk::train
