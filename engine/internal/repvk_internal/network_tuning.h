// SPDX-License-Identifier: MIT
// Setting and reading a Network's kernel tuning (repvk_internal/conv_kernel.h):
// engine-internal, not installed, for the tools and tests. NetworkOptions carries it as
// an opaque pointer (NetworkOptions::tuning), so its fields never reach the ABI.
//
//   NetworkOptions o;
//   tuning(o).conv_algorithm = ConvAlgorithm::Igemm;   // was o.conv_algorithm
//   tuning(o).igemm_split_k = 4;                       // was o.igemm_split_k
//   Network net(device, model, o);
//   if (conv_algorithm(net) == ConvAlgorithm::Igemm) ...  // was net.conv_algorithm()
#pragma once

#include "repvk/network.h"
#include "repvk_internal/conv_kernel.h"

namespace repvk {

// The tuning of `options`, created with the defaults on first use. Copy on write: a
// copy of `options` made earlier keeps its own values.
NetworkTuning& tuning(NetworkOptions& options);
// The tuning of `options`; the defaults when it has none.
const NetworkTuning& tuning(const NetworkOptions& options);

// The conv kernel `net` resolved (never Auto): Network::conv_kernel() as the enum.
ConvAlgorithm conv_algorithm(const Network& net);

}  // namespace repvk
