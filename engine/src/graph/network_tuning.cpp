// SPDX-License-Identifier: MIT
// NetworkOptions::tuning, the opaque kernel tuning (repvk_internal/network_tuning.h).
#include "repvk_internal/network_tuning.h"

#include <memory>

namespace repvk {

NetworkTuning& tuning(NetworkOptions& options) {
  // Every NetworkTuning is created non-const here, so the const_cast is sound; a shared
  // one (a copy of these options exists) is copied before it is written.
  if (!options.tuning || options.tuning.use_count() > 1)
    options.tuning = options.tuning ? std::make_shared<NetworkTuning>(*options.tuning)
                                    : std::make_shared<NetworkTuning>();
  return const_cast<NetworkTuning&>(*options.tuning);
}

const NetworkTuning& tuning(const NetworkOptions& options) {
  static const NetworkTuning defaults;
  return options.tuning ? *options.tuning : defaults;
}

ConvAlgorithm conv_algorithm(const Network& net) { return parse_conv_algorithm(net.conv_kernel()); }

}  // namespace repvk
