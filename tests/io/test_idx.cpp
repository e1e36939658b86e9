// SPDX-License-Identifier: MIT
// The idx reader on small crafted .gz files: the happy path and every way a
// dataset file can be wrong. Each error must name the offending file.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <zlib.h>

#include "idx.h"

namespace fs = std::filesystem;
using repvk::tools::DatasetError;

namespace {

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(uint8_t(v >> 24));
  out.push_back(uint8_t(v >> 16));
  out.push_back(uint8_t(v >> 8));
  out.push_back(uint8_t(v));
}

void write_gz(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(f, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
  }
  ASSERT_EQ(gzclose(f), Z_OK);
}

std::vector<uint8_t> images_file(uint32_t magic, uint32_t count, uint32_t rows, uint32_t cols,
                                 size_t pixel_bytes) {
  std::vector<uint8_t> out;
  put_be32(out, magic);
  put_be32(out, count);
  put_be32(out, rows);
  put_be32(out, cols);
  for (size_t i = 0; i < pixel_bytes; ++i) out.push_back(uint8_t(i * 7 + 3));
  return out;
}

std::vector<uint8_t> labels_file(uint32_t magic, uint32_t count, size_t label_bytes) {
  std::vector<uint8_t> out;
  put_be32(out, magic);
  put_be32(out, count);
  for (size_t i = 0; i < label_bytes; ++i) out.push_back(uint8_t(i % 10));
  return out;
}

class IdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / (std::string("repvk_idx_") + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string images_path() const { return (dir_ / "t10k-images-idx3-ubyte.gz").string(); }
  std::string labels_path() const { return (dir_ / "t10k-labels-idx1-ubyte.gz").string(); }

  // Runs `f`, expects a DatasetError and returns its message.
  template <class F>
  std::string error_of(F f) {
    try {
      f();
    } catch (const DatasetError& e) {
      return e.what();
    }
    ADD_FAILURE() << "no DatasetError thrown";
    return "";
  }

  fs::path dir_;
};

TEST_F(IdxTest, ReadsValidSplit) {
  write_gz(images_path(), images_file(2051, 3, 4, 5, 3 * 20));
  write_gz(labels_path(), labels_file(2049, 3, 3));
  const auto d = repvk::tools::load_fashion_mnist(dir_.string(), "test");
  EXPECT_EQ(d.images.total, 3u);
  EXPECT_EQ(d.images.count, 3u);
  EXPECT_EQ(d.images.rows, 4u);
  EXPECT_EQ(d.images.cols, 5u);
  ASSERT_EQ(d.images.pixels.size(), 60u);
  for (size_t i = 0; i < 60; ++i) EXPECT_EQ(d.images.pixels[i], uint8_t(i * 7 + 3));
  EXPECT_EQ(d.labels.labels, (std::vector<uint8_t>{0, 1, 2}));
  EXPECT_EQ(d.images_path, images_path());
}

TEST_F(IdxTest, LimitReadsOnlyAPrefix) {
  write_gz(images_path(), images_file(2051, 3, 4, 5, 3 * 20));
  write_gz(labels_path(), labels_file(2049, 3, 3));
  const auto d = repvk::tools::load_fashion_mnist(dir_.string(), "test", 2);
  EXPECT_EQ(d.images.total, 3u);
  EXPECT_EQ(d.images.count, 2u);
  EXPECT_EQ(d.images.pixels.size(), 40u);
  EXPECT_EQ(d.labels.labels.size(), 2u);
}

// read_idx: the trainer's whole-file view of any unsigned-byte idx file.
TEST_F(IdxTest, ReadIdxReturnsShapeAndData) {
  write_gz(images_path(), images_file(2051, 3, 4, 5, 3 * 20));
  const repvk::tools::IdxArray a = repvk::tools::read_idx(images_path());
  EXPECT_EQ(a.dims, (std::vector<uint32_t>{3, 4, 5}));
  ASSERT_EQ(a.data.size(), 60u);
  EXPECT_EQ(a.data[59], uint8_t(59 * 7 + 3));
  write_gz(labels_path(), labels_file(2049, 3, 3));
  EXPECT_EQ(repvk::tools::read_idx(labels_path()).dims, (std::vector<uint32_t>{3}));
}

TEST_F(IdxTest, ReadIdxRejectsWrongSizes) {
  write_gz(images_path(), images_file(2051, 3, 4, 5, 59));
  std::string msg = error_of([&] { repvk::tools::read_idx(images_path()); });
  EXPECT_NE(msg.find(images_path()), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected 60 bytes"), std::string::npos) << msg;
  write_gz(images_path(), images_file(2051, 3, 4, 5, 61));
  msg = error_of([&] { repvk::tools::read_idx(images_path()); });
  EXPECT_NE(msg.find("more than the 60 data bytes"), std::string::npos) << msg;
  write_gz(images_path(), images_file(0x0D03, 3, 4, 5, 60));  // float data, not ubyte
  msg = error_of([&] { repvk::tools::read_idx(images_path()); });
  EXPECT_NE(msg.find("not an unsigned-byte idx file"), std::string::npos) << msg;
}

TEST_F(IdxTest, WrongMagicNamesFile) {
  write_gz(images_path(), images_file(2049, 3, 4, 5, 60));
  const std::string msg = error_of([&] { repvk::tools::read_idx_images(images_path()); });
  EXPECT_NE(msg.find(images_path()), std::string::npos) << msg;
  EXPECT_NE(msg.find("2051"), std::string::npos) << msg;

  write_gz(labels_path(), labels_file(2051, 3, 3));
  const std::string msg2 = error_of([&] { repvk::tools::read_idx_labels(labels_path()); });
  EXPECT_NE(msg2.find(labels_path()), std::string::npos) << msg2;
  EXPECT_NE(msg2.find("magic"), std::string::npos) << msg2;
}

TEST_F(IdxTest, TruncatedPixelsNameFile) {
  write_gz(images_path(), images_file(2051, 3, 4, 5, 59));
  const std::string msg = error_of([&] { repvk::tools::read_idx_images(images_path()); });
  EXPECT_NE(msg.find(images_path()), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST_F(IdxTest, TruncatedHeaderNamesFile) {
  write_gz(labels_path(), {0, 0, 8});
  const std::string msg = error_of([&] { repvk::tools::read_idx_labels(labels_path()); });
  EXPECT_NE(msg.find(labels_path()), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST_F(IdxTest, CutCompressedStreamNamesFile) {
  write_gz(images_path(), images_file(2051, 50, 28, 28, 50 * 784));
  fs::resize_file(images_path(), fs::file_size(images_path()) / 2);
  const std::string msg = error_of([&] { repvk::tools::read_idx_images(images_path()); });
  EXPECT_NE(msg.find(images_path()), std::string::npos) << msg;
}

TEST_F(IdxTest, CountMismatchNamesBothFiles) {
  write_gz(images_path(), images_file(2051, 3, 4, 5, 60));
  write_gz(labels_path(), labels_file(2049, 2, 2));
  const std::string msg =
      error_of([&] { repvk::tools::load_fashion_mnist(dir_.string(), "test"); });
  EXPECT_NE(msg.find(images_path()), std::string::npos) << msg;
  EXPECT_NE(msg.find(labels_path()), std::string::npos) << msg;
}

TEST_F(IdxTest, DimsMismatchNamesFileAndShapes) {
  write_gz(images_path(), images_file(2051, 3, 4, 5, 60));
  const std::string msg =
      error_of([&] { repvk::tools::read_idx_images(images_path(), 0, 28, 28); });
  EXPECT_NE(msg.find(images_path()), std::string::npos) << msg;
  EXPECT_NE(msg.find("4x5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("28x28"), std::string::npos) << msg;
}

TEST_F(IdxTest, HostileHeaderRejectedBeforeAllocation) {
  // 4 billion items of 4096x4096 would be 64 PiB; must fail on the header alone.
  write_gz(images_path(), images_file(2051, 0xFFFFFFFFu, 4096, 4096, 0));
  std::string msg = error_of([&] { repvk::tools::read_idx_images(images_path()); });
  EXPECT_NE(msg.find(images_path()), std::string::npos) << msg;

  write_gz(images_path(), images_file(2051, 1000, 4096, 4096, 0));
  msg = error_of([&] { repvk::tools::read_idx_images(images_path()); });
  EXPECT_NE(msg.find("limit"), std::string::npos) << msg;

  write_gz(images_path(), images_file(2051, 1, 5000, 1, 0));
  msg = error_of([&] { repvk::tools::read_idx_images(images_path()); });
  EXPECT_NE(msg.find("5000x1"), std::string::npos) << msg;

  write_gz(images_path(), images_file(2051, 0, 28, 28, 0));
  msg = error_of([&] { repvk::tools::read_idx_images(images_path()); });
  EXPECT_NE(msg.find(images_path()), std::string::npos) << msg;
}

TEST_F(IdxTest, MissingFilesAndFolders) {
  std::string msg = error_of([&] { repvk::tools::read_idx_labels(labels_path()); });
  EXPECT_NE(msg.find(labels_path()), std::string::npos) << msg;

  const std::string nowhere = (dir_ / "no-such-folder").string();
  msg = error_of([&] { repvk::tools::load_fashion_mnist(nowhere, "test"); });
  EXPECT_NE(msg.find(nowhere), std::string::npos) << msg;

  msg = error_of([&] { repvk::tools::load_fashion_mnist(dir_.string(), "validation"); });
  EXPECT_NE(msg.find("validation"), std::string::npos) << msg;
}

TEST(FashionMnist, TenClassNames) {
  ASSERT_EQ(repvk::tools::fashion_mnist_class_names().size(), 10u);
  EXPECT_EQ(repvk::tools::fashion_mnist_class_names()[9], "Ankle boot");
}

}  // namespace
