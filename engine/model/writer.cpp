// serialize_model / write_model. Everything written has passed validate_model, so the
// reader accepts whatever the writer produces.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "layer_kind.h"

namespace repvk {
namespace {

void put_u32_at(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int k = 0; k < 4; ++k) b[at + size_t(k)] = uint8_t(v >> (8 * k));
}

[[noreturn]] void io_fail(const std::string& path, const std::string& what, int err) {
  throw ModelError(path, -1, what + ": " + std::strerror(err));
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

  // Same folder as the target so rename() is atomic; the pid keeps concurrent
  // writers of the same path from sharing a temp file.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) io_fail(path, "cannot create " + tmp, errno);
  auto abandon = [&](const std::string& what, int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    io_fail(path, what, err);
  };
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) abandon("write failed", w < 0 ? errno : EIO);
    done += size_t(w);
  }
  if (::fsync(fd) != 0) abandon("fsync failed", errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    io_fail(path, "close failed", err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    io_fail(path, "cannot rename " + tmp + " into place", err);
  }
  // Persist the rename itself; failure here leaves a complete file, so it is not fatal.
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace repvk
