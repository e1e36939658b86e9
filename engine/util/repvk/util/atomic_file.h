// SPDX-License-Identifier: MIT
// Writing a file so that readers see either the old contents or the new, never a
// half-written file, even across a crash or a power cut: the bytes go to a temporary
// file in the same directory (<path>.tmp.XXXXXX, a unique name from mkostemp), which is
// fsynced, renamed over `path`, and then the directory is fsynced so the rename itself
// is durable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "repvk/base_error.h"

namespace repvk {

// What failed and why ("cannot create /a/b.tmp.Xa81Qz: No such file or directory");
// what() is "<path>: <problem>".
class FileWriteError : public Error {
 public:
  FileWriteError(const std::string& path, const std::string& problem)
      : Error(path + ": " + problem), path_(path), problem_(problem) {}
  const std::string& path() const { return path_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string path_, problem_;
};

// Replaces `path` with `bytes` atomically (see above). The directory must exist.
// Throws FileWriteError naming `path`; on failure the temporary file is removed and
// any previous file at `path` is left untouched.
void write_file_atomically(const std::string& path, std::string_view bytes);
void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace repvk
