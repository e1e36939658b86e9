// SPDX-License-Identifier: MIT
// Writer -> file -> reader round trips and write_model's failure behaviour.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "repvk/synthetic.h"
#include "test_util.h"

namespace repvk::test {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    tmpl += "/repvk_model_test.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = buf.data();
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(path_.c_str())) {
      while (dirent* e = ::readdir(d))
        if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
          out.push_back(e->d_name);
      ::closedir(d);
    }
    return out;
  }

 private:
  std::string path_;
};

void round_trip(const Model& m) {
  TempDir dir;
  const std::string path = dir.path() + "/m.rpvk";
  write_model(m, path);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"m.rpvk"});  // no temp file left
  expect_models_equal(read_model(path), m);
  const auto bytes = serialize_model(m);
  EXPECT_EQ(bytes.size() % 4, 0u);
  EXPECT_EQ(bytes.size(), detail::serialized_size(m));
  expect_models_equal(parse_model(bytes.data(), bytes.size(), "mem"), m);
}

TEST(RoundTrip, Fp32) {
  TinyOptions o;
  o.encoding = WeightEncoding::Fp32;
  round_trip(tiny_model(o));
}

TEST(RoundTrip, CodebookEveryBitsGranularityAndStorage) {
  for (uint32_t bits = 1; bits <= 8; ++bits)
    for (auto gran : {CodebookGranularity::PerLayer, CodebookGranularity::PerOutputChannel})
      for (auto storage : {ValueStorage::Fp32, ValueStorage::Fp16}) {
        SCOPED_TRACE("bits " + std::to_string(bits) + " gran " +
                     std::to_string(int(gran)) + " storage " + std::to_string(int(storage)));
        TinyOptions o;
        o.bits = bits;
        o.granularity = gran;
        o.storage = storage;
        o.seed = bits * 10 + uint32_t(gran) * 2 + uint32_t(storage);
        round_trip(tiny_model(o));
      }
}

TEST(RoundTrip, Fp16StorageRoundsValues) {
  TinyOptions o;
  o.storage = ValueStorage::Fp16;
  Model m = tiny_model(o);
  m.layers[0].weights.codebooks[0] = 0.1f;  // not representable in fp16
  const auto bytes = serialize_model(m);
  const Model back = parse_model(bytes.data(), bytes.size(), "mem");
  EXPECT_EQ(back.layers[0].weights.codebooks[0], detail::half_to_float(detail::float_to_half(0.1f)));
  m.layers[0].weights.codebooks[0] = 1e6f;
  EXPECT_MODEL_ERROR(serialize_model(m), "layer 0 (conv3x3)", "overflows fp16");
}

TEST(RoundTrip, DenseFp16Storage) {
  TinyOptions o;
  o.encoding = WeightEncoding::Fp32;
  o.dense_storage = ValueStorage::Fp16;
  round_trip(tiny_model(o));
}

uint32_t bits_of(float f) { return detail::float_bits(f); }

// A real-sized fp32 model: fp16 storage keeps every rounded value bit for bit and
// halves the file.
TEST(RoundTrip, DenseFp16StorageIsExactAndHalvesTheFile) {
  SyntheticConfig c = synthetic_preset("small");
  c.quantized = false;
  const Model fp32 = make_synthetic_model(c);
  Model half = fp32;
  for (Layer& l : half.layers)
    if (l.has_weights()) l.weights.dense_storage = ValueStorage::Fp16;
  const auto fp32_bytes = serialize_model(fp32);
  const auto half_bytes = serialize_model(half);  // the writer rounds
  EXPECT_EQ(half_bytes.size(), detail::serialized_size(half));
  const double ratio = double(half_bytes.size()) / double(fp32_bytes.size());
  EXPECT_GT(ratio, 0.49);
  EXPECT_LT(ratio, 0.51);

  const Model back = parse_model(half_bytes.data(), half_bytes.size(), "mem");
  size_t changed = 0;
  for (size_t i = 0; i < back.layers.size(); ++i) {
    const Layer& l = back.layers[i];
    if (!l.has_weights()) continue;
    SCOPED_TRACE("layer " + std::to_string(i));
    EXPECT_EQ(l.weights.encoding, WeightEncoding::Fp32);  // consumers see plain fp32
    EXPECT_EQ(l.weights.dense_storage, ValueStorage::Fp16);
    EXPECT_EQ(l.bias, fp32.layers[i].bias);  // biases stay fp32
    const std::vector<float>& orig = fp32.layers[i].weights.dense;
    ASSERT_EQ(l.weights.dense.size(), orig.size());
    for (size_t k = 0; k < orig.size(); ++k) {
      const float rounded = detail::half_to_float(detail::float_to_half(orig[k]));
      ASSERT_EQ(bits_of(l.weights.dense[k]), bits_of(rounded)) << k;
      changed += bits_of(rounded) != bits_of(orig[k]);
    }
  }
  EXPECT_GT(changed, 0u);  // the model really did lose precision
  // Re-serializing what was read reproduces the file byte for byte.
  EXPECT_EQ(serialize_model(back), half_bytes);
  // Back to fp32 storage: the rounded values, now 4 bytes each.
  Model wide = back;
  for (Layer& l : wide.layers) l.weights.dense_storage = ValueStorage::Fp32;
  const auto wide_bytes = serialize_model(wide);
  EXPECT_EQ(wide_bytes.size(), fp32_bytes.size());
  expect_models_equal(parse_model(wide_bytes.data(), wide_bytes.size(), "mem"), wide);
}

TEST(RoundTrip, DenseFp16StorageRoundsValuesAndRejectsOverflow) {
  TinyOptions o;
  o.encoding = WeightEncoding::Fp32;
  o.dense_storage = ValueStorage::Fp16;
  Model m = tiny_model(o);
  m.layers[1].weights.dense[3] = 0.1f;      // not representable in fp16
  m.layers[1].weights.dense[4] = -65519.0f;  // rounds to the largest half, -65504
  m.layers[1].weights.dense[5] = 1e-8f;     // below the smallest subnormal: rounds to 0
  const auto bytes = serialize_model(m);
  const Model back = parse_model(bytes.data(), bytes.size(), "mem");
  EXPECT_EQ(back.layers[1].weights.dense[3], detail::half_to_float(detail::float_to_half(0.1f)));
  EXPECT_EQ(back.layers[1].weights.dense[4], -65504.0f);
  EXPECT_EQ(back.layers[1].weights.dense[5], 0.0f);
  m.layers[1].weights.dense[4] = -65520.0f;  // rounds to -inf
  EXPECT_MODEL_ERROR(serialize_model(m), "layer 1 (conv3x3)",
                     "weight 4 (-65520.000000) overflows fp16 storage");
  m.layers[1].weights.dense[4] = 1e6f;
  EXPECT_MODEL_ERROR(validate_model(m, "m.rpvk"), "m.rpvk: layer 1 (conv3x3): weight 4",
                     "overflows fp16 storage");
}

TEST(RoundTrip, DenseFp16OddCountIsPadded) {
  // conv 1->3: 27 weights, 54 bytes, then 2 bytes of padding.
  TinyOptions o;
  o.encoding = WeightEncoding::Fp32;
  o.dense_storage = ValueStorage::Fp16;
  Model m = tiny_model(o);
  m.input.channels = 1;
  m.input.mean.resize(1);
  m.input.std.resize(1);
  std::mt19937 g(11);
  m.layers[0] = tiny_weighted(LayerType::Conv3x3, 1, 3, 1, true, o, g);
  ASSERT_EQ(m.layers[0].weights.dense.size(), 27u);
  EXPECT_EQ(detail::stored_weight_bytes(m.layers[0]), 56u + 12u);  // + 3 fp32 biases
  round_trip(m);
  auto b = serialize_model(m);
  const size_t pad = weights_offset(m, 0) + 4 + 54;
  EXPECT_EQ(b[pad], 0);
  EXPECT_EQ(b[pad + 1], 0);
  b[pad + 1] = 1;
  fix_header(b);
  EXPECT_MODEL_ERROR(parse(b), "layer 0 (conv3x3): nonzero padding after fp16 weights");
}

TEST(RoundTrip, ParserFillsPoolAndSoftmaxChannels) {
  Model m = tiny_model();
  m.layers[2].in_channels = m.layers[2].out_channels = 0;
  m.layers[4].in_channels = m.layers[4].out_channels = 0;
  const auto bytes = serialize_model(m);
  const Model back = parse_model(bytes.data(), bytes.size(), "mem");
  EXPECT_EQ(back.layers[2].in_channels, 4u);
  EXPECT_EQ(back.layers[4].out_channels, 3u);
}

TEST(RoundTrip, HeaderLayout) {
  const auto b = serialize_model(tiny_model());
  EXPECT_EQ(std::string(b.begin(), b.begin() + 4), "RPVK");
  EXPECT_EQ(get_u32(b, 4), kModelVersion);
  EXPECT_EQ(get_u32(b, 12), 0u);
  EXPECT_EQ(get_u32(b, 16), b.size());
  EXPECT_EQ(get_u32(b, 20), 0u);
  EXPECT_EQ(get_u32(b, 24), 4u);  // name length, then "tiny"
  EXPECT_EQ(std::string(b.begin() + 28, b.begin() + 32), "tiny");
}

TEST(WriteModel, MissingDirectoryThrowsAndLeavesNothing) {
  TempDir dir;
  const std::string path = dir.path() + "/no/such/dir/m.rpvk";
  EXPECT_MODEL_ERROR(write_model(tiny_model(), path), path.c_str(), "cannot create");
  EXPECT_TRUE(dir.entries().empty());
}

TEST(WriteModel, FailedRenameRemovesTempFile) {
  TempDir dir;
  const std::string path = dir.path() + "/target";
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);
  ::mkdir((path + "/occupied").c_str(), 0755);  // a non-empty directory cannot be replaced
  EXPECT_MODEL_ERROR(write_model(tiny_model(), path), path.c_str(), "rename");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"target"});
}

TEST(WriteModel, InvalidModelIsNeverWritten) {
  TempDir dir;
  const std::string path = dir.path() + "/bad.rpvk";
  Model m = tiny_model();
  m.layers[0].weights.bits = 9;
  EXPECT_MODEL_ERROR(write_model(m, path), path.c_str(), "layer 0 (conv3x3): bits 9 outside 1..8");
  EXPECT_TRUE(dir.entries().empty());
}

TEST(WriteModel, OverwritesExistingFile) {
  TempDir dir;
  const std::string path = dir.path() + "/m.rpvk";
  { std::ofstream(path) << "old contents"; }
  write_model(tiny_model(), path);
  expect_models_equal(read_model(path), tiny_model());
}

TEST(ReadModel, MissingFileNamesPath) {
  EXPECT_MODEL_ERROR(read_model("/nonexistent/dir/x.rpvk"), "/nonexistent/dir/x.rpvk",
                     "cannot open");
}

TEST(ReadModel, DirectoryIsRejected) {
  TempDir dir;
  EXPECT_MODEL_ERROR(read_model(dir.path()), "not a regular file");
}

TEST(ReadModel, RejectsOversizedFileBeforeReading) {
  TempDir dir;
  const std::string path = dir.path() + "/huge.rpvk";
  { std::ofstream(path) << "RPVK"; }
  // Sparse: costs no disk space, and the reader must refuse it from the size alone.
  ASSERT_EQ(::truncate(path.c_str(), off_t(ModelLimits::kMaxFileBytes + 1)), 0);
  EXPECT_MODEL_ERROR(read_model(path), "huge.rpvk", "above the limit");
}

}  // namespace
}  // namespace repvk::test
