// SPDX-License-Identifier: MIT
#include "repvk/image_io.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <sys/stat.h>

#include <stb/stb_image.h>

#include "io/image_header.h"
#include "repvk/error.h"

namespace repvk {
namespace {

std::string stb_reason() {
  const char* reason = stbi_failure_reason();
  return reason ? reason : "unknown decoder failure";
}

struct StbFree {
  void operator()(stbi_uc* p) const { stbi_image_free(p); }
};
using StbPixels = std::unique_ptr<stbi_uc, StbFree>;

struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};

std::string size_text(uint64_t w, uint64_t h) {
  return std::to_string(w) + "x" + std::to_string(h);
}

void check_dimensions(uint64_t w, uint64_t h, const std::string& what, const std::string& source) {
  if (w > ImageLimits::kMaxDimension || h > ImageLimits::kMaxDimension)
    throw Error("image '" + source + "' is " + size_text(w, h) + " pixels" + what +
                "; the limit is " + std::to_string(ImageLimits::kMaxDimension) + " per side");
}

// Rejects a PNG or JPEG whose header claims more than the limits allow, before stb
// sees it (stb's own check reports such a PNG as "unknown image type").
void check_raw_header(const uint8_t* data, size_t size, const std::string& source) {
  if (const auto header = read_image_header(data, size))
    check_dimensions(header->width, header->height, std::string(" (") + header->format + " header)",
                     source);
}

// `comp` is the channel count stb reports; `out` the count it will decode to.
void check_header(int ok, int w, int h, int comp, int out, const std::string& source) {
  if (!ok) throw Error("cannot decode image '" + source + "': " + stb_reason());
  if (w <= 0 || h <= 0)
    throw Error("cannot decode image '" + source + "': empty image");
  check_dimensions(uint64_t(w), uint64_t(h), "", source);
  if (comp < 1 || comp > 4)
    throw Error("cannot decode image '" + source + "': unsupported channel count " +
                std::to_string(comp));
  const uint64_t bytes = uint64_t(w) * uint64_t(h) * uint64_t(out);
  if (bytes > ImageLimits::kMaxDecodedBytes)
    throw Error("image '" + source + "' is " + size_text(w, h) + " pixels with " +
                std::to_string(out) + " channel(s): " + std::to_string(bytes >> 20) +
                " MiB decoded; the limit is " + std::to_string(ImageLimits::kMaxDecodedBytes >> 20) +
                " MiB");
}

// Gray+alpha has no slot in Image, and the alpha is dropped by preprocess()
// anyway, so stb converts it to plain gray while decoding.
int wanted_channels(int comp) { return comp == 2 ? 1 : 0; }

Image finish(StbPixels pixels, int w, int h, int loaded_comp, int requested,
             const std::string& source) {
  if (!pixels) throw Error("cannot decode image '" + source + "': " + stb_reason());
  const int comp = requested ? requested : loaded_comp;
  // The header and the decoder normally agree; re-check in case they do not.
  check_header(1, w, h, comp, comp, source);
  if (comp == 2) throw Error("cannot decode image '" + source + "': inconsistent channel count");
  Image image;
  image.width = uint32_t(w);
  image.height = uint32_t(h);
  image.channels = uint32_t(comp);
  const size_t bytes = size_t(image.width) * image.height * image.channels;
  image.pixels.assign(pixels.get(), pixels.get() + bytes);
  return image;
}

}  // namespace

Image load_image(const std::string& path) {
  errno = 0;
  std::unique_ptr<FILE, FileClose> file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    const int err = errno;
    throw Error("cannot open image '" + path + "': " +
                (err ? std::generic_category().message(err) : std::string("fopen failed")));
  }
  // A directory opens fine on Linux but fails later with a confusing decoder message.
  struct stat st {};
  if (fstat(fileno(file.get()), &st) != 0)
    throw Error("cannot read image '" + path + "': " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw Error("cannot open image '" + path + "': is a directory");
  // The whole file is read so that its header can be checked before stb decodes it.
  if (uint64_t(st.st_size) > uint64_t(INT_MAX))
    throw Error("cannot decode image '" + path + "': file too large (" +
                std::to_string(uint64_t(st.st_size) >> 20) + " MiB)");
  std::vector<uint8_t> bytes(size_t(st.st_size));
  if (!bytes.empty() && std::fread(bytes.data(), 1, bytes.size(), file.get()) != bytes.size())
    throw Error("cannot read image '" + path + "': " +
                (std::ferror(file.get()) ? std::strerror(errno) : "file shrank while reading"));
  if (bytes.empty()) throw Error("cannot decode image '" + path + "': empty file");
  return decode_image(bytes.data(), bytes.size(), path);
}

Image decode_image(const uint8_t* data, size_t size, const std::string& source) {
  if (data == nullptr || size == 0) throw Error("cannot decode image '" + source + "': empty data");
  if (size > size_t(INT_MAX)) throw Error("cannot decode image '" + source + "': file too large");
  check_raw_header(data, size, source);
  const int len = int(size);
  int w = 0, h = 0, comp = 0;
  const int ok = stbi_info_from_memory(data, len, &w, &h, &comp);
  const int requested = wanted_channels(comp);
  check_header(ok, w, h, comp, requested ? requested : comp, source);
  StbPixels pixels(stbi_load_from_memory(data, len, &w, &h, &comp, requested));
  return finish(std::move(pixels), w, h, comp, requested, source);
}

}  // namespace repvk
