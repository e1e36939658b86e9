// SPDX-License-Identifier: MIT
// CIFAR-10 binary batches: 10000 records of <1 label byte><3072 pixel bytes> each.
#include <filesystem>
#include <fstream>

#include "data/dataset.h"

namespace repvk::train {
namespace {

constexpr int64_t kRecord = 1 + 3 * 32 * 32;

void read_batch(const std::string& path, std::vector<uint8_t>& pixels,
                std::vector<int64_t>& labels) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw TrainError(path + ": file not found or unreadable (CIFAR-10 binary batch)");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), {});
  if (bytes.empty() || bytes.size() % kRecord != 0)
    throw TrainError(path + ": size " + std::to_string(bytes.size()) +
                     " is not a multiple of the 3073-byte CIFAR-10 record");
  for (size_t r = 0; r < bytes.size() / kRecord; ++r) {
    const uint8_t* rec = bytes.data() + r * kRecord;
    if (rec[0] > 9) throw TrainError(path + ": record " + std::to_string(r) + " has label " +
                                     std::to_string(rec[0]) + " outside 0..9");
    labels.push_back(rec[0]);
    pixels.insert(pixels.end(), rec + 1, rec + kRecord);
  }
}

Dataset make(const std::string& name, std::vector<uint8_t>& px, std::vector<int64_t>& lab,
             const std::vector<std::string>& classes) {
  Dataset d;
  d.name = name;
  const int64_t n = int64_t(lab.size());
  d.images = torch::from_blob(px.data(), {n, 3, 32, 32}, torch::kUInt8).clone();
  d.labels = torch::from_blob(lab.data(), {n}, torch::kInt64).clone();
  d.class_names = classes;
  return d;
}

}  // namespace

DatasetPair load_cifar10(const std::string& dir) {
  if (!std::filesystem::is_directory(dir))
    throw TrainError(dir + ": CIFAR-10 folder not found (expected data_batch_*.bin, "
                           "test_batch.bin)");
  std::vector<std::string> classes = {"airplane", "automobile", "bird",  "cat",  "deer",
                                      "dog",      "frog",       "horse", "ship", "truck"};
  // batches.meta.txt, when present, names the classes one per line.
  std::ifstream meta(dir + "/batches.meta.txt");
  if (meta) {
    std::vector<std::string> names;
    for (std::string line; std::getline(meta, line);)
      if (!line.empty()) names.push_back(line);
    if (names.size() == 10) classes = names;
  }
  std::vector<uint8_t> px;
  std::vector<int64_t> lab;
  for (int i = 1; i <= 5; ++i) read_batch(dir + "/data_batch_" + std::to_string(i) + ".bin", px, lab);
  Dataset train = make("cifar10/train", px, lab, classes);
  px.clear();
  lab.clear();
  read_batch(dir + "/test_batch.bin", px, lab);
  return {train, make("cifar10/test", px, lab, classes)};
}

}  // namespace repvk::train
