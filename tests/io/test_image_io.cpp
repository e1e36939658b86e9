// SPDX-License-Identifier: MIT
// load_image(): round trips through stb_image_write, and every failure names the file.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <stb/stb_image_write.h>

#include "repvk/error.h"
#include "repvk/image_io.h"

namespace fs = std::filesystem;

namespace {

class ImageIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / (std::string("repvk_img_") + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  void write_bytes(const std::string& p, const std::vector<uint8_t>& bytes) {
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }

  std::string error_of(const std::string& p) {
    try {
      repvk::load_image(p);
    } catch (const repvk::Error& e) {
      return e.what();
    }
    ADD_FAILURE() << "load_image(" << p << ") did not throw";
    return "";
  }

  fs::path dir_;
};

std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(i * 37 + 11);
  return v;
}

TEST_F(ImageIoTest, PngRoundTripsForEachChannelCount) {
  for (int comp : {1, 3, 4}) {
    const int w = 7, h = 5;
    const auto px = pattern(size_t(w * h * comp));
    const std::string p = path("c" + std::to_string(comp) + ".png");
    ASSERT_NE(stbi_write_png(p.c_str(), w, h, comp, px.data(), w * comp), 0);
    const repvk::Image img = repvk::load_image(p);
    EXPECT_EQ(img.width, uint32_t(w));
    EXPECT_EQ(img.height, uint32_t(h));
    EXPECT_EQ(img.channels, uint32_t(comp));
    EXPECT_EQ(img.pixels, px) << "channels " << comp;
  }
}

TEST_F(ImageIoTest, GrayAlphaBecomesGray) {
  const std::vector<uint8_t> px = {10, 255, 20, 0, 30, 128};
  const std::string p = path("ga.png");
  ASSERT_NE(stbi_write_png(p.c_str(), 3, 1, 2, px.data(), 6), 0);
  const repvk::Image img = repvk::load_image(p);
  EXPECT_EQ(img.channels, 1u);
  EXPECT_EQ(img.pixels, (std::vector<uint8_t>{10, 20, 30}));
}

TEST_F(ImageIoTest, MissingFileNamesPath) {
  const std::string p = path("does-not-exist.png");
  const std::string msg = error_of(p);
  EXPECT_NE(msg.find(p), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;
}

TEST_F(ImageIoTest, GarbageFileNamesPathAndReason) {
  const std::string p = path("garbage.png");
  write_bytes(p, {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e', '\n'});
  const std::string msg = error_of(p);
  EXPECT_NE(msg.find(p), std::string::npos) << msg;
  EXPECT_NE(msg.find("decode"), std::string::npos) << msg;
}

TEST_F(ImageIoTest, EmptyFileAndDirectoryFail) {
  const std::string empty = path("empty.jpg");
  write_bytes(empty, {});
  EXPECT_NE(error_of(empty).find(empty), std::string::npos);
  const std::string folder = dir_.string();
  EXPECT_NE(error_of(folder).find(folder), std::string::npos);
}

TEST_F(ImageIoTest, TruncatedPngFails) {
  const auto px = pattern(64 * 64 * 3);
  const std::string p = path("cut.png");
  ASSERT_NE(stbi_write_png(p.c_str(), 64, 64, 3, px.data(), 64 * 3), 0);
  fs::resize_file(p, fs::file_size(p) / 2);
  EXPECT_NE(error_of(p).find(p), std::string::npos);
}

// A PNG whose header claims 20000x10 pixels: rejected from the header, before
// stb allocates anything (the file has no pixel data at all).
TEST_F(ImageIoTest, OversizedHeaderIsRejected) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n',
                              0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  auto be32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) png.push_back(uint8_t(v >> s));
  };
  be32(20000);  // width
  be32(10);     // height
  png.insert(png.end(), {8, 0, 0, 0, 0});  // 8-bit gray, no interlace
  be32(0);                                 // CRC (stb does not check it)
  const std::string p = path("huge.png");
  write_bytes(p, png);
  const std::string msg = error_of(p);
  EXPECT_NE(msg.find(p), std::string::npos) << msg;
  EXPECT_NE(msg.find("20000x10"), std::string::npos) << msg;
  EXPECT_NE(msg.find("16384"), std::string::npos) << msg;
}

// A PNG header: signature, IHDR with the given size and colour type, no pixel data.
std::vector<uint8_t> png_header(uint32_t width, uint32_t height, uint8_t colour_type) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n',
                              0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  auto be32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) png.push_back(uint8_t(v >> s));
  };
  be32(width);
  be32(height);
  png.insert(png.end(), {8, colour_type, 0, 0, 0});
  be32(0);  // CRC (stb does not check it)
  return png;
}

// 60000 x 60000 is more than stb_image's header check accepts, which then reports
// "unknown image type"; the size must be named instead.
TEST_F(ImageIoTest, HugePngIsReportedBySize) {
  const std::string p = path("60k.png");
  write_bytes(p, png_header(60000, 60000, 0));
  const std::string msg = error_of(p);
  EXPECT_NE(msg.find(p), std::string::npos) << msg;
  EXPECT_NE(msg.find("60000x60000"), std::string::npos) << msg;
  EXPECT_NE(msg.find("PNG"), std::string::npos) << msg;
  EXPECT_NE(msg.find("16384"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("unknown image type"), std::string::npos) << msg;
}

// A JPEG whose frame header (after an APP0 segment, as in a JFIF file) claims
// 60000 x 50000: rejected from the header, in memory as from a file.
TEST_F(ImageIoTest, HugeJpegIsReportedBySize) {
  std::vector<uint8_t> jpg = {0xFF, 0xD8,                                  // SOI
                              0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0,   // APP0
                              1, 1, 0, 0, 1, 0, 1, 0, 0,
                              0xFF, 0xC0, 0, 11, 8,                       // SOF0, 8-bit
                              0xC3, 0x50,                                 // height 50000
                              0xEA, 0x60,                                 // width 60000
                              1, 1, 0x11, 0};                             // 1 component
  const std::string p = path("huge.jpg");
  write_bytes(p, jpg);
  const std::string msg = error_of(p);
  EXPECT_NE(msg.find(p), std::string::npos) << msg;
  EXPECT_NE(msg.find("60000x50000"), std::string::npos) << msg;
  EXPECT_NE(msg.find("JPEG"), std::string::npos) << msg;
  try {
    repvk::decode_image(jpg.data(), jpg.size(), "camera upload");
    ADD_FAILURE() << "no throw";
  } catch (const repvk::Error& e) {
    EXPECT_NE(std::string(e.what()).find("camera upload"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("60000x50000"), std::string::npos) << e.what();
  }
}

// Within the per-side limit but over the decoded-bytes limit: 16000 x 16000 RGB is
// 732 MiB of pixels.
TEST_F(ImageIoTest, DecodedSizeLimit) {
  const std::string p = path("wide.png");
  write_bytes(p, png_header(16000, 16000, 2));
  const std::string msg = error_of(p);
  EXPECT_NE(msg.find("16000x16000"), std::string::npos) << msg;
  EXPECT_NE(msg.find("732 MiB"), std::string::npos) << msg;
  EXPECT_NE(msg.find("256 MiB"), std::string::npos) << msg;
}

TEST_F(ImageIoTest, DecodeFromMemoryNamesSource) {
  const std::vector<uint8_t> junk = {1, 2, 3, 4};
  try {
    repvk::decode_image(junk.data(), junk.size(), "upload #3");
    ADD_FAILURE() << "no throw";
  } catch (const repvk::Error& e) {
    EXPECT_NE(std::string(e.what()).find("upload #3"), std::string::npos) << e.what();
  }
}

}  // namespace
