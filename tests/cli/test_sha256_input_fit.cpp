// SPDX-License-Identifier: MIT
// The model hash of `bench --json` (SHA-256, FIPS 180-4 test vectors, including the
// one- and two-block padding cases) and the input-fit notice of classify and the demo.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "input_fit.h"
#include "repvk/synthetic.h"
#include "sha256.h"

namespace {

std::string sha(const std::string& s) {
  return repvk::cli::sha256_hex(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(Sha256, FipsVectors) {
  EXPECT_EQ(sha(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the length no longer fits the first block, so padding takes two.
  EXPECT_EQ(sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, MissingFileNamesIt) {
  try {
    repvk::cli::sha256_file_hex("/no/such/model.rpvk");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/no/such/model.rpvk"), std::string::npos) << e.what();
  }
}

repvk::Model fashion_model() {
  repvk::SyntheticConfig cfg = repvk::synthetic_preset("small");
  return repvk::make_synthetic_model(cfg);
}

TEST(InputFit, ColourPhotoIntoGrayModel) {
  const repvk::tools::InputFit f = repvk::tools::input_fit(fashion_model(), {640, 427, 3, true});
  EXPECT_FALSE(f.fits);
  EXPECT_EQ(f.notice(),
            "this model classifies 28x28 grayscale clothing images (Fashion-MNIST, 10 classes); "
            "the 640x427 colour image was converted to gray and stretched to 28x28");
}

TEST(InputFit, ColourAloneDoesNotFit) {
  const repvk::tools::InputFit f = repvk::tools::input_fit(fashion_model(), {28, 28, 3, true});
  EXPECT_FALSE(f.fits);
  EXPECT_EQ(f.happened, "the 28x28 colour image was converted to gray and resized to 28x28");
}

TEST(InputFit, SuitableImagesFit) {
  const repvk::Model m = fashion_model();
  EXPECT_TRUE(repvk::tools::input_fit(m, {28, 28, 1, false}).fits);
  // Gray pixels saved as RGB, at a nearby size: nothing lost that matters.
  EXPECT_TRUE(repvk::tools::input_fit(m, {56, 56, 3, false}).fits);
  EXPECT_TRUE(repvk::tools::input_fit(m, {111, 111, 1, false}).fits);
}

TEST(InputFit, FarSizeAloneDoesNotFit) {
  const repvk::tools::InputFit f = repvk::tools::input_fit(fashion_model(), {112, 60, 1, false});
  EXPECT_FALSE(f.fits);
  EXPECT_EQ(f.happened, "the 112x60 grayscale image was stretched to 28x28");
  EXPECT_EQ(repvk::tools::input_fit(fashion_model(), {280, 280, 1, false}).happened,
            "the 280x280 grayscale image was resized to 28x28");
}

TEST(InputFit, HasColour) {
  const std::vector<uint8_t> gray_rgb = {5, 5, 5, 9, 9, 9};
  const std::vector<uint8_t> colour_rgba = {5, 5, 5, 255, 9, 9, 8, 255};
  EXPECT_FALSE(repvk::tools::has_colour(gray_rgb.data(), 2, 1, 3));
  EXPECT_TRUE(repvk::tools::has_colour(colour_rgba.data(), 2, 1, 4));
  EXPECT_FALSE(repvk::tools::has_colour(gray_rgb.data(), 6, 1, 1));
}

}  // namespace
