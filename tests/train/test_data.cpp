// SPDX-License-Identifier: MIT
// Data loading: idx, CIFAR-10 and image folders; clear errors naming the file;
// augmentation shape and reproducibility; configuration errors.
#include <stb/stb_image_write.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "data/augment.h"
#include "session.h"
#include "util.h"

namespace fs = std::filesystem;

namespace repvk::train {
namespace {

using namespace testing;

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write_gz(const fs::path& p, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(p.string().c_str(), "wb");
  gzwrite(f, bytes.data(), unsigned(bytes.size()));
  gzclose(f);
}

std::vector<uint8_t> idx_file(std::vector<uint32_t> dims, uint8_t fill) {
  std::vector<uint8_t> b = {0, 0, 8, uint8_t(dims.size())};
  size_t n = 1;
  for (uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(d >> s));
    n *= d;
  }
  b.insert(b.end(), n, fill);
  return b;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const TrainError& e) {
    return e.what();
  }
  return "";
}

TEST(Data, FashionMnistIdxRoundTrip) {
  const fs::path d = fresh_dir("repvk_train_idx");
  write_gz(d / "train-images-idx3-ubyte.gz", idx_file({4, 28, 28}, 7));
  write_gz(d / "train-labels-idx1-ubyte.gz", idx_file({4}, 3));
  write_gz(d / "t10k-images-idx3-ubyte.gz", idx_file({2, 28, 28}, 9));
  write_gz(d / "t10k-labels-idx1-ubyte.gz", idx_file({2}, 1));
  const DatasetPair p = load_fashion_mnist(d.string());
  EXPECT_EQ(p.train.images.sizes(), (std::vector<int64_t>{4, 1, 28, 28}));
  EXPECT_EQ(p.test.labels[1].item<int64_t>(), 1);
  EXPECT_EQ(p.train.class_names.size(), 10u);
  fs::remove_all(d);
}

TEST(Data, BadOrMissingFilesAreNamed) {
  const fs::path d = fresh_dir("repvk_train_badidx");
  EXPECT_NE(error_of([&] { load_fashion_mnist((d / "nope").string()); }).find("nope"), std::string::npos);
  EXPECT_NE(error_of([&] { load_fashion_mnist(d.string()); }).find("train-images-idx3-ubyte"),
            std::string::npos);
  write_gz(d / "train-images-idx3-ubyte.gz", idx_file({4, 28, 28}, 7));
  std::ofstream(d / "train-labels-idx1-ubyte.gz") << "this is not gzip and not idx";
  const std::string e = error_of([&] { load_fashion_mnist(d.string()); });
  EXPECT_NE(e.find("train-labels-idx1-ubyte.gz"), std::string::npos) << e;
  // Truncated image data.
  auto img = idx_file({4, 28, 28}, 7);
  img.resize(img.size() - 5);
  write_gz(d / "train-images-idx3-ubyte.gz", img);
  EXPECT_NE(error_of([&] { read_idx((d / "train-images-idx3-ubyte.gz").string()); }).find("expected"),
            std::string::npos);
  fs::remove_all(d);
}

TEST(Data, CifarBatchesAndErrors) {
  const fs::path d = fresh_dir("repvk_train_cifar");
  std::vector<uint8_t> rec(3073 * 2, 5);
  rec[0] = 2;
  rec[3073] = 9;
  for (int i = 1; i <= 5; ++i)
    std::ofstream(d / ("data_batch_" + std::to_string(i) + ".bin"), std::ios::binary)
        .write(reinterpret_cast<const char*>(rec.data()), long(rec.size()));
  std::ofstream(d / "test_batch.bin", std::ios::binary).write(reinterpret_cast<const char*>(rec.data()), 3073);
  const DatasetPair p = load_cifar10(d.string());
  EXPECT_EQ(p.train.size(), 10);
  EXPECT_EQ(p.train.images.sizes(), (std::vector<int64_t>{10, 3, 32, 32}));
  EXPECT_EQ(p.train.labels[1].item<int64_t>(), 9);
  std::ofstream(d / "test_batch.bin", std::ios::binary) << "short";
  EXPECT_NE(error_of([&] { load_cifar10(d.string()); }).find("test_batch.bin"), std::string::npos);
  fs::remove_all(d);
}

TEST(Data, ImageFolder) {
  const fs::path d = fresh_dir("repvk_train_folder");
  for (const char* cls : {"cat", "dog"}) {
    fs::create_directories(d / cls);
    for (int i = 0; i < 10; ++i) {
      std::vector<uint8_t> px(6 * 6 * 3, uint8_t(i * 20));
      stbi_write_png((d / cls / (std::to_string(i) + ".png")).string().c_str(), 6, 6, 3, px.data(), 18);
    }
  }
  const DatasetPair p = load_image_folder(d.string(), 8, 3);
  EXPECT_EQ(p.train.size(), 18);
  EXPECT_EQ(p.test.size(), 2);
  EXPECT_EQ(p.train.images.sizes(), (std::vector<int64_t>{18, 3, 8, 8}));
  EXPECT_EQ(p.train.class_names, (std::vector<std::string>{"cat", "dog"}));
  std::ofstream(d / "dog" / "broken.png") << "not a png";
  EXPECT_NE(error_of([&] { load_image_folder(d.string(), 8, 3); }).find("broken.png"), std::string::npos);
  fs::remove_all(d);
}

TEST(Data, AugmentationKeepsShapeAndIsReproducible) {
  const Dataset d = synthetic_dataset(16, 3, 8, 4, 1);
  const Normalization n = compute_normalization(d);
  const Augmentation aug{2, true};
  torch::Tensor idx = torch::arange(16);
  torch::Tensor a = make_batch(d, idx, n, aug, 77), b = make_batch(d, idx, n, aug, 77);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{16, 3, 8, 8}));
  EXPECT_TRUE(a.equal(b));
  EXPECT_FALSE(a.equal(make_batch(d, idx, n, aug, 78)));
  // Without augmentation the batch is just the normalized images.
  torch::Tensor plain = make_batch(d, idx, n, {}, 0);
  EXPECT_NEAR(plain.mean().item<double>(), 0.0, 1e-4);
  EXPECT_TRUE(std::get<0>(epoch_permutation(100, 3, 1).sort()).equal(torch::arange(100)));
  EXPECT_TRUE(epoch_permutation(100, 3, 1).equal(epoch_permutation(100, 3, 1)));
}

TEST(Data, ValidationHoldOutIsDisjointFixedAndChecked) {
  DatasetPair full{synthetic_dataset(200, 1, 4, 3, 5), synthetic_dataset(10, 1, 4, 3, 6), {}};
  // Tag every training image with its index so the split can be traced.
  full.train.images.view({200, -1}).select(1, 0).copy_(torch::arange(200).to(torch::kUInt8));
  DatasetPair a = full, b = full;
  a.train.images = a.train.images.clone();
  b.train.images = b.train.images.clone();
  hold_out_validation(a, 30);
  hold_out_validation(b, 30);
  ASSERT_EQ(a.val.size(), 30);
  ASSERT_EQ(a.train.size(), 170);
  EXPECT_EQ(a.test.size(), 10);
  const torch::Tensor tv = a.val.images.view({30, -1}).select(1, 0).to(torch::kLong);
  const torch::Tensor tt = a.train.images.view({170, -1}).select(1, 0).to(torch::kLong);
  // Together they are every image once; apart they share none.
  EXPECT_TRUE(std::get<0>(torch::cat({tv, tt}).sort()).equal(torch::arange(200)));
  // Labels travel with their images.
  EXPECT_TRUE(a.val.labels.equal(full.train.labels.index_select(0, tv)));
  // The split is fixed: the same on every call, whatever the training seed.
  EXPECT_TRUE(a.val.images.equal(b.val.images));
  // It is a random sample, not the first or last block.
  EXPECT_FALSE(tv.equal(torch::arange(30)));
  EXPECT_FALSE(tv.equal(torch::arange(170, 200)));
  DatasetPair none = full;
  hold_out_validation(none, 0);
  EXPECT_EQ(none.val.size(), 0);
  EXPECT_EQ(none.train.size(), 200);
  for (int64_t bad : {int64_t(-1), int64_t(200), int64_t(500)}) {
    DatasetPair c = full;
    const std::string e = error_of([&] { hold_out_validation(c, bad); });
    EXPECT_NE(e.find("--val"), std::string::npos) << e;
    EXPECT_NE(e.find("200 images"), std::string::npos) << e;
  }
}

TEST(Config, ImpossibleConfigurationsAreRejected) {
  ModelConfig c = tiny_config(NormKind::Oabn);
  c.base_widths = {6, 0, 8};
  EXPECT_THROW(validate_config(c), TrainError);
  c = tiny_config(NormKind::Oabn);
  c.depths = {1, 0, 1};
  EXPECT_THROW(validate_config(c), TrainError);
  c = tiny_config(NormKind::Oabn);
  c.strides = {1, 3, 2};
  EXPECT_THROW(validate_config(c), TrainError);
  EXPECT_THROW(model_preset("B9"), TrainError);
  // A0 expects 3x224x224: Fashion-MNIST shaped data must be refused, by name.
  ModelConfig a0 = model_preset("A0");
  const Dataset fm = synthetic_dataset(4, 1, 28, 10, 2);
  const std::string e = error_of([&] { fit_config_to_data(a0, fm, true); });
  EXPECT_NE(e.find("1x28x28"), std::string::npos) << e;
  EXPECT_NE(e.find("3x224x224"), std::string::npos) << e;
}

TEST(Config, PresetsBuild) {
  for (const auto& name : model_preset_names()) {
    ModelConfig c = model_preset(name);
    EXPECT_NO_THROW(validate_config(c)) << name;
  }
  ModelConfig a0 = model_preset("A0");
  EXPECT_EQ(a0.widths(), (std::vector<int64_t>{48, 48, 96, 192, 1280}));
}

}  // namespace
}  // namespace repvk::train
