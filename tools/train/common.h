// SPDX-License-Identifier: MIT
// Shared by every trainer translation unit: the torch umbrella header (precompiled)
// and the one error type that main() turns into a clean message and exit status 2.
#pragma once

#include <torch/torch.h>

#include <stdexcept>
#include <string>

namespace repvk::train {

// A problem the user can fix: a bad flag, an impossible configuration, bad data.
// what() is a complete sentence naming the flag or file involved.
class TrainError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Mixes (seed, a, b) into one 64-bit value so every epoch and batch gets its own
// independent, reproducible random stream without saving generator state.
uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b = 0);

}  // namespace repvk::train
