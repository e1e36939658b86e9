// SPDX-License-Identifier: MIT
#include "samples.h"

#include "asset_dirs.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

namespace fs = std::filesystem;

namespace repvk::demo {

bool is_image_file(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

std::string default_sample_dir() {
  std::error_code ec;
  for (const auto& d : tools::asset_dirs("REPVK_SAMPLE_DIR", "samples"))
    if (fs::is_directory(d, ec)) return fs::path(d).lexically_normal().string();
  return "";
}

void SampleList::add_directory(const std::string& dir) {
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return;
  // labels.tsv: "file<TAB>label<TAB>name" with a header line.
  std::map<std::string, std::string> truth;
  std::ifstream tsv(fs::path(dir) / "labels.tsv");
  std::string line;
  std::getline(tsv, line);
  while (std::getline(tsv, line)) {
    std::istringstream fields(line);
    std::string file, label, name;
    if (std::getline(fields, file, '\t') && std::getline(fields, label, '\t') &&
        std::getline(fields, name))
      truth[file] = name;
  }
  std::vector<std::string> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (is_image_file(it->path().string())) files.push_back(it->path().string());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const auto t = truth.find(fs::path(f).filename().string());
    samples_.push_back({f, t == truth.end() ? "" : t->second});
  }
}

size_t SampleList::add_file(const std::string& path) {
  std::error_code ec;
  for (size_t i = 0; i < samples_.size(); ++i)
    if (fs::equivalent(samples_[i].path, path, ec)) return i;
  samples_.push_back({path, ""});
  return samples_.size() - 1;
}

size_t SampleList::random(size_t i) {
  if (samples_.size() < 2) return 0;
  std::uniform_int_distribution<size_t> pick(0, samples_.size() - 2);
  const size_t j = pick(rng_);
  return j >= i ? j + 1 : j;
}

}  // namespace repvk::demo
