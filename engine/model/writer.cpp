// serialize_model / write_model. Everything written has passed validate_model, so the
// reader accepts whatever the writer produces.
#include "internal.h"
#include "repvk/util/atomic_file.h"

namespace repvk {
namespace {

class Bytes {
 public:
  explicit Bytes(uint64_t capacity) { buf_.reserve(size_t(capacity)); }

  void u32(uint32_t v) {
    const uint8_t b[4] = {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
    buf_.insert(buf_.end(), b, b + 4);
  }
  void u64(uint64_t v) {
    u32(uint32_t(v));
    u32(uint32_t(v >> 32));
  }
  void f32s(const std::vector<float>& v) {
    for (float f : v) u32(detail::float_bits(f));
  }
  void u32s(const std::vector<uint32_t>& v) {
    for (uint32_t w : v) u32(w);
  }
  void f16s(const std::vector<float>& v) {
    for (float f : v) {
      const uint16_t h = detail::float_to_half(f);
      buf_.push_back(uint8_t(h));
      buf_.push_back(uint8_t(h >> 8));
    }
    pad();
  }
  void str(const std::string& s) {
    u32(uint32_t(s.size()));
    buf_.insert(buf_.end(), s.begin(), s.end());
    pad();
  }
  void pad() {
    while (buf_.size() % 4 != 0) buf_.push_back(0);
  }
  std::vector<uint8_t>& data() { return buf_; }

 private:
  std::vector<uint8_t> buf_;
};

void put_weights(Bytes& out, const Layer& l) {
  const Weights& w = l.weights;
  if (w.encoding == WeightEncoding::Fp32) {
    if (w.dense_storage == ValueStorage::Fp16) {
      out.u32(detail::kEncodingFp16Dense);
      out.f16s(w.dense);
    } else {
      out.u32(detail::kEncodingFp32);
      out.f32s(w.dense);
    }
  } else {
    out.u32(detail::kEncodingCodebook);
    out.u32(w.bits);
    out.u32(uint32_t(w.granularity));
    out.u32(uint32_t(w.codebook_storage));
    out.u32(w.codebook_size);
    if (w.codebook_storage == CodebookStorage::Fp16) out.f16s(w.codebooks);
    else out.f32s(w.codebooks);
    out.u64(w.packed.size());
    out.u32s(w.packed);
  }
  out.f32s(l.bias);
}

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
  out.u32(0);  // reserved flags
  out.u64(total);
  out.str(m.name);
  out.u32(m.input.channels);
  out.u32(m.input.height);
  out.u32(m.input.width);
  out.f32s(m.input.mean);
  out.f32s(m.input.std);
  out.u32(uint32_t(m.class_names.size()));
  for (const auto& c : m.class_names) out.str(c);
  out.u32(uint32_t(m.layers.size()));
  for (const auto& l : m.layers) {
    out.u32(uint32_t(l.type));
    if (!l.has_weights()) {
      out.u32(0);
      continue;
    }
    out.u32(l.in_channels);
    out.u32(l.out_channels);
    if (l.type == LayerType::Conv3x3) out.u32(l.stride);
    out.u32(l.relu ? kFlagRelu : 0);
    put_weights(out, l);
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
