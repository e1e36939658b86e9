// SPDX-License-Identifier: MIT
#include "dist/grad_sync.h"

namespace repvk::train {

GradientSync::GradientSync(std::vector<torch::Tensor> params, Comm& comm, int64_t bucket_bytes)
    : params_(std::move(params)), comm_(comm) {
  size_t i = 0;
  while (i < params_.size()) {
    Bucket b;
    b.first = i;
    int64_t bytes = 0, numel = 0;
    const auto dtype = params_[i].scalar_type();
    while (i < params_.size() && params_[i].scalar_type() == dtype &&
           (i == b.first || bytes + params_[i].nbytes() <= size_t(bucket_bytes))) {
      bytes += int64_t(params_[i].nbytes());
      numel += params_[i].numel();
      ++i;
    }
    b.last = i;
    const bool last = i == params_.size();
    b.flat = torch::zeros({numel + (last ? 1 : 0)}, params_[b.first].options().requires_grad(false));
    buckets_.push_back(std::move(b));
  }
  if (buckets_.empty()) buckets_.push_back({0, 0, torch::zeros({1})});
}

int64_t GradientSync::bytes_per_step() const {
  int64_t n = 0;
  for (const auto& b : buckets_) n += int64_t(b.flat.nbytes());
  return n;
}

double GradientSync::sum(double flag) {
  torch::NoGradGuard ng;
  for (auto& b : buckets_) {
    int64_t off = 0;
    for (size_t i = b.first; i < b.last; ++i) {
      const torch::Tensor& p = params_[i];
      torch::Tensor dst = b.flat.narrow(0, off, p.numel());
      if (p.grad().defined()) dst.copy_(p.grad().reshape({-1}));
      else dst.zero_();
      off += p.numel();
    }
    if (&b == &buckets_.back()) b.flat[b.flat.size(0) - 1] = flag;
    comm_.allreduce_sum(b.flat, "gradient all-reduce");
    off = 0;
    for (size_t i = b.first; i < b.last; ++i) {
      torch::Tensor p = params_[i];
      torch::Tensor src = b.flat.narrow(0, off, p.numel()).view(p.sizes());
      if (p.grad().defined()) p.mutable_grad().copy_(src);
      else p.mutable_grad() = src.clone();
      off += p.numel();
    }
  }
  const torch::Tensor& lastb = buckets_.back().flat;
  return lastb[lastb.size(0) - 1].item<double>();
}

void broadcast_module(torch::nn::Module& m, Comm& comm) {
  if (!comm.distributed()) return;
  torch::NoGradGuard ng;
  for (auto& p : m.parameters()) {
    torch::Tensor t = p.detach();
    comm.broadcast(t, 0, "parameter broadcast");
  }
  broadcast_buffers(m, comm);
}

void broadcast_buffers(torch::nn::Module& m, Comm& comm) {
  if (!comm.distributed()) return;
  torch::NoGradGuard ng;
  for (auto& b : m.buffers()) comm.broadcast(b, 0, "buffer broadcast");
}

void broadcast_tensors(std::vector<torch::Tensor>& ts, Comm& comm) {
  if (!comm.distributed() || ts.empty()) return;
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> flat;
  for (const auto& t : ts) flat.push_back(t.reshape({-1}));
  torch::Tensor all = torch::cat(flat);
  comm.broadcast(all, 0, "tensor broadcast");
  int64_t off = 0;
  for (auto& t : ts) {
    t.copy_(all.narrow(0, off, t.numel()).view(t.sizes()));
    off += t.numel();
  }
}

}  // namespace repvk::train
