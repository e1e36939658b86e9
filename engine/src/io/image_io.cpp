#include "repvk/image_io.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>

#include <sys/stat.h>

#include <stb/stb_image.h>

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

void check_header(int ok, int w, int h, int comp, const std::string& source) {
  if (!ok) throw Error("cannot decode image '" + source + "': " + stb_reason());
  if (w <= 0 || h <= 0)
    throw Error("cannot decode image '" + source + "': empty image");
  if (uint32_t(w) > ImageLimits::kMaxDimension || uint32_t(h) > ImageLimits::kMaxDimension)
    throw Error("image '" + source + "' is " + std::to_string(w) + "x" + std::to_string(h) +
                " pixels; the limit is " + std::to_string(ImageLimits::kMaxDimension) +
                " per side");
  if (comp < 1 || comp > 4)
    throw Error("cannot decode image '" + source + "': unsupported channel count " +
                std::to_string(comp));
}

// Gray+alpha has no slot in Image, and the alpha is dropped by preprocess()
// anyway, so stb converts it to plain gray while decoding.
int wanted_channels(int comp) { return comp == 2 ? 1 : 0; }

Image finish(StbPixels pixels, int w, int h, int loaded_comp, int requested,
             const std::string& source) {
  if (!pixels) throw Error("cannot decode image '" + source + "': " + stb_reason());
  const int comp = requested ? requested : loaded_comp;
  // The header and the decoder normally agree; re-check in case they do not.
  check_header(1, w, h, comp, source);
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
  if (fstat(fileno(file.get()), &st) == 0 && S_ISDIR(st.st_mode))
    throw Error("cannot open image '" + path + "': is a directory");

  int w = 0, h = 0, comp = 0;
  const int ok = stbi_info_from_file(file.get(), &w, &h, &comp);
  check_header(ok, w, h, comp, path);
  const int requested = wanted_channels(comp);
  StbPixels pixels(stbi_load_from_file(file.get(), &w, &h, &comp, requested));
  return finish(std::move(pixels), w, h, comp, requested, path);
}

Image decode_image(const uint8_t* data, size_t size, const std::string& source) {
  if (data == nullptr || size == 0) throw Error("cannot decode image '" + source + "': empty data");
  if (size > size_t(INT_MAX)) throw Error("cannot decode image '" + source + "': file too large");
  const int len = int(size);
  int w = 0, h = 0, comp = 0;
  const int ok = stbi_info_from_memory(data, len, &w, &h, &comp);
  check_header(ok, w, h, comp, source);
  const int requested = wanted_channels(comp);
  StbPixels pixels(stbi_load_from_memory(data, len, &w, &h, &comp, requested));
  return finish(std::move(pixels), w, h, comp, requested, source);
}

}  // namespace repvk
