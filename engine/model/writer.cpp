// SPDX-License-Identifier: MIT
// serialize_model / write_model. Everything written has passed validate_model, so the
// reader accepts whatever the writer produces.
#include "layer_kind.h"
#include "repvk/util/atomic_file.h"

namespace repvk {
namespace {

void put_u32_at(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int k = 0; k < 4; ++k) b[at + size_t(k)] = uint8_t(v >> (8 * k));
}

}  // namespace

namespace detail {

std::vector<uint8_t> serialize_unchecked(const Model& m) {
  const uint64_t total = serialized_size(m);
  Bytes out(total);
  out.u32(kModelMagic);
  out.u32(kModelVersion);
  out.u32(0);  // checksum, filled in last
  out.u32(has_resize_record(m.input) ? kHeaderFlagInputResize : 0u);
  out.u64(total);
  out.str(m.name);
  out.u32(m.input.channels);
  out.u32(m.input.height);
  out.u32(m.input.width);
  out.f32s(m.input.mean);
  out.f32s(m.input.std);
  if (has_resize_record(m.input)) {
    out.u32(uint32_t(m.input.resize));
    out.u32(m.input.resize_shorter);
  }
  out.u32(uint32_t(m.class_names.size()));
  for (const auto& c : m.class_names) out.str(c);
  out.u32(uint32_t(m.layers.size()));
  for (const auto& l : m.layers) {
    out.u32(uint32_t(l.type));
    find_layer_kind(l.type)->write(out, l);  // validated: every type has a kind
  }
  std::vector<uint8_t>& bytes = out.data();
  put_u32_at(bytes, kCrcOffset, crc32(bytes.data(), bytes.size()));
  return std::move(bytes);
}

}  // namespace detail

std::vector<uint8_t> serialize_model(const Model& model) {
  validate_model(model, model.name.empty() ? "<model>" : model.name);
  return detail::serialize_unchecked(model);
}

void write_model(const Model& model, const std::string& path) {
  validate_model(model, path);
  const std::vector<uint8_t> bytes = detail::serialize_unchecked(model);

  try {
    write_file_atomically(path, bytes);
  } catch (const FileWriteError& e) {
    throw ModelError(path, -1, e.problem());
  }
}

}  // namespace repvk
