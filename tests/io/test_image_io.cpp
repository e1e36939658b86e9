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
