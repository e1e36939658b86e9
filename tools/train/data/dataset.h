// SPDX-License-Identifier: MIT
// Datasets held in memory as uint8 pixels: Fashion-MNIST (idx .gz), CIFAR-10 binary
// batches and image folders. Pixels stay uint8 until a batch is drawn so CIFAR-10
// costs 150 MB rather than 600 MB.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common.h"

namespace repvk::train {

struct Dataset {
  std::string name;
  torch::Tensor images;  // uint8 [N, C, H, W]
  torch::Tensor labels;  // int64 [N]
  std::vector<std::string> class_names;

  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  int64_t channels() const { return images.size(1); }
  int64_t height() const { return images.size(2); }
  int64_t width() const { return images.size(3); }
};

struct DatasetPair {
  Dataset train, test;
  Dataset val;  // held out of the training set; empty unless hold_out_validation ran
};

// Moves `count` training images, chosen by a fixed permutation that does not depend
// on the training seed, into `val`. Every run with the same count therefore sees
// the same split, so hyper-parameters picked on it never touch the test set.
void hold_out_validation(DatasetPair& d, int64_t count);

// Fashion-MNIST from the four idx .gz files in `dir` (plain idx files are accepted too).
DatasetPair load_fashion_mnist(const std::string& dir);
// CIFAR-10 from data_batch_1..5.bin and test_batch.bin in `dir`.
DatasetPair load_cifar10(const std::string& dir);
// root/train/<class>/*.png|jpg and root/test/<class>/*; if root has no train/ and
// test/ subfolders, every `test_every`-th image of root/<class>/ is held out.
// Images are resized to `size`x`size` when size > 0 and must all agree otherwise.
DatasetPair load_image_folder(const std::string& root, int64_t size, int64_t channels);

// Dispatches on kind: "fashion-mnist", "cifar10", "folder".
DatasetPair load_dataset(const std::string& kind, const std::string& dir, int64_t image_size,
                         int64_t channels);
std::string default_data_dir(const std::string& kind);

// Per-channel mean and std of pixel values scaled to [0,1].
struct Normalization {
  std::vector<float> mean, std;
};
Normalization compute_normalization(const Dataset& d);

// Loads one idx file (gzip or plain). Throws TrainError naming `path` on any problem.
torch::Tensor read_idx(const std::string& path);

}  // namespace repvk::train
