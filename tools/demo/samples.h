// SPDX-License-Identifier: MIT
// The images the demo can show: files named on the command line or dropped on the
// window, then the bundled samples (assets/samples/*.png) with the true labels from
// their labels.tsv. Decoding is repvk::load_image, the same as `repvk classify`.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace repvk::demo {

struct Sample {
  std::string path;
  std::string truth;  // class name from labels.tsv; "" when unknown
};

// $REPVK_SAMPLE_DIR, <exe>/../share/repvk/samples, <source>/assets/samples: the
// first that exists.
std::string default_sample_dir();

class SampleList {
 public:
  // Adds every PNG/JPEG in `dir` (sorted by name), with labels.tsv when present.
  // A missing directory adds nothing.
  void add_directory(const std::string& dir);
  // Appends a file and returns its index; a file already in the list (same file
  // under any path) is not added twice, its index is returned.
  size_t add_file(const std::string& path);

  bool empty() const { return samples_.empty(); }
  size_t size() const { return samples_.size(); }
  const Sample& at(size_t i) const { return samples_.at(i); }

  size_t next(size_t i) const { return (i + 1) % samples_.size(); }
  size_t previous(size_t i) const { return (i + samples_.size() - 1) % samples_.size(); }
  // A random index other than `i` (when there is more than one sample).
  size_t random(size_t i);

 private:
  std::vector<Sample> samples_;
  std::mt19937 rng_{std::random_device{}()};
};

bool is_image_file(const std::string& path);

}  // namespace repvk::demo
