// SPDX-License-Identifier: MIT
// Reader for the idx files of (Fashion-)MNIST, read straight from the .gz files
// Debian's dataset-fashion-mnist package installs (uncompressed files work too).
// Shared by `repvk eval` and the trainer; no engine, Vulkan or libtorch dependency.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace repvk::tools {

inline constexpr uint32_t kIdxImagesMagic = 2051;  // 0x00000803: ubyte, 3 dims
inline constexpr uint32_t kIdxLabelsMagic = 2049;  // 0x00000801: ubyte, 1 dim

// Caps checked against the header before anything is allocated, so a corrupt or
// hostile header cannot request gigabytes.
struct IdxLimits {
  static constexpr uint32_t kMaxItems = 10'000'000;
  static constexpr uint32_t kMaxDimension = 4096;
  static constexpr uint64_t kMaxPixelBytes = 1ull << 30;
};

// Every reader error; what() always names the file.
class DatasetError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct IdxImages {
  uint32_t total = 0;  // item count in the header
  uint32_t rows = 0, cols = 0;
  uint32_t count = 0;  // items loaded: min(total, limit)
  std::vector<uint8_t> pixels;  // count * rows * cols, row-major
};

struct IdxLabels {
  uint32_t total = 0;
  uint32_t count = 0;
  std::vector<uint8_t> labels;
};

// Reads at most `limit` items (0 = all). expected_rows/cols of 0 accept any size;
// otherwise a file with other dimensions is rejected, naming both shapes.
IdxImages read_idx_images(const std::string& path, uint32_t limit = 0,
                          uint32_t expected_rows = 0, uint32_t expected_cols = 0);
IdxLabels read_idx_labels(const std::string& path, uint32_t limit = 0);

// Any unsigned-byte idx file (rank 1..4, magic 0x0000080N), read whole: the trainer's
// view. Each dimension must be 1..kMaxItems and the data at most kMaxPixelBytes.
struct IdxArray {
  std::vector<uint32_t> dims;
  std::vector<uint8_t> data;  // row-major, product(dims) bytes
};
IdxArray read_idx(const std::string& path);

struct Dataset {
  std::string images_path, labels_path;
  IdxImages images;
  IdxLabels labels;
};

// Loads "<dir>/<prefix>-images-idx3-ubyte.gz" and the matching labels, where prefix
// is "t10k" for split "test" and "train" for "train". Checks that both files
// declare the same item count.
Dataset load_fashion_mnist(const std::string& dir, const std::string& split, uint32_t limit = 0,
                           uint32_t expected_rows = 0, uint32_t expected_cols = 0);

// The ten Fashion-MNIST class names, in label order.
const std::vector<std::string>& fashion_mnist_class_names();

}  // namespace repvk::tools
