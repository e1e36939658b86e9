// parse_model / read_model. The parser trusts nothing: every count is checked against
// the bytes that remain before anything is allocated, so the memory it uses is
// bounded by a small multiple of the input size.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "internal.h"

namespace repvk {
namespace {

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size, const std::string& source)
      : data_(data), size_(size), source_(source) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  void set_layer(int index, LayerType type, bool known) {
    layer_ = index;
    type_ = type;
    type_known_ = known;
  }

  [[noreturn]] void fail(const std::string& msg) const {
    if (layer_ >= 0 && type_known_) throw ModelError(source_, layer_, type_, msg);
    throw ModelError(source_, layer_, msg);
  }

  // Throws unless `bytes` more bytes are available for `what`.
  void need(uint64_t bytes, const std::string& what) const {
    if (bytes > remaining())
      fail("truncated: " + what + " needs " + std::to_string(bytes) + " bytes at offset " +
           std::to_string(pos_) + " but only " + std::to_string(remaining()) + " remain");
  }

  uint32_t u32(const std::string& what) {
    need(4, what);
    const uint8_t* p = data_ + pos_;
    pos_ += 4;
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
  }

  uint64_t u64(const std::string& what) {
    need(8, what);
    uint64_t lo = u32(what);
    uint64_t hi = u32(what);
    return lo | hi << 32;
  }

  // `count` little-endian f32 values (the caller has bounded count by the input size).
  std::vector<float> f32_array(uint64_t count, const std::string& what) {
    uint64_t bytes = 0;
    if (!detail::mul_u64(count, 4, bytes)) fail(what + ": size overflows");
    need(bytes, what);
    std::vector<float> v(static_cast<size_t>(count));
    for (auto& f : v) f = detail::bits_float(u32(what));
    return v;
  }

  std::vector<uint32_t> u32_array(uint64_t count, const std::string& what) {
    uint64_t bytes = 0;
    if (!detail::mul_u64(count, 4, bytes)) fail(what + ": size overflows");
    need(bytes, what);
    std::vector<uint32_t> v(static_cast<size_t>(count));
    for (auto& w : v) w = u32(what);
    return v;
  }

  std::vector<float> f16_array(uint64_t count, const std::string& what) {
    const uint64_t bytes = detail::pad4(count * 2);  // count is bounded by the caller
    need(bytes, what);
    std::vector<float> v(static_cast<size_t>(count));
    for (auto& f : v) {
      uint16_t h = uint16_t(data_[pos_] | data_[pos_ + 1] << 8);
      pos_ += 2;
      f = detail::half_to_float(h);
    }
    skip_padding(bytes - count * 2, what);
    return v;
  }

  // Zero-padded string of at most `limit` bytes.
  std::string string(uint32_t limit, const std::string& what) {
    const uint32_t len = u32(what + " length");
    if (len > limit)
      fail(what + " is " + std::to_string(len) + " bytes, above the limit of " +
           std::to_string(limit));
    need(detail::pad4(len), what);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    skip_padding(detail::pad4(len) - len, what);
    return s;
  }

 private:
  // Padding must be zero so that every model has exactly one encoding.
  void skip_padding(uint64_t n, const std::string& what) {
    for (uint64_t k = 0; k < n; ++k)
      if (data_[pos_ + k] != 0) fail("nonzero padding after " + what);
    pos_ += size_t(n);
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& source_;
  int layer_ = -1;
  LayerType type_ = LayerType::Conv3x3;
  bool type_known_ = false;
};

void parse_header(Cursor& in, const uint8_t* data, size_t size) {
  if (size < 4) in.fail("file is " + std::to_string(size) + " bytes, too short for a model");
  const uint32_t magic = in.u32("magic");
  if (magic != kModelMagic)
    in.fail("bad magic " + hex32(magic) + ", expected " + hex32(kModelMagic) +
            " (\"RPVK\"): not a repvk model");
  const uint32_t version = in.u32("version");
  if (version != kModelVersion)
    in.fail("file has format version " + std::to_string(version) + " but this build reads version " +
            std::to_string(kModelVersion));
  in.need(detail::kHeaderBytes - in.pos(), "header");
  const uint32_t stored_crc = in.u32("checksum");
  const uint32_t flags = in.u32("flags");
  const uint64_t file_size = in.u64("file_size");
  if (file_size != size)
    in.fail("header says the file is " + std::to_string(file_size) + " bytes but it is " +
            std::to_string(size) + (file_size > size ? " (truncated)" : " (extra bytes)"));
  static const uint8_t zeros[4] = {0, 0, 0, 0};
  uint32_t crc = crc32(data, detail::kCrcOffset);
  crc = crc32(zeros, 4, crc);
  crc = crc32(data + detail::kCrcOffset + 4, size - detail::kCrcOffset - 4, crc);
  if (crc != stored_crc)
    in.fail("checksum mismatch: header has " + hex32(stored_crc) + ", contents give " +
            hex32(crc) + " (file corrupted)");
  if (flags != 0) in.fail("reserved header flags " + hex32(flags) + " are set");
}

void parse_input(Cursor& in, InputSpec& spec) {
  spec.channels = in.u32("input channels");
  spec.height = in.u32("input height");
  spec.width = in.u32("input width");
  if (spec.channels < 1 || spec.channels > ModelLimits::kMaxInputChannels)
    in.fail("input channels " + std::to_string(spec.channels) + " outside 1.." +
            std::to_string(ModelLimits::kMaxInputChannels));
  spec.mean = in.f32_array(spec.channels, "input mean");
  spec.std = in.f32_array(spec.channels, "input std");
}

void parse_weights(Cursor& in, Layer& l) {
  Weights& w = l.weights;
  const uint64_t row = l.row_length();
  const uint64_t rows = l.out_channels;
  uint64_t n = 0;
  if (!detail::mul_u64(rows, row, n) || n > ModelLimits::kMaxLayerWeights)
    in.fail("out * row_length = " + std::to_string(rows) + " * " + std::to_string(row) +
            " weights, above the per-layer limit of " +
            std::to_string(ModelLimits::kMaxLayerWeights));
  const uint32_t encoding = in.u32("weight encoding");
  if (encoding == detail::kEncodingFp32) {
    w.encoding = WeightEncoding::Fp32;
    w.dense = in.f32_array(n, "fp32 weights");
    return;
  }
  if (encoding == detail::kEncodingFp16Dense) {
    w.encoding = WeightEncoding::Fp32;
    w.dense_storage = ValueStorage::Fp16;
    w.dense = in.f16_array(n, "fp16 weights");  // n <= kMaxLayerWeights: 2n cannot overflow
    return;
  }
  if (encoding != detail::kEncodingCodebook)
    in.fail("unknown weight encoding " + std::to_string(encoding));
  w.encoding = WeightEncoding::Codebook;
  w.bits = in.u32("bits");
  if (w.bits < 1 || w.bits > 8) in.fail("bits " + std::to_string(w.bits) + " outside 1..8");
  const uint32_t gran = in.u32("codebook granularity");
  if (gran > 1) in.fail("unknown codebook granularity " + std::to_string(gran));
  w.granularity = CodebookGranularity(gran);
  const uint32_t storage = in.u32("codebook storage");
  if (storage > 1) in.fail("unknown codebook storage " + std::to_string(storage));
  w.codebook_storage = CodebookStorage(storage);
  w.codebook_size = in.u32("codebook_size");
  const uint32_t max_size = 1u << w.bits;
  if (w.codebook_size < 1 || w.codebook_size > max_size)
    in.fail("codebook_size " + std::to_string(w.codebook_size) + " outside 1.." +
            std::to_string(max_size) + " for " + std::to_string(w.bits) + " bits");
  // groups <= kMaxChannels and codebook_size <= 256, so this cannot overflow.
  const uint64_t values = detail::codebook_groups(l) * uint64_t(w.codebook_size);
  w.codebooks = w.codebook_storage == CodebookStorage::Fp16
                    ? in.f16_array(values, "fp16 codebooks")
                    : in.f32_array(values, "fp32 codebooks");
  const uint64_t expected = rows * words_per_row(row, w.bits);
  const uint64_t words = in.u64("packed word count");
  if (words != expected)
    in.fail("packed word count " + std::to_string(words) + ", expected " +
            std::to_string(expected) + " (" + std::to_string(rows) + " rows of " +
            std::to_string(words_per_row(row, w.bits)) + " words)");
  w.packed = in.u32_array(words, "packed indices");
}

void check_channels(Cursor& in, const Layer& l) {
  // Bounded here (not only in validate_model) because they size allocations.
  const uint32_t lim = ModelLimits::kMaxChannels;
  if (l.in_channels < 1 || l.in_channels > lim)
    in.fail("in_channels " + std::to_string(l.in_channels) + " outside 1.." + std::to_string(lim));
  if (l.out_channels < 1 || l.out_channels > lim)
    in.fail("out_channels " + std::to_string(l.out_channels) + " outside 1.." +
            std::to_string(lim));
}

void parse_flags(Cursor& in, Layer& l, uint32_t allowed) {
  const uint32_t flags = in.u32("layer flags");
  if ((flags & ~allowed) != 0) in.fail("unknown layer flags " + hex32(flags & ~allowed));
  l.relu = (flags & detail::kFlagRelu) != 0;
}

Layer parse_layer(Cursor& in, int index) {
  in.set_layer(index, LayerType::Conv3x3, false);
  const uint32_t type = in.u32("layer type");
  Layer l;
  l.type = LayerType(type);
  switch (l.type) {
    case LayerType::Conv3x3:
    case LayerType::FullyConnected:
    case LayerType::GlobalAvgPool:
    case LayerType::Softmax:
      break;
    default:
      in.fail("unknown layer type " + std::to_string(type));
  }
  in.set_layer(index, l.type, true);
  if (!l.has_weights()) {
    parse_flags(in, l, 0);
    return l;
  }
  l.in_channels = in.u32("in_channels");
  l.out_channels = in.u32("out_channels");
  if (l.type == LayerType::Conv3x3) l.stride = in.u32("stride");
  parse_flags(in, l, detail::kFlagRelu);
  check_channels(in, l);
  parse_weights(in, l);
  l.bias = in.f32_array(l.out_channels, "bias");
  return l;
}

}  // namespace

Model parse_model(const uint8_t* data, size_t size, const std::string& source) {
  if (data == nullptr && size != 0) throw ModelError(source, -1, "no data");
  if (size > ModelLimits::kMaxFileBytes)
    throw ModelError(source, -1, "file is " + std::to_string(size) +
                                     " bytes, above the limit of " +
                                     std::to_string(ModelLimits::kMaxFileBytes));
  Cursor in(data, size, source);
  parse_header(in, data, size);

  Model m;
  m.name = in.string(ModelLimits::kMaxNameBytes, "model name");
  parse_input(in, m.input);

  const uint32_t classes = in.u32("class count");
  if (classes < 1 || classes > ModelLimits::kMaxClasses)
    in.fail("class count " + std::to_string(classes) + " outside 1.." +
            std::to_string(ModelLimits::kMaxClasses));
  in.need(uint64_t(classes) * 4, "class names");  // each name takes at least its length
  m.class_names.reserve(classes);
  for (uint32_t k = 0; k < classes; ++k)
    m.class_names.push_back(in.string(ModelLimits::kMaxNameBytes,
                                      "class name " + std::to_string(k)));

  const uint32_t layers = in.u32("layer count");
  if (layers < 1) in.fail("model has no layers");
  if (layers > ModelLimits::kMaxLayers)
    in.fail("layer count " + std::to_string(layers) + " above the limit of " +
            std::to_string(ModelLimits::kMaxLayers));
  in.need(uint64_t(layers) * 8, "layers");  // type + flags at least
  m.layers.reserve(layers);
  for (uint32_t i = 0; i < layers; ++i) m.layers.push_back(parse_layer(in, int(i)));
  in.set_layer(-1, LayerType::Conv3x3, false);
  if (in.remaining() != 0)
    in.fail(std::to_string(in.remaining()) + " trailing bytes after the last layer");

  const std::vector<TensorShape> shapes = validate_model(m, source);
  // Pool and softmax store no channel counts; fill them in for the engine's convenience.
  for (size_t i = 0; i < m.layers.size(); ++i) {
    Layer& l = m.layers[i];
    if (!l.has_weights()) l.in_channels = l.out_channels = shapes[i].c;
  }
  return m;
}

Model read_model(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ModelError(path, -1, std::string("cannot open: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    throw ModelError(path, -1, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw ModelError(path, -1, "not a regular file");
  const uint64_t size = uint64_t(st.st_size);
  if (size > ModelLimits::kMaxFileBytes)
    throw ModelError(path, -1, "file is " + std::to_string(size) +
                                   " bytes, above the limit of " +
                                   std::to_string(ModelLimits::kMaxFileBytes));
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t r = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw ModelError(path, -1, std::string("read failed: ") + std::strerror(errno));
    if (r == 0) throw ModelError(path, -1, "file shrank while being read");
    got += size_t(r);
  }
  return parse_model(bytes.data(), bytes.size(), path);
}

}  // namespace repvk
