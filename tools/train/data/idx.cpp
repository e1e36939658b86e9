// SPDX-License-Identifier: MIT
// Fashion-MNIST for the trainer, through the shared idx reader (tools/common/idx.h).
#include <cstring>
#include <filesystem>

#include "data/dataset.h"
#include "idx.h"

namespace repvk::train {
namespace {

std::string first_existing(const std::string& dir, const std::string& base) {
  for (const char* ext : {".gz", ""}) {
    const std::string p = dir + "/" + base + ext;
    if (std::filesystem::exists(p)) return p;
  }
  return dir + "/" + base + ".gz";  // the reader reports it missing, with the expected name
}

}  // namespace

torch::Tensor read_idx(const std::string& path) {
  tools::IdxArray a;
  try {
    a = tools::read_idx(path);
  } catch (const tools::DatasetError& e) {
    throw TrainError(e.what());
  }
  std::vector<int64_t> shape(a.dims.begin(), a.dims.end());
  torch::Tensor t = torch::empty(shape, torch::kUInt8);
  std::memcpy(t.data_ptr<uint8_t>(), a.data.data(), a.data.size());
  return t;
}

DatasetPair load_fashion_mnist(const std::string& dir) {
  if (!std::filesystem::is_directory(dir))
    throw TrainError(dir + ": Fashion-MNIST folder not found (install dataset-fashion-mnist "
                           "or pass --data-dir)");
  auto load = [&](const std::string& prefix, const std::string& name) {
    const std::string ip = first_existing(dir, prefix + "-images-idx3-ubyte");
    const std::string lp = first_existing(dir, prefix + "-labels-idx1-ubyte");
    Dataset d;
    d.name = name;
    torch::Tensor img = read_idx(ip);
    torch::Tensor lab = read_idx(lp);
    if (img.dim() != 3) throw TrainError(ip + ": expected a rank-3 image file");
    if (lab.dim() != 1) throw TrainError(lp + ": expected a rank-1 label file");
    if (img.size(0) != lab.size(0))
      throw TrainError(lp + ": " + std::to_string(lab.size(0)) + " labels for " +
                       std::to_string(img.size(0)) + " images in " + ip);
    if (lab.max().item<int64_t>() > 9) throw TrainError(lp + ": label outside 0..9");
    d.images = img.unsqueeze(1).contiguous();
    d.labels = lab.to(torch::kInt64);
    d.class_names = tools::fashion_mnist_class_names();
    return d;
  };
  return {load("train", "fashion-mnist/train"), load("t10k", "fashion-mnist/test")};
}

}  // namespace repvk::train
