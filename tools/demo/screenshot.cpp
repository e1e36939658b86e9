#include "screenshot.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <stb/stb_image_write.h>

#include "repvk/error.h"

namespace repvk::demo {

void write_png_atomic(const std::string& path, const Capture& c) {
  if (c.width == 0 || c.height == 0) throw Error("no frame was captured for '" + path + "'");
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  if (!stbi_write_png(tmp.c_str(), int(c.width), int(c.height), 4, c.rgba.data(),
                      int(c.width * 4))) {
    std::remove(tmp.c_str());
    throw Error("cannot write the screenshot '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error("cannot rename the screenshot to '" + path + "': " + why);
  }
}

}  // namespace repvk::demo
