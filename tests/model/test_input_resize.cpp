// SPDX-License-Identifier: MIT
// The optional input resize record (header flag bit 0): round trip, the encoding of
// files without it unchanged, and every bad value rejected with a message.
#include "test_util.h"

namespace repvk::test {
namespace {

Model cropped_model(uint32_t shorter = 7) {
  Model m = tiny_model();  // 2x5x4 input
  m.input.resize = InputResize::ShorterSideCrop;
  m.input.resize_shorter = shorter;
  return m;
}

// Offset of the record: right after the input std.
size_t resize_offset(const Model& m) {
  return detail::kHeaderBytes + 4 + detail::pad4(m.name.size()) + 12 + 8 * m.input.channels;
}

TEST(InputResize, RoundTripWritesFlagAndRecord) {
  const Model m = cropped_model();
  const auto bytes = serialize_model(m);
  const auto plain = serialize_model(tiny_model());
  EXPECT_EQ(bytes.size(), plain.size() + 8);
  EXPECT_EQ(get_u32(bytes, 12), detail::kHeaderFlagInputResize);
  EXPECT_EQ(get_u32(bytes, resize_offset(m)), 1u);
  EXPECT_EQ(get_u32(bytes, resize_offset(m) + 4), 7u);
  const Model back = parse(bytes);
  expect_models_equal(m, back);
  EXPECT_EQ(serialize_model(back), bytes);
}

TEST(InputResize, StretchModelsKeepTheOldEncoding) {
  const auto bytes = serialize_model(tiny_model());
  EXPECT_EQ(get_u32(bytes, 12), 0u);  // no flag: readers older than the record accept it
  const Model back = parse(bytes);
  EXPECT_EQ(back.input.resize, InputResize::Stretch);
  EXPECT_EQ(back.input.resize_shorter, 0u);
}

TEST(InputResize, BadValuesAreRejectedByValidatorAndWriter) {
  const std::string range = "input resize: shorter side";
  for (uint32_t s : {0u, 4u, ModelLimits::kMaxSpatial + 1}) {
    SCOPED_TRACE(s);
    const Model m = cropped_model(s);
    EXPECT_MODEL_ERROR(validate_model(m, "m.rpvk"), "m.rpvk", range, "outside 5..4096",
                       "centre crop of 5x4");
    EXPECT_THROW(serialize_model(m), ModelError);
    EXPECT_MODEL_ERROR(parse(raw_bytes(m)), "model.rpvk", range);
  }
  EXPECT_NO_THROW(validate_model(cropped_model(5), "m.rpvk"));  // the crop is the whole side

  Model stretch = tiny_model();
  stretch.input.resize_shorter = 256;
  EXPECT_MODEL_ERROR(validate_model(stretch, "m.rpvk"), "'stretch' takes no shorter-side length");

  Model unknown = cropped_model();
  unknown.input.resize = InputResize(9);
  EXPECT_MODEL_ERROR(validate_model(unknown, "m.rpvk"), "unknown input resize mode 9");
}

TEST(InputResize, ReaderRejectsModeZeroAndUnknownModes) {
  const Model m = cropped_model();
  for (uint32_t mode : {0u, 2u, 0xFFFFFFFFu}) {
    auto b = serialize_model(m);
    set_u32(b, resize_offset(m), mode);
    fix_header(b);
    EXPECT_MODEL_ERROR(parse(b), "model.rpvk: input resize mode " + std::to_string(mode),
                       "only mode the record can hold");
  }
}

TEST(InputResize, FlagWithoutRecordIsTruncatedOrMisaligned) {
  // A stretch file with the flag set: the parser reads the class count as the mode.
  auto b = serialize_model(tiny_model());
  set_u32(b, 12, detail::kHeaderFlagInputResize);
  fix_header(b);
  EXPECT_THROW(parse(b), ModelError);
  // Cut inside the record.
  const Model m = cropped_model();
  auto c = serialize_model(m);
  c.resize(resize_offset(m) + 6);
  fix_header(c);
  EXPECT_MODEL_ERROR(parse(c), "truncated", "input resize");
}

}  // namespace
}  // namespace repvk::test
