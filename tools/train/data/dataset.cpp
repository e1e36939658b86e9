// SPDX-License-Identifier: MIT
// Dataset dispatch, normalization statistics and the shared seed mixer.
#include "data/dataset.h"

#include "data/augment.h"

#include <algorithm>

namespace repvk::train {

uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b) {
  // splitmix64 finalizer over a simple combination: cheap and well spread.
  uint64_t x = seed ^ (a * 0x9E3779B97F4A7C15ull) ^ (b * 0xC2B2AE3D27D4EB4Full);
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

DatasetPair load_dataset(const std::string& kind, const std::string& dir, int64_t image_size,
                         int64_t channels) {
  const std::string d = dir.empty() ? default_data_dir(kind) : dir;
  if (kind == "fashion-mnist") return load_fashion_mnist(d);
  if (kind == "cifar10") return load_cifar10(d);
  if (kind == "folder") return load_image_folder(d, image_size, channels);
  throw TrainError("--dataset '" + kind + "' unknown (use fashion-mnist, cifar10 or folder)");
}

void hold_out_validation(DatasetPair& d, int64_t count) {
  if (count == 0) return;
  if (count < 0 || count >= d.train.size())
    throw TrainError("--val " + std::to_string(count) + ": must be between 0 and " +
                     std::to_string(d.train.size() - 1) + " (the training set of " + d.train.name +
                     " has " + std::to_string(d.train.size()) + " images)");
  // Seed and epoch here are fixed constants: the split must not move with --seed.
  const torch::Tensor perm = epoch_permutation(d.train.size(), 0x5EEDF00DULL, 0);
  const torch::Tensor val_idx = std::get<0>(perm.narrow(0, 0, count).sort());
  const torch::Tensor train_idx = std::get<0>(perm.narrow(0, count, d.train.size() - count).sort());
  d.val.name = d.train.name + " (validation)";
  d.val.class_names = d.train.class_names;
  d.val.images = d.train.images.index_select(0, val_idx);
  d.val.labels = d.train.labels.index_select(0, val_idx);
  d.train.images = d.train.images.index_select(0, train_idx);
  d.train.labels = d.train.labels.index_select(0, train_idx);
}

std::string default_data_dir(const std::string& kind) {
  if (kind == "fashion-mnist") return "/usr/share/datasets/fashion-mnist";
  throw TrainError("--dataset " + kind + " needs --data-dir");
}

Normalization compute_normalization(const Dataset& d) {
  Normalization n;
  torch::Tensor x = d.images.to(torch::kFloat64).div_(255.0);
  for (int64_t c = 0; c < d.channels(); ++c) {
    torch::Tensor p = x.select(1, c);
    n.mean.push_back(float(p.mean().item<double>()));
    n.std.push_back(float(std::max(p.std(false).item<double>(), 1e-6)));
  }
  return n;
}

}  // namespace repvk::train
