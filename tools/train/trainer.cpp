// SPDX-License-Identifier: MIT
#include "trainer.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <thread>

#include "dist/grad_sync.h"
#include "dist/sampler.h"
#include "dist/sync_bn.h"

namespace repvk::train {
namespace {

std::atomic<bool> g_interrupt{false};
extern "C" void on_sigint(int) { g_interrupt = true; }

// Installs the Ctrl-C handler for the lifetime of a run and restores the old one.
struct SigintScope {
  void (*old)(int);
  SigintScope() : old(std::signal(SIGINT, on_sigint)) { g_interrupt = false; }
  ~SigintScope() { std::signal(SIGINT, old); }
};

using Clock = std::chrono::steady_clock;
constexpr double kPi = 3.14159265358979323846;

}  // namespace

torch::Device pick_device(int threads, Logger& log) {
  if (torch::cuda::is_available()) {
    log.log("device: CUDA (" + std::to_string(torch::cuda::device_count()) + " GPU(s))");
    return torch::Device(torch::kCUDA);
  }
  const int n = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
  // Debian's libtorch starts with one intra-op thread; training wants every core.
  at::set_num_threads(n);
  log.log("device: CPU, " + std::to_string(n) + " thread(s)");
  return torch::Device(torch::kCPU);
}

torch::Tensor predict(torch::nn::Module& module,
                      const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                      const Dataset& d, const Normalization& norm, int64_t begin, int64_t count,
                      torch::Device device) {
  torch::NoGradGuard ng;
  const bool was_training = module.is_training();
  module.eval();
  torch::Tensor idx = torch::arange(begin, begin + count, torch::kInt64);
  torch::Tensor out = forward(make_batch(d, idx, norm, Augmentation{}, 0).to(device)).to(torch::kCPU);
  module.train(was_training);
  return out;
}

double evaluate(torch::nn::Module& module,
                const std::function<torch::Tensor(const torch::Tensor&)>& forward, const Dataset& d,
                const Normalization& norm, int64_t batch, torch::Device device, Comm* comm) {
  const Slice mine = comm ? rank_slice(d.size(), comm->rank(), comm->world()) : Slice{0, d.size()};
  int64_t correct = 0;
  for (int64_t b = mine.begin; b < mine.begin + mine.count; b += batch) {
    const int64_t n = std::min(batch, mine.begin + mine.count - b);
    torch::Tensor logits = predict(module, forward, d, norm, b, n, device);
    correct += logits.argmax(1).eq(d.labels.narrow(0, b, n)).sum().item<int64_t>();
  }
  if (comm && comm->distributed()) {
    torch::Tensor c = torch::tensor({correct}, torch::kInt64);
    comm->allreduce_sum(c, "evaluation counts");
    correct = c.item<int64_t>();
  }
  return d.size() ? double(correct) / double(d.size()) : 0.0;
}

Trainer::Trainer(TrainTarget target, const Dataset& train, const Dataset* eval, Normalization norm,
                 TrainOptions opt, torch::Device device, Logger& log)
    : t_(std::move(target)), train_(train), eval_(eval), norm_(std::move(norm)), opt_(opt),
      device_(device), log_(log) {
  if (opt_.epochs < 1) throw TrainError("--epochs must be >= 1");
  if (opt_.batch < 1) throw TrainError("--batch must be >= 1");
  if (!(opt_.lr > 0)) throw TrainError("--lr must be > 0");
  // Weight decay on kernels only: decaying BN γ/β or biases just fights the
  // normalization and, for OABN, the bounds.
  std::vector<torch::Tensor> decay, no_decay;
  for (auto& p : t_.module->parameters()) (p.dim() > 1 ? decay : no_decay).push_back(p);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  auto o = [&](double wd) {
    return std::make_unique<torch::optim::SGDOptions>(
        torch::optim::SGDOptions(opt_.lr).momentum(opt_.momentum).nesterov(opt_.momentum > 0).weight_decay(wd));
  };
  groups.emplace_back(decay, o(opt_.weight_decay));
  groups.emplace_back(no_decay, o(0.0));
  optim_ = std::make_unique<torch::optim::SGD>(groups, torch::optim::SGDOptions(opt_.lr));
}

void Trainer::save(int64_t epoch, int64_t step) {
  if (opt_.checkpoint.empty()) return;
  Comm* comm = opt_.comm;
  if (comm && comm->distributed()) {
    // Ranks without sync-bn drift apart in their running statistics: rank 0's are the
    // ones saved and evaluated, so every rank continues from them.
    broadcast_buffers(*t_.module, *comm);
    if (comm->rank() != 0) {
      comm->barrier("checkpoint barrier");
      return;
    }
  }
  nlohmann::json meta = t_.meta;
  meta["epoch"] = epoch;
  meta["step"] = step;
  meta["epochs"] = opt_.epochs;
  save_checkpoint(opt_.checkpoint, *t_.module, optim_.get(), meta, t_.save_extra);
  if (comm) comm->barrier("checkpoint barrier");  // nobody runs ahead of a half-written checkpoint
}

std::vector<EpochReport> Trainer::run(const std::string& resume) {
  Comm* comm = opt_.comm;
  const int world = comm ? comm->world() : 1, rank = comm ? comm->rank() : 0;
  if (opt_.sync_bn && comm) {
    const int n_bn = enable_sync_bn(*t_.module, *comm);
    if (world > 1) log_.log("sync-bn: " + std::to_string(n_bn) + " normalization layers use global batch statistics");
  }
  if (world > 1 && opt_.batch < world)
    throw TrainError("--batch " + std::to_string(opt_.batch) + " is the global batch and must be >= the " +
                     std::to_string(world) + " ranks");
  int64_t start_epoch = 0, start_step = 0;
  if (!resume.empty()) {
    const auto meta = read_checkpoint_meta(resume);
    load_checkpoint(resume, *t_.module, optim_.get(), t_.load_extra);
    start_epoch = meta.value("epoch", int64_t(0));
    start_step = meta.value("step", int64_t(0));
    log_.log("resumed from " + resume + " at epoch " + std::to_string(start_epoch + 1) +
             ", step " + std::to_string(start_step));
  }
  std::unique_ptr<GradientSync> grads;
  if (world > 1) {
    // Every rank starts from rank 0's state, whatever it initialized or loaded.
    broadcast_module(*t_.module, *comm);
    grads = std::make_unique<GradientSync>(t_.module->parameters(), *comm);
    log_.log("data parallel: " + comm->describe() + "; " + std::to_string(grads->buckets()) +
             " gradient bucket(s), " + std::to_string(grads->bytes_per_step()) + " bytes all-reduced per step");
  }
  const int64_t n = train_.size();
  const int64_t steps = epoch_steps(n, opt_.batch, world, opt_.steps_per_epoch);
  const double total_steps = double(steps * opt_.epochs);
  SigintScope sigint;
  std::vector<EpochReport> reports;
  for (int64_t epoch = start_epoch; epoch < opt_.epochs; ++epoch) {
    t_.module->train();
    const torch::Tensor perm = epoch_permutation(n, opt_.seed, epoch);
    tools::ProgressBar bar(uint64_t(steps), opt_.progress && rank == 0,
                           "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(opt_.epochs),
                           "step");
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    const auto t0 = Clock::now();
    const int64_t first = epoch == start_epoch ? start_step : 0;
    for (int64_t s = first; s < steps; ++s) {
      const int64_t bn = std::min(opt_.batch, n - s * opt_.batch);  // global batch size
      torch::Tensor idx = rank_batch(perm, s, opt_.batch, rank, world);
      uint64_t batch_seed = mix_seed(opt_.seed, uint64_t(epoch), uint64_t(s));
      if (world > 1) batch_seed = mix_seed(batch_seed, 0xD15717Bull, uint64_t(rank));
      torch::Tensor x = make_batch(train_, idx, norm_, opt_.aug, batch_seed).to(device_);
      torch::Tensor y = train_.labels.index_select(0, idx).to(device_);
      const double lr =
          0.5 * opt_.lr * (1 + std::cos(kPi * double(epoch * steps + s) / total_steps));
      for (auto& g : optim_->param_groups())
        static_cast<torch::optim::SGDOptions&>(g.options()).lr(lr);
      optim_->zero_grad();
      torch::Tensor logits = t_.forward(x);
      // Each rank's share of the global mean loss: summed gradients are the global mean's.
      torch::Tensor loss = world > 1 ? torch::nn::functional::cross_entropy(
                                           logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
                                           double(bn)
                                     : torch::nn::functional::cross_entropy(logits, y);
      loss.backward();
      if (rank == 0 && epoch * steps + s == opt_.interrupt_at_step) g_interrupt = true;
      // With several ranks the Ctrl-C flag rides in the gradient all-reduce, so every
      // rank stops at the same step; alone, a signal up to the end of the step counts.
      const double ranks_interrupted = grads ? grads->sum(g_interrupt ? 1.0 : 0.0) : 0.0;
      optim_->step();
      if (t_.after_step) t_.after_step();
      const bool interrupted = grads ? ranks_interrupted > 0 : bool(g_interrupt);
      const int64_t local_n = idx.size(0);
      loss_sum += loss.item<double>() * (world > 1 ? double(bn) : double(local_n));
      correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      seen += local_n;
      const double el = std::chrono::duration<double>(Clock::now() - t0).count();
      // Other ranks' progress is extrapolated from this one's (rank 0 draws the bar).
      bar.update(uint64_t(s + 1 - first),
                 progress_detail(loss_sum / double(seen), double(correct) / double(seen),
                                 double(seen * world) / std::max(el, 1e-9)));
      if (interrupted) {
        bar.finish();
        save(epoch, s + 1);
        throw Interrupted("interrupted; checkpoint saved to " +
                          (opt_.checkpoint.empty() ? std::string("(none)") : opt_.checkpoint) +
                          ", continue with --resume");
      }
    }
    bar.finish();
    if (world > 1) {
      // loss_sum holds Σ(loss_r·b) = the local share of Σ per-sample loss.
      torch::Tensor m = torch::tensor({loss_sum, double(correct), double(seen)}, torch::kDouble);
      comm->allreduce_sum(m, "epoch metrics");
      correct = int64_t(m[1].item<double>());
      seen = int64_t(m[2].item<double>());
      loss_sum = m[0].item<double>();
      broadcast_buffers(*t_.module, *comm);  // evaluate and save rank 0's running statistics
    }
    EpochReport r;
    r.epoch = epoch + 1;
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    r.loss = loss_sum / double(std::max<int64_t>(seen, 1));
    r.train_acc = double(correct) / double(std::max<int64_t>(seen, 1));
    r.images_per_s = double(seen) / std::max(r.seconds, 1e-9);
    if (eval_) r.eval_acc = evaluate(*t_.module, t_.forward, *eval_, norm_, opt_.eval_batch, device_, comm);
    save(epoch + 1, 0);
    char evals[64] = "";
    if (eval_) std::snprintf(evals, sizeof evals, "  %s %.2f%%", opt_.eval_label.c_str(), 100 * r.eval_acc);
    char line[256];
    std::snprintf(line, sizeof line, "epoch %lld/%lld  loss %.4f  train %.2f%%%s  %.0f img/s  %s",
                  static_cast<long long>(r.epoch), static_cast<long long>(opt_.epochs), r.loss,
                  100 * r.train_acc, evals, r.images_per_s, format_duration(r.seconds).c_str());
    log_.log(line);
    reports.push_back(r);
  }
  if (world > 1) comm->check_identical(t_.module->parameters(), "parameters after training");
  return reports;
}

}  // namespace repvk::train
