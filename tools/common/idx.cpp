// SPDX-License-Identifier: MIT
#include "idx.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <filesystem>
#include <memory>
#include <system_error>

#include <zlib.h>

namespace repvk::tools {
namespace {

struct GzClose {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzClose>;

std::string gz_reason(gzFile f) {
  int code = Z_OK;
  const char* msg = gzerror(f, &code);
  if (code == Z_ERRNO) return std::generic_category().message(errno);
  return msg && *msg ? msg : "unexpected end of file";
}

GzFile open_gz(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw DatasetError("cannot open '" + path + "': is a directory");
  errno = 0;
  // gzopen also reads uncompressed files transparently, which lets users point
  // at already-extracted idx files renamed to .gz without surprises.
  GzFile f(gzopen(path.c_str(), "rb"));
  if (!f) {
    const int err = errno;
    throw DatasetError("cannot open '" + path + "': " +
                       (err ? std::generic_category().message(err) : std::string("gzopen failed")));
  }
  return f;
}

// Reads exactly `bytes` bytes or throws naming `what` (header, labels, pixels).
void read_exact(gzFile f, const std::string& path, void* dst, uint64_t bytes, const char* what) {
  auto* out = static_cast<uint8_t*>(dst);
  uint64_t done = 0;
  while (done < bytes) {
    // gzread takes an unsigned and returns an int, so read in sub-2-GiB pieces.
    const unsigned chunk = unsigned(std::min<uint64_t>(bytes - done, 1u << 30));
    const int got = gzread(f, out + done, chunk);
    if (got < 0) throw DatasetError("cannot read '" + path + "': " + gz_reason(f));
    if (got == 0) {
      int code = Z_OK;
      gzerror(f, &code);
      const std::string reason =
          code != Z_OK && code != Z_BUF_ERROR ? ": " + gz_reason(f) : std::string();
      throw DatasetError("'" + path + "' is truncated: expected " + std::to_string(bytes) +
                         " bytes of " + what + ", got " + std::to_string(done) + reason);
    }
    done += uint64_t(got);
  }
}

uint32_t read_be32(gzFile f, const std::string& path) {
  uint8_t b[4];
  read_exact(f, path, b, 4, "header");
  return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
}

void check_magic(uint32_t magic, uint32_t expected, const std::string& path, const char* kind) {
  if (magic != expected)
    throw DatasetError("'" + path + "' is not an idx " + kind + " file: magic number " +
                       std::to_string(magic) + ", expected " + std::to_string(expected));
}

void check_count(uint32_t total, const std::string& path) {
  if (total == 0 || total > IdxLimits::kMaxItems)
    throw DatasetError("'" + path + "' declares " + std::to_string(total) +
                       " items; expected 1.." + std::to_string(IdxLimits::kMaxItems));
}

uint32_t loaded_count(uint32_t total, uint32_t limit) {
  return limit == 0 ? total : std::min(total, limit);
}

}  // namespace

IdxImages read_idx_images(const std::string& path, uint32_t limit, uint32_t expected_rows,
                          uint32_t expected_cols) {
  GzFile f = open_gz(path);
  check_magic(read_be32(f.get(), path), kIdxImagesMagic, path, "images");
  IdxImages out;
  out.total = read_be32(f.get(), path);
  out.rows = read_be32(f.get(), path);
  out.cols = read_be32(f.get(), path);
  check_count(out.total, path);
  if (out.rows == 0 || out.cols == 0 || out.rows > IdxLimits::kMaxDimension ||
      out.cols > IdxLimits::kMaxDimension)
    throw DatasetError("'" + path + "' declares " + std::to_string(out.rows) + "x" +
                       std::to_string(out.cols) + " images; each side must be 1.." +
                       std::to_string(IdxLimits::kMaxDimension));
  if ((expected_rows && out.rows != expected_rows) || (expected_cols && out.cols != expected_cols))
    throw DatasetError("'" + path + "' holds " + std::to_string(out.rows) + "x" +
                       std::to_string(out.cols) + " images but " +
                       std::to_string(expected_rows) + "x" + std::to_string(expected_cols) +
                       " are required");
  out.count = loaded_count(out.total, limit);
  const uint64_t bytes = uint64_t(out.count) * out.rows * out.cols;
  if (bytes > IdxLimits::kMaxPixelBytes)
    throw DatasetError("'" + path + "' would need " + std::to_string(bytes) +
                       " bytes of pixels; the limit is " +
                       std::to_string(IdxLimits::kMaxPixelBytes) + " (use --limit)");
  out.pixels.resize(size_t(bytes));
  read_exact(f.get(), path, out.pixels.data(), bytes, "pixels");
  return out;
}

IdxLabels read_idx_labels(const std::string& path, uint32_t limit) {
  GzFile f = open_gz(path);
  check_magic(read_be32(f.get(), path), kIdxLabelsMagic, path, "labels");
  IdxLabels out;
  out.total = read_be32(f.get(), path);
  check_count(out.total, path);
  out.count = loaded_count(out.total, limit);
  out.labels.resize(out.count);
  read_exact(f.get(), path, out.labels.data(), out.count, "labels");
  return out;
}

IdxArray read_idx(const std::string& path) {
  GzFile f = open_gz(path);
  const uint32_t magic = read_be32(f.get(), path);
  const uint32_t rank = magic & 0xff;
  if ((magic >> 8) != 0x08 || rank < 1 || rank > 4)
    throw DatasetError("'" + path + "' is not an unsigned-byte idx file of rank 1..4: " +
                       "magic number " + std::to_string(magic));
  IdxArray out;
  uint64_t bytes = 1;
  for (uint32_t d = 0; d < rank; ++d) {
    const uint32_t n = read_be32(f.get(), path);
    if (n == 0 || n > IdxLimits::kMaxItems)
      throw DatasetError("'" + path + "' declares dimension " + std::to_string(d) + " as " +
                         std::to_string(n) + "; expected 1.." +
                         std::to_string(IdxLimits::kMaxItems));
    out.dims.push_back(n);
    bytes *= n;
    if (bytes > IdxLimits::kMaxPixelBytes)
      throw DatasetError("'" + path + "' would need more than " +
                         std::to_string(IdxLimits::kMaxPixelBytes) + " bytes of data");
  }
  out.data.resize(size_t(bytes));
  read_exact(f.get(), path, out.data.data(), bytes, "data");
  // Trailing bytes mean the header lies about the shape.
  uint8_t extra = 0;
  if (gzread(f.get(), &extra, 1) > 0)
    throw DatasetError("'" + path + "' holds more than the " + std::to_string(bytes) +
                       " data bytes its header declares (expected exactly that many)");
  return out;
}

Dataset load_fashion_mnist(const std::string& dir, const std::string& split, uint32_t limit,
                           uint32_t expected_rows, uint32_t expected_cols) {
  std::string prefix;
  if (split == "test") prefix = "t10k";
  else if (split == "train") prefix = "train";
  else throw DatasetError("unknown split '" + split + "' (expected test or train)");

  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw DatasetError("dataset folder '" + dir +
                       "' does not exist (install Debian's dataset-fashion-mnist or pass --data)");
  const std::filesystem::path base(dir);
  Dataset d;
  d.images_path = (base / (prefix + "-images-idx3-ubyte.gz")).string();
  d.labels_path = (base / (prefix + "-labels-idx1-ubyte.gz")).string();
  // Labels first: they are small, so a mismatch is reported before the big read.
  d.labels = read_idx_labels(d.labels_path, limit);
  d.images = read_idx_images(d.images_path, limit, expected_rows, expected_cols);
  if (d.images.total != d.labels.total)
    throw DatasetError("'" + d.images_path + "' holds " + std::to_string(d.images.total) +
                       " images but '" + d.labels_path + "' holds " +
                       std::to_string(d.labels.total) + " labels");
  return d;
}

const std::vector<std::string>& fashion_mnist_class_names() {
  static const std::vector<std::string> names = {
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

}  // namespace repvk::tools
