// SPDX-License-Identifier: MIT
// Writes the fuzzer's seed corpus: tiny valid models covering every encoding
// (dense fp32, dense fp16, codebook), granularity and storage, plus a few truncated
// and corrupted ones.
#include <sys/stat.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "repvk/model.h"
#include "repvk/synthetic.h"

namespace {

repvk::Model tiny(bool quantized, uint32_t bits, repvk::CodebookGranularity gran,
                  uint64_t seed) {
  repvk::SyntheticConfig c;
  c.name = "seed";
  c.in_channels = 1;
  c.height = 4;
  c.width = 3;
  c.num_classes = 3;
  c.stage_depths = {1, 1};
  c.stage_widths = {2, 3};
  c.stage_strides = {1, 2};
  c.quantized = quantized;
  c.bits = bits;
  c.granularity = gran;
  c.seed = seed;
  return repvk::make_synthetic_model(c);
}

void put(const std::string& path, const std::vector<uint8_t>& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    std::perror(path.c_str());
    std::exit(1);
  }
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  ::mkdir(dir.c_str(), 0755);
  try {
    std::vector<std::vector<uint8_t>> valid;
    valid.push_back(repvk::serialize_model(tiny(false, 0, {}, 1)));
    {  // dense weights stored as fp16 (weight encoding 2)
      repvk::Model m = tiny(false, 0, {}, 100);
      for (auto& l : m.layers) l.weights.dense_storage = repvk::ValueStorage::Fp16;
      valid.push_back(repvk::serialize_model(m));
    }
    {  // with the input resize record (header flag bit 0)
      repvk::Model m = tiny(false, 0, {}, 101);
      m.input.resize = repvk::InputResize::ShorterSideCrop;
      m.input.resize_shorter = 6;
      valid.push_back(repvk::serialize_model(m));
    }
    uint64_t seed = 2;
    for (uint32_t bits : {1u, 2u, 3u, 4u, 5u, 8u})
      for (auto gran : {repvk::CodebookGranularity::PerLayer,
                        repvk::CodebookGranularity::PerOutputChannel})
        for (auto storage : {repvk::ValueStorage::Fp32, repvk::ValueStorage::Fp16}) {
          repvk::Model m = tiny(true, bits, gran, seed++);
          for (auto& l : m.layers) l.weights.codebook_storage = storage;
          valid.push_back(repvk::serialize_model(m));
        }
    int n = 0;
    for (const auto& v : valid) put(dir + "/valid_" + std::to_string(n++) + ".rpvk", v);
    // Truncated and corrupted variants of the first few.
    for (size_t k = 0; k < 4; ++k) {
      const auto& v = valid[k];
      put(dir + "/truncated_" + std::to_string(k) + ".rpvk",
          std::vector<uint8_t>(v.begin(), v.begin() + long(v.size() * (k + 1) / 5)));
      auto bad = v;
      bad[bad.size() / 2] ^= 0x5A;
      put(dir + "/corrupt_" + std::to_string(k) + ".rpvk", bad);
    }
    std::printf("wrote %d valid and 8 malformed seeds to %s\n", n, dir.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_fuzz_corpus: %s\n", e.what());
    return 1;
  }
  return 0;
}
