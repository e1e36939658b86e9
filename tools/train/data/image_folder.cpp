// SPDX-License-Identifier: MIT
// Image-folder datasets: root/<class>/<image>. Classes are the sorted folder names
// so the label order is reproducible across machines.
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "data/dataset.h"

namespace fs = std::filesystem;

namespace repvk::train {
namespace {

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

std::vector<std::string> class_folders(const fs::path& root) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

struct Collected {
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  int64_t h = 0, w = 0;
};

void load_image(const fs::path& file, int64_t size, int64_t channels, int64_t label,
                Collected& out) {
  int w = 0, h = 0, n = 0;
  uint8_t* data = stbi_load(file.string().c_str(), &w, &h, &n, int(channels));
  if (!data)
    throw TrainError(file.string() + ": cannot decode image (" + stbi_failure_reason() + ")");
  std::vector<uint8_t> hwc;
  int64_t oh = h, ow = w;
  if (size > 0 && (h != size || w != size)) {
    oh = ow = size;
    hwc.resize(size_t(size * size * channels));
    stbir_resize_uint8(data, w, h, 0, hwc.data(), int(size), int(size), 0, int(channels));
  } else {
    hwc.assign(data, data + size_t(h) * w * channels);
  }
  stbi_image_free(data);
  if (out.labels.empty()) {
    out.h = oh;
    out.w = ow;
  } else if (oh != out.h || ow != out.w) {
    throw TrainError(file.string() + ": image is " + std::to_string(ow) + "x" +
                     std::to_string(oh) + " but earlier images are " + std::to_string(out.w) +
                     "x" + std::to_string(out.h) + "; pass --image-size to resize");
  }
  // stb gives HWC; the network wants CHW.
  const size_t base = out.pixels.size();
  out.pixels.resize(base + hwc.size());
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < oh * ow; ++i) out.pixels[base + c * oh * ow + i] = hwc[i * channels + c];
  out.labels.push_back(label);
}

Dataset finish(const std::string& name, Collected& c, int64_t channels,
               const std::vector<std::string>& classes, const fs::path& where) {
  if (c.labels.empty()) throw TrainError(where.string() + ": no .png/.jpg images found");
  Dataset d;
  d.name = name;
  const int64_t n = int64_t(c.labels.size());
  d.images = torch::from_blob(c.pixels.data(), {n, channels, c.h, c.w}, torch::kUInt8).clone();
  d.labels = torch::from_blob(c.labels.data(), {n}, torch::kInt64).clone();
  d.class_names = classes;
  return d;
}

std::vector<fs::path> images_in(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && is_image(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

DatasetPair load_image_folder(const std::string& root_str, int64_t size, int64_t channels) {
  const fs::path root(root_str);
  if (!fs::is_directory(root)) throw TrainError(root_str + ": image folder not found");
  if (channels != 1 && channels != 3)
    throw TrainError("--channels must be 1 or 3 for an image folder, got " +
                     std::to_string(channels));
  Collected tr, te;
  std::vector<std::string> classes;
  if (fs::is_directory(root / "train") && fs::is_directory(root / "test")) {
    classes = class_folders(root / "train");
    if (class_folders(root / "test") != classes)
      throw TrainError(root_str + ": train/ and test/ have different class folders");
    for (size_t k = 0; k < classes.size(); ++k) {
      for (const auto& f : images_in(root / "train" / classes[k])) load_image(f, size, channels, int64_t(k), tr);
      for (const auto& f : images_in(root / "test" / classes[k])) load_image(f, size, channels, int64_t(k), te);
    }
  } else {
    // Without an explicit split every 10th image (in sorted order) is held out.
    classes = class_folders(root);
    for (size_t k = 0; k < classes.size(); ++k) {
      const auto files = images_in(root / classes[k]);
      for (size_t i = 0; i < files.size(); ++i)
        load_image(files[i], size, channels, int64_t(k), i % 10 == 9 ? te : tr);
    }
  }
  if (classes.size() < 2) throw TrainError(root_str + ": need at least two class folders");
  if (!te.labels.empty() && !tr.labels.empty() && (te.h != tr.h || te.w != tr.w))
    throw TrainError(root_str + ": train and test images differ in size; pass --image-size");
  return {finish("folder/train", tr, channels, classes, root),
          finish("folder/test", te, channels, classes, root)};
}

}  // namespace repvk::train
