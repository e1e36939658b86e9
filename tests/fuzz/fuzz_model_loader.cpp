// SPDX-License-Identifier: MIT
// libFuzzer target for the model loader. ModelError is the only acceptable failure;
// anything else escaping, or a sanitizer report, is a bug.
#include <cstdlib>
#include <vector>

#include "../../engine/model/internal.h"
#include "repvk/model.h"

namespace {

void check(const uint8_t* data, size_t size) {
  repvk::Model m;
  try {
    m = repvk::parse_model(data, size, "fuzz");
  } catch (const repvk::ModelError&) {
    return;
  }
  // Every accepted file has exactly one encoding, so writing it back must reproduce
  // the input byte for byte; and everything downstream must work on it.
  const std::vector<uint8_t> again = repvk::serialize_model(m);
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  for (const auto& layer : m.layers) (void)repvk::decode_weights(layer);
  (void)repvk::model_stats(m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check(data, size);
  // Mutations almost always break the checksum; repairing the header on a copy lets
  // the fuzzer reach the body parser and the semantic checks.
  if (size >= repvk::detail::kHeaderBytes) {
    std::vector<uint8_t> fixed(data, data + size);
    for (int k = 0; k < 8; ++k)
      fixed[repvk::detail::kFileSizeOffset + size_t(k)] = uint8_t(uint64_t(size) >> (8 * k));
    for (int k = 0; k < 4; ++k) fixed[repvk::detail::kCrcOffset + size_t(k)] = 0;
    const uint32_t crc = repvk::crc32(fixed.data(), fixed.size());
    for (int k = 0; k < 4; ++k) fixed[repvk::detail::kCrcOffset + size_t(k)] = uint8_t(crc >> (8 * k));
    check(fixed.data(), fixed.size());
  }
  return 0;
}
