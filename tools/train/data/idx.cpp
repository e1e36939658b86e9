// idx reader (Fashion-MNIST). The files are small enough to inflate in one go.
#include <zlib.h>

#include <cstring>
#include <filesystem>

#include "data/dataset.h"

namespace repvk::train {
namespace {

std::vector<uint8_t> read_gz(const std::string& path) {
  if (!std::filesystem::exists(path)) throw TrainError(path + ": file not found");
  gzFile f = gzopen(path.c_str(), "rb");  // also reads uncompressed files transparently
  if (!f) throw TrainError(path + ": cannot open");
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int err = 0;
      std::string msg = gzerror(f, &err);
      gzclose(f);
      throw TrainError(path + ": corrupt gzip data (" + msg + ")");
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
    if (out.size() > (1ull << 31)) {
      gzclose(f);
      throw TrainError(path + ": larger than 2 GiB, not an idx file");
    }
  }
  gzclose(f);
  return out;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

std::string first_existing(const std::string& dir, const std::string& base) {
  for (const char* ext : {".gz", ""}) {
    const std::string p = dir + "/" + base + ext;
    if (std::filesystem::exists(p)) return p;
  }
  return dir + "/" + base + ".gz";  // read_gz reports it missing, with the expected name
}

}  // namespace

torch::Tensor read_idx(const std::string& path) {
  const std::vector<uint8_t> bytes = read_gz(path);
  if (bytes.size() < 4) throw TrainError(path + ": too short for an idx header");
  if (bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08)
    throw TrainError(path + ": not an unsigned-byte idx file (bad magic)");
  const uint32_t dims = bytes[3];
  if (dims < 1 || dims > 4) throw TrainError(path + ": idx rank " + std::to_string(dims));
  if (bytes.size() < 4 + 4 * size_t(dims)) throw TrainError(path + ": truncated idx header");
  std::vector<int64_t> shape;
  uint64_t count = 1;
  for (uint32_t d = 0; d < dims; ++d) {
    shape.push_back(be32(bytes.data() + 4 + 4 * d));
    count *= uint64_t(shape.back());
  }
  const size_t off = 4 + 4 * size_t(dims);
  if (bytes.size() - off != count)
    throw TrainError(path + ": expected " + std::to_string(count) + " data bytes, found " +
                     std::to_string(bytes.size() - off));
  torch::Tensor t = torch::empty(shape, torch::kUInt8);
  std::memcpy(t.data_ptr<uint8_t>(), bytes.data() + off, count);
  return t;
}

DatasetPair load_fashion_mnist(const std::string& dir) {
  if (!std::filesystem::is_directory(dir))
    throw TrainError(dir + ": Fashion-MNIST folder not found (install dataset-fashion-mnist "
                           "or pass --data-dir)");
  auto load = [&](const std::string& prefix, const std::string& name) {
    const std::string ip = first_existing(dir, prefix + "-images-idx3-ubyte");
    const std::string lp = first_existing(dir, prefix + "-labels-idx1-ubyte");
    Dataset d;
    d.name = name;
    torch::Tensor img = read_idx(ip);
    torch::Tensor lab = read_idx(lp);
    if (img.dim() != 3) throw TrainError(ip + ": expected a rank-3 image file");
    if (lab.dim() != 1) throw TrainError(lp + ": expected a rank-1 label file");
    if (img.size(0) != lab.size(0))
      throw TrainError(lp + ": " + std::to_string(lab.size(0)) + " labels for " +
                       std::to_string(img.size(0)) + " images in " + ip);
    if (lab.max().item<int64_t>() > 9) throw TrainError(lp + ": label outside 0..9");
    d.images = img.unsqueeze(1).contiguous();
    d.labels = lab.to(torch::kInt64);
    d.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                     "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return d;
  };
  return {load("train", "fashion-mnist/train"), load("t10k", "fashion-mnist/test")};
}

}  // namespace repvk::train
