// SPDX-License-Identifier: MIT
// Every malformed-file check in the loader, each aimed past the integrity checks at
// the one check it exercises, asserting on the message.
#include <cmath>
#include <limits>

#include "test_util.h"

namespace repvk::test {
namespace {

std::vector<uint8_t> valid_bytes(const TinyOptions& o = {}) { return serialize_model(tiny_model(o)); }

// Serializes `m` without validation, then expects the reader and validate_model
// to reject it with the given fragments, and the writer to refuse it.
template <typename... Frags>
void expect_rejected(const Model& m, Frags... frags) {
  EXPECT_MODEL_ERROR(parse(raw_bytes(m)), "model.rpvk", frags...);
  EXPECT_MODEL_ERROR(validate_model(m, "model.rpvk"), frags...);
  EXPECT_THROW(serialize_model(m), ModelError);
}

TEST(Malformed, WrongMagic) {
  auto b = valid_bytes();
  b[0] = 'X';
  EXPECT_MODEL_ERROR(parse(b), "model.rpvk: bad magic", "not a repvk model");
}

TEST(Malformed, UnknownVersion) {
  auto b = valid_bytes();
  set_u32(b, 4, 7);
  fix_header(b);
  EXPECT_MODEL_ERROR(parse(b), "format version 7", "reads version 1");
}

// Code that catches repvk::Error catches model problems too.
TEST(Malformed, ModelErrorIsARepvkError) {
  auto b = valid_bytes();
  b[0] = 'X';
  try {
    parse(b);
    FAIL() << "bad magic accepted";
  } catch (const Error& e) {
    EXPECT_NE(dynamic_cast<const ModelError*>(&e), nullptr) << e.what();
  }
}

TEST(Malformed, EveryPrefixIsRejected) {
  const auto b = valid_bytes();
  for (size_t n = 0; n < b.size(); ++n) {
    std::vector<uint8_t> p(b.begin(), b.begin() + long(n));
    EXPECT_THROW(parse_model(p.data(), p.size(), "m"), ModelError) << n;
  }
}

TEST(Malformed, EveryPrefixWithConsistentHeaderIsRejectedAsTruncated) {
  // Header fixed up so each prefix reaches the body parser rather than the size check.
  const auto b = valid_bytes();
  for (size_t n = detail::kHeaderBytes; n < b.size(); ++n) {
    std::vector<uint8_t> p(b.begin(), b.begin() + long(n));
    fix_header(p);
    try {
      parse(p);
      ADD_FAILURE() << "prefix " << n << " accepted";
    } catch (const ModelError& e) {
      const std::string msg = e.what();
      // A cut inside a name can leave a shorter valid-looking string and fail later.
      EXPECT_TRUE(msg.find("truncated") != std::string::npos ||
                  msg.find("padding") != std::string::npos)
          << n << ": " << msg;
    }
  }
}

TEST(Malformed, ChecksumMismatch) {
  auto b = valid_bytes();
  b[b.size() - 5] ^= 0x40;
  EXPECT_MODEL_ERROR(parse(b), "model.rpvk: checksum mismatch");
}

TEST(Malformed, FileSizeFieldMismatch) {
  auto b = valid_bytes();
  b.push_back(0);
  EXPECT_MODEL_ERROR(parse(b), "header says the file is");
}

TEST(Malformed, ReservedFlags) {
  auto b = valid_bytes();
  set_u32(b, 12, 2);  // bit 0 is the input resize record (test_input_resize.cpp)
  fix_header(b);
  EXPECT_MODEL_ERROR(parse(b), "reserved header flags 0x00000002");
}

TEST(Malformed, BitsOutsideRange) {
  const Model m = tiny_model();
  for (uint32_t bits : {0u, 9u}) {
    auto b = valid_bytes();
    set_u32(b, weights_offset(m, 0) + 4, bits);
    fix_header(b);
    EXPECT_MODEL_ERROR(parse(b), ("model.rpvk: layer 0 (conv3x3): bits " + std::to_string(bits) +
                                  " outside 1..8").c_str());
  }
}

TEST(Malformed, IndexAtOrBeyondCodebookSize) {
  TinyOptions o;
  o.bits = 2;  // codebook_size 3, so index 3 fits in the bits but not the codebook
  Model m = tiny_model(o);
  m.layers[3].weights.packed[1] = (m.layers[3].weights.packed[1] & ~3u) | 3u;
  expect_rejected(m, "layer 3 (fully_connected): index 3", "at or beyond codebook_size 3");
}

TEST(Malformed, NonzeroPaddingBits) {
  TinyOptions o;
  o.bits = 3;  // 30 bits used per full word
  Model m = tiny_model(o);
  m.layers[0].weights.packed[0] |= 1u << 31;
  expect_rejected(m, "layer 0 (conv3x3): nonzero padding bits");
}

TEST(Malformed, CodebookSizeOutsideRange) {
  const Model m = tiny_model();
  auto b = valid_bytes();
  set_u32(b, weights_offset(m, 0) + 16, 5);
  fix_header(b);
  EXPECT_MODEL_ERROR(parse(b), "codebook_size 5 outside 1..4");
}

TEST(Malformed, UnknownEnumsInWeightBlock) {
  const Model m = tiny_model();
  const size_t w = weights_offset(m, 1);
  struct Case {
    size_t offset;
    uint32_t value;
    const char* message;
  };
  const Case cases[] = {{0, 3, "unknown weight encoding 3"},  // 2 is dense fp16
                        {8, 2, "unknown codebook granularity 2"},
                        {12, 2, "unknown codebook storage 2"}};
  for (const auto& [off, value, msg] : cases) {
    auto b = valid_bytes();
    set_u32(b, w + off, value);
    fix_header(b);
    EXPECT_MODEL_ERROR(parse(b), "layer 1 (conv3x3)", msg);
  }
}

TEST(Malformed, WrongPackedWordCount) {
  const Model m = tiny_model();
  auto b = valid_bytes();
  // Layer 0: 3 codebook values (fp32) follow the 5 fields, then the u64 count.
  const size_t count_at = weights_offset(m, 0) + 20 + 3 * 4;
  ASSERT_EQ(get_u32(b, count_at), 6u);  // 3 rows x ceil(18 / 16) words
  set_u64(b, count_at, uint64_t(1) << 62);
  fix_header(b);
  EXPECT_MODEL_ERROR(parse(b), "packed word count 4611686018427387904, expected 6");
}

TEST(Malformed, UnknownLayerTypeAndFlags) {
  const Model m = tiny_model();
  auto b = valid_bytes();
  set_u32(b, layer_offset(m, 2), 9);
  fix_header(b);
  EXPECT_MODEL_ERROR(parse(b), "layer 2: unknown layer type 9");

  b = valid_bytes();
  set_u32(b, layer_offset(m, 0) + 16, 3);  // relu + an undefined bit
  fix_header(b);
  EXPECT_MODEL_ERROR(parse(b), "layer 0 (conv3x3): unknown layer flags 0x00000002");

  b = valid_bytes();
  set_u32(b, layer_offset(m, 2) + 4, 1);  // pool takes no flags
  fix_header(b);
  EXPECT_MODEL_ERROR(parse(b), "layer 2 (global_avg_pool): unknown layer flags");
}

TEST(Malformed, ConvChannelsDoNotChain) {
  Model m = tiny_model();
  std::mt19937 g1(1);
  m.layers[1] = tiny_weighted(LayerType::Conv3x3, 5, 4, 2, true, {}, g1);
  expect_rejected(m, "layer 1 (conv3x3): in_channels 5 does not match the 3 channels produced "
                     "by layer 0 (conv3x3)");
  m = tiny_model();
  std::mt19937 g(2);
  m.layers[0] = tiny_weighted(LayerType::Conv3x3, 3, 3, 1, true, {}, g);
  expect_rejected(m, "layer 0 (conv3x3): in_channels 3 does not match the 2 channels produced by "
                     "the input");
}

TEST(Malformed, FcChannelsDoNotChain) {
  Model m = tiny_model();
  std::mt19937 g(3);
  m.layers[3] = tiny_weighted(LayerType::FullyConnected, 6, 3, 1, false, {}, g);
  expect_rejected(m, "layer 3 (fully_connected): in_channels 6 does not match the 4 features");
}

TEST(Malformed, LayerOrderRules) {
  std::mt19937 g(4);
  Model m = tiny_model();
  // Conv after the pool.
  m.layers.insert(m.layers.begin() + 3, tiny_weighted(LayerType::Conv3x3, 4, 4, 1, true, {}, g));
  expect_rejected(m, "layer 3 (conv3x3): conv3x3 after global_avg_pool");
  // FC on a spatial input.
  m = tiny_model();
  m.layers.insert(m.layers.begin() + 2,
                  tiny_weighted(LayerType::FullyConnected, 4, 4, 1, true, {}, g));
  expect_rejected(m, "layer 2 (fully_connected): fully_connected needs a 1x1 input");
  // Softmax not last.
  m = tiny_model();
  m.layers.insert(m.layers.begin() + 3, tiny_plain(LayerType::Softmax, 4));
  expect_rejected(m, "layer 3 (softmax): softmax must be the last layer");
  // Two pools.
  m = tiny_model();
  m.layers.insert(m.layers.begin() + 2, tiny_plain(LayerType::GlobalAvgPool, 4));
  expect_rejected(m, "layer 3 (global_avg_pool): a model has exactly one global_avg_pool");
  // No pool.
  m = tiny_model();
  m.layers.erase(m.layers.begin() + 2, m.layers.end());
  m.class_names.push_back("fourth");
  expect_rejected(m, "model.rpvk: model has no global_avg_pool");
}

TEST(Malformed, StrideNotOneOrTwo) {
  Model m = tiny_model();
  m.layers[1].stride = 3;
  expect_rejected(m, "layer 1 (conv3x3): stride 3 is not 1 or 2");
  m.layers[1].stride = 0;
  expect_rejected(m, "stride 0 is not 1 or 2");
}

TEST(Malformed, SpatialSizeNeverShrinksToZero) {
  // A 1x1 input through many stride-2 convs stays 1x1: pad 1 keeps every output >= 1.
  Model m = tiny_model();
  m.input.height = m.input.width = 1;
  std::mt19937 g(5);
  for (int i = 0; i < 6; ++i)
    m.layers.insert(m.layers.begin() + 2, tiny_weighted(LayerType::Conv3x3, 4, 4, 2, true, {}, g));
  const auto shapes = validate_model(m, "m");
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(shapes[i].h * shapes[i].w, 1u);
}

TEST(Malformed, HugeDimensionsRejectedBeforeAllocation) {
  const Model m = tiny_model();
  auto b = valid_bytes();
  const size_t at = layer_offset(m, 0);
  set_u32(b, at + 4, 0xFFFFFFFFu);
  set_u32(b, at + 8, 0xFFFFFFFFu);
  fix_header(b);
  EXPECT_MODEL_ERROR(parse(b), "layer 0 (conv3x3): in_channels 4294967295 outside 1..4096");

  // Within the channel limits but 151M fp32 weights: the size check fires, not bad_alloc.
  TinyOptions o;
  o.encoding = WeightEncoding::Fp32;
  const Model f = tiny_model(o);
  b = serialize_model(f);
  set_u32(b, at + 4, 4096);
  set_u32(b, at + 8, 4096);
  fix_header(b);
  EXPECT_MODEL_ERROR(parse(b), "layer 0 (conv3x3): truncated: fp32 weights needs 603979776 bytes");
}

TEST(Malformed, LimitsOnHeaderFields) {
  Model m = tiny_model();
  m.input.channels = 5;
  m.input.mean.resize(5, 0.0f);
  m.input.std.resize(5, 1.0f);
  expect_rejected(m, "input channels 5 outside 1..4");

  m = tiny_model();
  m.input.height = 5000;
  expect_rejected(m, "input size 5000x4 outside 1..4096");

  m = tiny_model();
  m.name = std::string(300, 'n');
  expect_rejected(m, "model name is 300 bytes, above the limit of 256");

  m = tiny_model();
  m.class_names[1] = "\xFF\xFE";
  expect_rejected(m, "class name 1 is not valid UTF-8");

  const size_t classes_at = detail::kHeaderBytes + 4 + 4 + 12 + 16;
  auto b = valid_bytes();
  ASSERT_EQ(get_u32(b, classes_at), 3u);
  set_u32(b, classes_at, 200000);
  fix_header(b);
  EXPECT_MODEL_ERROR(parse(b), "class count 200000 outside 1..100000");

  b = valid_bytes();
  set_u32(b, classes_at, 90000);  // allowed, but the file cannot hold that many names
  fix_header(b);
  EXPECT_MODEL_ERROR(parse(b), "truncated: class names needs 360000 bytes");

  b = valid_bytes();
  const size_t layers_at = layer_offset(tiny_model(), 0) - 4;
  set_u32(b, layers_at, 2000);
  fix_header(b);
  EXPECT_MODEL_ERROR(parse(b), "layer count 2000 above the limit of 1024");

  m = tiny_model();
  std::mt19937 g(6);
  m.layers[3] = tiny_weighted(LayerType::FullyConnected, 4, 5000, 1, false, {}, g);
  expect_rejected(m, "layer 3 (fully_connected): out_channels 5000 outside 1..4096");
}

TEST(Malformed, BadMeanAndStd) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  Model m = tiny_model();
  m.input.mean[1] = nan;
  expect_rejected(m, "input mean of channel 1 is not finite");
  for (float s : {0.0f, -1.0f, inf, nan}) {
    m = tiny_model();
    m.input.std[0] = s;
    expect_rejected(m, "input std of channel 0", "must be finite and > 0");
  }
}

TEST(Malformed, NonFiniteWeights) {
  Model m = tiny_model();
  m.layers[1].bias[2] = std::numeric_limits<float>::infinity();
  expect_rejected(m, "layer 1 (conv3x3): bias 2 is not finite");

  TinyOptions o;
  o.storage = ValueStorage::Fp16;
  m = tiny_model(o);
  auto b = serialize_model(m);
  const size_t cb = weights_offset(m, 0) + 20;
  b[cb] = 0x00;
  b[cb + 1] = 0x7C;  // fp16 +inf
  fix_header(b);
  EXPECT_MODEL_ERROR(parse(b), "layer 0 (conv3x3): codebook value 0 is not finite");
}

TinyOptions dense_fp16() {
  TinyOptions o;
  o.encoding = WeightEncoding::Fp32;
  o.dense_storage = ValueStorage::Fp16;
  return o;
}

TEST(Malformed, TruncatedFp16DenseWeights) {
  const Model m = tiny_model(dense_fp16());
  const auto full = serialize_model(m);
  // Layer 1 (conv 3->4): 108 halves = 216 bytes after the encoding word; cut inside them.
  const size_t w = weights_offset(m, 1);
  ASSERT_EQ(get_u32(full, w), 2u);
  for (size_t keep : {size_t(0), size_t(1), size_t(100), size_t(215)}) {
    std::vector<uint8_t> b(full.begin(), full.begin() + long(w + 4 + keep));
    fix_header(b);
    EXPECT_MODEL_ERROR(parse(b), "model.rpvk: layer 1 (conv3x3): truncated: fp16 weights needs 216 bytes");
  }
  // Every prefix, header fixed or not, is rejected.
  for (size_t n = detail::kHeaderBytes; n < full.size(); ++n) {
    std::vector<uint8_t> p(full.begin(), full.begin() + long(n));
    EXPECT_THROW(parse(p), ModelError) << n;
    fix_header(p);
    EXPECT_THROW(parse(p), ModelError) << n;
  }
}

TEST(Malformed, Fp16DenseWeightsMustFit) {
  // In memory: a value beyond fp16's range is refused before anything is written.
  Model m = tiny_model(dense_fp16());
  m.layers[3].weights.dense[7] = 70000.0f;
  EXPECT_MODEL_ERROR(validate_model(m, "model.rpvk"),
                     "model.rpvk: layer 3 (fully_connected): weight 7 (70000.000000) overflows "
                     "fp16 storage");
  EXPECT_THROW(serialize_model(m), ModelError);
  // In a file: the half itself is infinite (or NaN).
  m = tiny_model(dense_fp16());
  for (uint16_t h : {uint16_t(0x7C00), uint16_t(0xFC00), uint16_t(0x7E00)}) {
    auto b = serialize_model(m);
    const size_t at = weights_offset(m, 3) + 4 + 2 * 7;
    b[at] = uint8_t(h);
    b[at + 1] = uint8_t(h >> 8);
    fix_header(b);
    EXPECT_MODEL_ERROR(parse(b), "model.rpvk: layer 3 (fully_connected): weight 7 is not finite");
  }
}

TEST(Malformed, DenseStorageFieldInMemory) {
  Model m = tiny_model(dense_fp16());
  m.layers[0].weights.dense_storage = ValueStorage(7);
  EXPECT_MODEL_ERROR(validate_model(m, "m"), "layer 0 (conv3x3): unknown dense weight storage 7");
  m = tiny_model();  // codebooks: the file has no place for a dense storage
  m.layers[1].weights.dense_storage = ValueStorage::Fp16;
  EXPECT_MODEL_ERROR(validate_model(m, "m"),
                     "layer 1 (conv3x3): codebook weights must leave dense_storage at fp32");
}

TEST(Malformed, ClassCountMustMatchLastWeightedLayer) {
  Model m = tiny_model();
  m.class_names.push_back("extra");
  expect_rejected(m, "layer 3 (fully_connected): outputs 3 values but the model has 4 class names");
}

TEST(Malformed, EmptyLayerList) {
  Model m = tiny_model();
  m.layers.clear();
  expect_rejected(m, "model.rpvk: model has no layers");
}

TEST(Malformed, TrailingBytes) {
  auto b = valid_bytes();
  b.insert(b.end(), {0, 0, 0, 0});
  fix_header(b);
  EXPECT_MODEL_ERROR(parse(b), "model.rpvk: 4 trailing bytes after the last layer");
}

TEST(Malformed, NonzeroStringPadding) {
  Model m = tiny_model();
  m.name = "abc";
  auto b = serialize_model(m);
  b[detail::kHeaderBytes + 4 + 3] = 'd';
  fix_header(b);
  EXPECT_MODEL_ERROR(parse(b), "nonzero padding after model name");
}

TEST(Malformed, PayloadOnPoolOrSoftmax) {
  Model m = tiny_model();
  m.layers[2].relu = true;
  EXPECT_MODEL_ERROR(validate_model(m, "m"), "layer 2 (global_avg_pool): relu is only allowed");
  m = tiny_model();
  m.layers[4].bias = {1.0f};
  EXPECT_MODEL_ERROR(validate_model(m, "m"), "layer 4 (softmax): layer type carries no weights");
}

TEST(Malformed, ErrorCarriesFields) {
  try {
    Model m = tiny_model();
    m.layers[1].stride = 3;
    validate_model(m, "x.rpvk");
    FAIL();
  } catch (const ModelError& e) {
    EXPECT_EQ(e.source(), "x.rpvk");
    EXPECT_EQ(e.layer(), 1);
    EXPECT_EQ(e.problem(), "stride 3 is not 1 or 2");
    EXPECT_STREQ(e.what(), "x.rpvk: layer 1 (conv3x3): stride 3 is not 1 or 2");
  }
}

}  // namespace
}  // namespace repvk::test
