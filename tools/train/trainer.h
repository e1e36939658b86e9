// SPDX-License-Identifier: MIT
// The training loop shared by full training and quantization-aware fine-tuning:
// SGD with Nesterov momentum and a per-step cosine schedule, per-epoch atomic
// checkpoints, exact --resume (the batch order and augmentation are functions of
// (seed, epoch, step)) and a checkpoint on Ctrl-C.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>

#include "checkpoint.h"
#include "data/augment.h"
#include "dist/comm.h"
#include "progress.h"

namespace repvk::train {

struct TrainOptions {
  int64_t epochs = 10, batch = 128;
  double lr = 0.1, momentum = 0.9, weight_decay = 1e-4;
  uint64_t seed = 1;
  Augmentation aug;
  int64_t steps_per_epoch = 0;   // 0: the whole training set; >0: cap (benchmarks, tests)
  int64_t eval_batch = 1000;
  std::string eval_label = "val";  // what the per-epoch evaluation set is called in the log
  bool progress = true;
  std::string checkpoint;        // path written every epoch and on Ctrl-C; empty: none
  // Data-parallel training (dist/): null or world size 1 is one process. Rank 0 alone
  // writes the checkpoint; --batch stays the global batch, split over the ranks.
  Comm* comm = nullptr;
  bool sync_bn = false;          // BranchNorm statistics over all ranks (dist/sync_bn.h)
  // Tests of the Ctrl-C checkpoint and --resume: rank 0 acts as if Ctrl-C arrived during
  // global step N (epoch * steps per epoch + step, from 0). -1: never.
  int64_t interrupt_at_step = -1;
};

// What the loop trains. `module` owns the parameters and is checkpointed.
struct TrainTarget {
  torch::nn::Module* module = nullptr;
  std::function<torch::Tensor(const torch::Tensor&)> forward;
  std::function<void()> after_step;        // e.g. ClusterQAT centroid updates
  ArchiveWriter save_extra;
  ArchiveReader load_extra;
  nlohmann::json meta;                     // stored in checkpoints (config etc.)
};

struct EpochReport {
  int64_t epoch = 0;
  double loss = 0, train_acc = 0, eval_acc = -1, images_per_s = 0, seconds = 0;
};

// Thrown after the Ctrl-C checkpoint is written; main() exits with status 130.
struct Interrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Trainer {
 public:
  // `eval` (may be null) is measured after every epoch: the validation hold-out.
  Trainer(TrainTarget target, const Dataset& train, const Dataset* eval, Normalization norm,
          TrainOptions opt, torch::Device device, Logger& log);

  // Continues from `resume` when non-empty. Returns one report per epoch run.
  std::vector<EpochReport> run(const std::string& resume = "");

 private:
  void save(int64_t epoch, int64_t step);
  bool is_root() const { return !opt_.comm || opt_.comm->rank() == 0; }
  TrainTarget t_;
  const Dataset& train_;
  const Dataset* eval_;
  Normalization norm_;
  TrainOptions opt_;
  torch::Device device_;
  Logger& log_;
  std::unique_ptr<torch::optim::SGD> optim_;
};

// Top-1 accuracy of `forward` on `d` (module put in eval mode, no gradients). With
// `comm`, each rank evaluates its contiguous share and the counts are summed, so
// every rank returns the single-process accuracy.
double evaluate(torch::nn::Module& module, const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                const Dataset& d, const Normalization& norm, int64_t batch, torch::Device device,
                Comm* comm = nullptr);

// Logits for images [begin, begin+count) of `d`, normalized, in eval mode.
torch::Tensor predict(torch::nn::Module& module, const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                      const Dataset& d, const Normalization& norm, int64_t begin, int64_t count,
                      torch::Device device);

// CUDA when this libtorch has it and a GPU is present, else the CPU with `threads`
// threads (0: all cores). Returns the device and logs the choice.
torch::Device pick_device(int threads, Logger& log);

}  // namespace repvk::train
