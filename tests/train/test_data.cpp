// SPDX-License-Identifier: MIT
// Data loading: idx, CIFAR-10 and image folders; clear errors naming the file;
// validation hold-out; configuration errors. Pixel order is checked on ramps.
#include <stb/stb_image_write.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <functional>

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

// An idx file (type ubyte) whose i-th data byte is value(i).
std::vector<uint8_t> idx_file(std::vector<uint32_t> dims, const std::function<uint8_t(size_t)>& value) {
  std::vector<uint8_t> b = {0, 0, 8, uint8_t(dims.size())};
  size_t n = 1;
  for (uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(d >> s));
    n *= d;
  }
  for (size_t i = 0; i < n; ++i) b.push_back(value(i));
  return b;
}

std::vector<uint8_t> idx_file(std::vector<uint32_t> dims, uint8_t fill) {
  return idx_file(std::move(dims), [fill](size_t) { return fill; });
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const TrainError& e) {
    return e.what();
  }
  return "";
}

// Ramps, not constants, so a transposed or shifted read cannot pass: the images are
// 5 rows x 7 columns (not square) and pixel (n, y, x) holds base + 35n + 7y + x.
TEST(Data, FashionMnistIdxPixelOrder) {
  const fs::path d = fresh_dir("repvk_train_idx");
  const auto ramp = [](uint8_t base) { return [base](size_t i) { return uint8_t(base + i); }; };
  write_gz(d / "train-images-idx3-ubyte.gz", idx_file({4, 5, 7}, ramp(0)));
  write_gz(d / "train-labels-idx1-ubyte.gz", idx_file({4}, [](size_t i) { return uint8_t(9 - 2 * i); }));
  write_gz(d / "t10k-images-idx3-ubyte.gz", idx_file({2, 5, 7}, ramp(100)));
  write_gz(d / "t10k-labels-idx1-ubyte.gz", idx_file({2}, [](size_t i) { return uint8_t(i + 4); }));
  const DatasetPair p = load_fashion_mnist(d.string());
  ASSERT_EQ(p.train.images.sizes(), (std::vector<int64_t>{4, 1, 5, 7}));
  ASSERT_EQ(p.test.images.sizes(), (std::vector<int64_t>{2, 1, 5, 7}));
  const auto px = [](const Dataset& s, int64_t n, int64_t y, int64_t x) {
    return s.images[n][0][y][x].item<int64_t>();
  };
  EXPECT_EQ(px(p.train, 0, 0, 1), 1);   // x runs fastest
  EXPECT_EQ(px(p.train, 0, 1, 0), 7);   // then y, over a row of 7
  EXPECT_EQ(px(p.train, 1, 0, 0), 35);  // then the image
  EXPECT_EQ(px(p.train, 2, 3, 6), 70 + 21 + 6);
  EXPECT_EQ(px(p.train, 3, 4, 6), 139);
  EXPECT_EQ(px(p.test, 1, 2, 5), 100 + 35 + 14 + 5);
  EXPECT_TRUE(p.train.images.equal(torch::arange(140).to(torch::kUInt8).view({4, 1, 5, 7})));
  EXPECT_TRUE(p.train.labels.equal(torch::tensor({9, 7, 5, 3}, torch::kInt64)));
  EXPECT_TRUE(p.test.labels.equal(torch::tensor({4, 5}, torch::kInt64)));
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

// CIFAR-10 value of channel c, row y, column x of record r in batch file `file`:
// distinct per plane, row and column, so plane order and transposes are visible.
uint8_t cifar_value(int file, int r, int c, int y, int x) {
  return uint8_t(file * 29 + r * 11 + c * 85 + y * 7 + x * 3);
}

void write_cifar_batch(const fs::path& p, int file, int records) {
  std::vector<uint8_t> bytes;
  for (int r = 0; r < records; ++r) {
    bytes.push_back(uint8_t((file + r) % 10));  // label
    for (int c = 0; c < 3; ++c)                  // R plane, G plane, B plane, each row-major
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) bytes.push_back(cifar_value(file, r, c, y, x));
  }
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), long(bytes.size()));
}

TEST(Data, CifarPlaneOrderAndErrors) {
  const fs::path d = fresh_dir("repvk_train_cifar");
  for (int i = 1; i <= 5; ++i) write_cifar_batch(d / ("data_batch_" + std::to_string(i) + ".bin"), i, 2);
  write_cifar_batch(d / "test_batch.bin", 0, 1);
  const DatasetPair p = load_cifar10(d.string());
  ASSERT_EQ(p.train.images.sizes(), (std::vector<int64_t>{10, 3, 32, 32}));
  ASSERT_EQ(p.test.images.sizes(), (std::vector<int64_t>{1, 3, 32, 32}));
  const auto px = [](const Dataset& s, int64_t n, int64_t c, int64_t y, int64_t x) {
    return int(s.images[n][c][y][x].item<uint8_t>());
  };
  // Image 3 is record 1 of data_batch_2: files in order, records in order.
  EXPECT_EQ(px(p.train, 3, 0, 0, 0), cifar_value(2, 1, 0, 0, 0));
  EXPECT_EQ(px(p.train, 3, 0, 0, 1), cifar_value(2, 1, 0, 0, 1));    // x fastest
  EXPECT_EQ(px(p.train, 3, 0, 1, 0), cifar_value(2, 1, 0, 1, 0));    // then y
  EXPECT_EQ(px(p.train, 3, 1, 0, 0), cifar_value(2, 1, 1, 0, 0));    // then the plane: G
  EXPECT_EQ(px(p.train, 3, 2, 31, 30), cifar_value(2, 1, 2, 31, 30)); // B, last row
  EXPECT_EQ(px(p.test, 0, 1, 5, 9), cifar_value(0, 0, 1, 5, 9));
  // Every pixel and label of the training set.
  torch::Tensor want = torch::empty({10, 3, 32, 32}, torch::kUInt8);
  auto w = want.accessor<uint8_t, 4>();
  for (int n = 0; n < 10; ++n) {
    EXPECT_EQ(p.train.labels[n].item<int64_t>(), (n / 2 + 1 + n % 2) % 10) << "image " << n;
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) w[n][c][y][x] = cifar_value(n / 2 + 1, n % 2, c, y, x);
  }
  EXPECT_TRUE(p.train.images.equal(want))
      << "first wrong pixel (n, c, y, x): " << (p.train.images != want).nonzero()[0];
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

// stb decodes to HWC (channels interleaved per pixel); the dataset is CHW. The PNGs
// are 5 wide, 4 high, with value(i, y, x, c) = 60i + 12y + 2x + c (+ 30 in test/).
uint8_t folder_value(int image, int y, int x, int c) { return uint8_t(60 * image + 12 * y + 2 * x + c); }

void write_ramp_png(const fs::path& p, int image, int channels) {
  std::vector<uint8_t> hwc;
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 5; ++x)
      for (int c = 0; c < channels; ++c) hwc.push_back(folder_value(image, y, x, c));
  ASSERT_NE(stbi_write_png(p.string().c_str(), 5, 4, channels, hwc.data(), 5 * channels), 0) << p;
}

TEST(Data, ImageFolderHwcToChw) {
  for (int channels : {3, 1}) {
    SCOPED_TRACE(std::to_string(channels) + " channel(s)");
    const fs::path d = fresh_dir("repvk_train_folder_order");
    // Two classes, sorted by name: "a" is label 0. Image i of the train split is
    // a/0.png, a/1.png, b/0.png: ramps 0, 1, 2.
    int image = 0;
    for (const char* cls : {"a", "b"}) {
      fs::create_directories(d / "train" / cls);
      fs::create_directories(d / "test" / cls);
      for (int i = 0; i < (cls[0] == 'a' ? 2 : 1); ++i)
        write_ramp_png(d / "train" / cls / (std::to_string(i) + ".png"), image++, channels);
    }
    write_ramp_png(d / "test" / "b" / "0.png", 3, channels);
    const DatasetPair p = load_image_folder(d.string(), 0, channels);
    ASSERT_EQ(p.train.images.sizes(), (std::vector<int64_t>{3, channels, 4, 5}));
    ASSERT_EQ(p.test.images.sizes(), (std::vector<int64_t>{1, channels, 4, 5}));
    EXPECT_TRUE(p.train.labels.equal(torch::tensor({0, 0, 1}, torch::kInt64)));
    EXPECT_TRUE(p.test.labels.equal(torch::tensor({1}, torch::kInt64)));
    const auto px = [](const Dataset& s, int64_t n, int64_t c, int64_t y, int64_t x) {
      return int(s.images[n][c][y][x].item<uint8_t>());
    };
    EXPECT_EQ(px(p.train, 0, 0, 0, 1), folder_value(0, 0, 1, 0));  // x: next column, same channel
    EXPECT_EQ(px(p.train, 0, 0, 1, 0), folder_value(0, 1, 0, 0));  // y: next row
    EXPECT_EQ(px(p.train, 2, 0, 3, 4), folder_value(2, 3, 4, 0));
    EXPECT_EQ(px(p.test, 0, 0, 2, 3), folder_value(3, 2, 3, 0));
    if (channels == 3) {
      EXPECT_EQ(px(p.train, 1, 1, 0, 0), folder_value(1, 0, 0, 1));  // G plane
      EXPECT_EQ(px(p.train, 1, 2, 3, 1), folder_value(1, 3, 1, 2));  // B plane
    }
    torch::Tensor want = torch::empty({3, channels, 4, 5}, torch::kUInt8);
    auto w = want.accessor<uint8_t, 4>();
    for (int n = 0; n < 3; ++n)
      for (int c = 0; c < channels; ++c)
        for (int y = 0; y < 4; ++y)
          for (int x = 0; x < 5; ++x) w[n][c][y][x] = folder_value(n, y, x, c);
    EXPECT_TRUE(p.train.images.equal(want))
        << "first wrong pixel (n, c, y, x): " << (p.train.images != want).nonzero()[0];
    fs::remove_all(d);
  }
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
