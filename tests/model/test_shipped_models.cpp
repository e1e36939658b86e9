// SPDX-License-Identifier: MIT
// Files already shipped keep loading, and writing back what was read reproduces them
// byte for byte (the format's canonical encoding, docs/model-format.md).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "repvk/model.h"

namespace repvk {
namespace {

TEST(ShippedModels, ReadAndRewriteByteForByte) {
  size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(REPVK_MODELS_DIR)) {
    if (entry.path().extension() != ".rpvk") continue;
    std::ifstream f(entry.path(), std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                                     std::istreambuf_iterator<char>());
    const Model m = read_model(entry.path().string());
    EXPECT_EQ(serialize_model(m), bytes) << entry.path();
    // Written before the input resize record existed: they keep stretching.
    EXPECT_EQ(m.input.resize, InputResize::Stretch) << entry.path();
    EXPECT_EQ(m.input.resize_shorter, 0u) << entry.path();
    ++checked;
  }
  EXPECT_GT(checked, 0u) << "no .rpvk files in " << REPVK_MODELS_DIR;
}

}  // namespace
}  // namespace repvk
