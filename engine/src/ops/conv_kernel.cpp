// SPDX-License-Identifier: MIT
// The table of conv3x3 kernel names (repvk_internal/conv_kernel.h).
#include "repvk_internal/conv_kernel.h"

#include "repvk/error.h"

namespace repvk {

const std::vector<ConvKernelName>& conv_kernel_names() {
  static const std::vector<ConvKernelName> table = {
      {ConvAlgorithm::Auto, "auto"},   {ConvAlgorithm::Direct, "direct"},
      {ConvAlgorithm::Tiled, "tiled"}, {ConvAlgorithm::Texel, "texel"},
      {ConvAlgorithm::Igemm, "igemm"},
  };
  return table;
}

std::vector<std::string> conv_kernel_choices(bool with_auto) {
  std::vector<std::string> names;
  for (const ConvKernelName& k : conv_kernel_names())
    if (with_auto || k.algorithm != ConvAlgorithm::Auto) names.push_back(k.name);
  return names;
}

const char* conv_algorithm_name(ConvAlgorithm a) {
  for (const ConvKernelName& k : conv_kernel_names())
    if (k.algorithm == a) return k.name;
  return "?";
}

ConvAlgorithm parse_conv_algorithm(const std::string& name) {
  std::string known;
  for (const ConvKernelName& k : conv_kernel_names()) {
    if (name == k.name) return k.algorithm;
    known += (known.empty() ? "" : ", ") + std::string(k.name);
  }
  throw Error("unknown conv algorithm '" + name + "' (known: " + known + ")");
}

}  // namespace repvk
