// Dataset dispatch, normalization statistics and the shared seed mixer.
#include "data/dataset.h"

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
