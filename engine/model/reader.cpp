// SPDX-License-Identifier: MIT
// parse_model / read_model. The parser trusts nothing: every count is checked against
// the bytes that remain before anything is allocated, so the memory it uses is
// bounded by a small multiple of the input size.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "layer_kind.h"

namespace repvk {
namespace {

using detail::Cursor;
using detail::hex32;

uint32_t parse_header(Cursor& in, const uint8_t* data, size_t size) {
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
  if ((flags & ~detail::kHeaderFlagInputResize) != 0)
    in.fail("reserved header flags " + hex32(flags & ~detail::kHeaderFlagInputResize) +
            " are set");
  return flags;
}

void parse_input(Cursor& in, InputSpec& spec, uint32_t header_flags) {
  spec.channels = in.u32("input channels");
  spec.height = in.u32("input height");
  spec.width = in.u32("input width");
  if (spec.channels < 1 || spec.channels > ModelLimits::kMaxInputChannels)
    in.fail("input channels " + std::to_string(spec.channels) + " outside 1.." +
            std::to_string(ModelLimits::kMaxInputChannels));
  spec.mean = in.f32_array(spec.channels, "input mean");
  spec.std = in.f32_array(spec.channels, "input std");
  if (header_flags & detail::kHeaderFlagInputResize) {
    const uint32_t mode = in.u32("input resize mode");
    // Stretch is what a file without the record means; writing it would give a
    // second encoding of the same model.
    if (mode != uint32_t(InputResize::ShorterSideCrop))
      in.fail("input resize mode " + std::to_string(mode) +
              " is not 1 (shorter side + centre crop), the only mode the record can hold");
    spec.resize = InputResize(mode);
    spec.resize_shorter = in.u32("input resize shorter side");
  }
}

Layer parse_layer(Cursor& in, int index) {
  in.set_layer(index, LayerType::Conv3x3, false);
  const uint32_t type = in.u32("layer type");
  Layer l;
  l.type = LayerType(type);
  const detail::LayerKind* kind = detail::find_layer_kind(l.type);
  if (kind == nullptr) in.fail("unknown layer type " + std::to_string(type));
  in.set_layer(index, l.type, true);
  kind->read(in, l);
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
  const uint32_t header_flags = parse_header(in, data, size);

  Model m;
  m.name = in.string(ModelLimits::kMaxNameBytes, "model name");
  parse_input(in, m.input, header_flags);

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
  // Unweighted kinds store no channel counts; fill them in for the engine's convenience.
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
