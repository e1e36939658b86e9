#include "trainer.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <thread>

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
                const Normalization& norm, int64_t batch, torch::Device device) {
  int64_t correct = 0;
  for (int64_t b = 0; b < d.size(); b += batch) {
    const int64_t n = std::min(batch, d.size() - b);
    torch::Tensor logits = predict(module, forward, d, norm, b, n, device);
    correct += logits.argmax(1).eq(d.labels.narrow(0, b, n)).sum().item<int64_t>();
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
  nlohmann::json meta = t_.meta;
  meta["epoch"] = epoch;
  meta["step"] = step;
  meta["epochs"] = opt_.epochs;
  save_checkpoint(opt_.checkpoint, *t_.module, optim_.get(), meta, t_.save_extra);
}

std::vector<EpochReport> Trainer::run(const std::string& resume) {
  int64_t start_epoch = 0, start_step = 0;
  if (!resume.empty()) {
    const auto meta = read_checkpoint_meta(resume);
    load_checkpoint(resume, *t_.module, optim_.get(), t_.load_extra);
    start_epoch = meta.value("epoch", int64_t(0));
    start_step = meta.value("step", int64_t(0));
    log_.log("resumed from " + resume + " at epoch " + std::to_string(start_epoch + 1) +
             ", step " + std::to_string(start_step));
  }
  const int64_t n = train_.size();
  int64_t steps = (n + opt_.batch - 1) / opt_.batch;
  if (opt_.steps_per_epoch > 0) steps = std::min(steps, opt_.steps_per_epoch);
  const double total_steps = double(steps * opt_.epochs);
  SigintScope sigint;
  std::vector<EpochReport> reports;
  for (int64_t epoch = start_epoch; epoch < opt_.epochs; ++epoch) {
    t_.module->train();
    const torch::Tensor perm = epoch_permutation(n, opt_.seed, epoch);
    tools::ProgressBar bar(uint64_t(steps), opt_.progress,
                           "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(opt_.epochs),
                           "step");
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    const auto t0 = Clock::now();
    const int64_t first = epoch == start_epoch ? start_step : 0;
    for (int64_t s = first; s < steps; ++s) {
      const int64_t b0 = s * opt_.batch, bn = std::min(opt_.batch, n - b0);
      torch::Tensor idx = perm.narrow(0, b0, bn);
      torch::Tensor x = make_batch(train_, idx, norm_, opt_.aug,
                                   mix_seed(opt_.seed, uint64_t(epoch), uint64_t(s)))
                            .to(device_);
      torch::Tensor y = train_.labels.index_select(0, idx).to(device_);
      const double lr =
          0.5 * opt_.lr * (1 + std::cos(kPi * double(epoch * steps + s) / total_steps));
      for (auto& g : optim_->param_groups())
        static_cast<torch::optim::SGDOptions&>(g.options()).lr(lr);
      optim_->zero_grad();
      torch::Tensor logits = t_.forward(x);
      torch::Tensor loss = torch::nn::functional::cross_entropy(logits, y);
      loss.backward();
      optim_->step();
      if (t_.after_step) t_.after_step();
      loss_sum += loss.item<double>() * double(bn);
      correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      seen += bn;
      const double el = std::chrono::duration<double>(Clock::now() - t0).count();
      bar.update(uint64_t(s + 1 - first),
                 progress_detail(loss_sum / double(seen), double(correct) / double(seen),
                                 double(seen) / std::max(el, 1e-9)));
      if (g_interrupt) {
        bar.finish();
        save(epoch, s + 1);
        throw Interrupted("interrupted; checkpoint saved to " +
                          (opt_.checkpoint.empty() ? std::string("(none)") : opt_.checkpoint) +
                          ", continue with --resume");
      }
    }
    bar.finish();
    EpochReport r;
    r.epoch = epoch + 1;
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    r.loss = loss_sum / double(std::max<int64_t>(seen, 1));
    r.train_acc = double(correct) / double(std::max<int64_t>(seen, 1));
    r.images_per_s = double(seen) / std::max(r.seconds, 1e-9);
    if (eval_) r.eval_acc = evaluate(*t_.module, t_.forward, *eval_, norm_, opt_.eval_batch, device_);
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
  return reports;
}

}  // namespace repvk::train
