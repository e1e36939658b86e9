// SPDX-License-Identifier: MIT
// SHA-256 (FIPS 180-4) of a byte buffer or a file, as lowercase hex: the model hash
// that `repvk bench --json` records so two results can be told to be of one file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace repvk::cli {

std::string sha256_hex(const uint8_t* data, size_t size);
// Throws std::runtime_error naming `path` when it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace repvk::cli
