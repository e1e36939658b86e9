// SPDX-License-Identifier: MIT
// The one place repvk reads the process environment. The library itself never does:
// Device takes DeviceOptions and Network takes NetworkOptions, nothing else. The
// tools (repvk, repvk-demo), the GPU tests and the C API's repvk_device_create,
// repvk_device_adopt and repvk_network_load* start from options_from_environment()
// and then apply their own flags and arguments on top, so an explicit option always
// wins over a variable. A C++ application that wants the same variables honoured
// does the same (docs/embedding.md).
//
// Variables (read on every call; unset and "" mean "not set"):
//   REPVK_DEVICE       DeviceOptions::select: a device index or name substring
//   REPVK_VALIDATION   DeviceOptions::validation (boolean, see below)
//   REPVK_FORCE_FP32   DeviceOptions::force_fp32 (boolean)
//   REPVK_CONV         NetworkOptions::tuning (the conv kernel): auto|direct|tiled|texel|igemm
//   REPVK_FP16_MATH    NetworkOptions::fp16_math: auto|on|off (fp16 arithmetic in igemm)
//   REPVK_CONV_TILE    NetworkOptions::tuning (tile sizes), for tuning experiments:
//                      "px,oc,wg,chunk" sets the tiled kernel's block, and its first
//                      three numbers the texel kernel's; "px,oc,wg" only the texel one
//   REPVK_CONV_SG      NetworkOptions::tuning (boolean; 0 turns the
//                      subgroup-broadcast conv variant off for comparisons)
//   XDG_CACHE_HOME, HOME
//                      NetworkOptions::pipeline_cache_dir: $XDG_CACHE_HOME/repvk when
//                      XDG_CACHE_HOME is an absolute path, else $HOME/.cache/repvk
//
// Booleans: 1, true, yes, on are true and 0, false, no, off are false (any case);
// anything else is an error. Errors: repvk::Error naming the variable and its value.
#pragma once

#include <string>

#include "repvk/device.h"
#include "repvk/export.h"
#include "repvk/network.h"

namespace repvk {

struct EnvironmentOptions {
  DeviceOptions device;    // select, validation, force_fp32; the rest at defaults
  NetworkOptions network;  // fp16_math, tuning (only when a REPVK_CONV* variable is
                           // set), pipeline_cache_dir; the rest at defaults
};

REPVK_API EnvironmentOptions options_from_environment();

// Parses a boolean the way options_from_environment() does; throws repvk::Error
// naming `what` (e.g. the variable) on anything else. "" is false.
REPVK_API bool parse_bool(const std::string& value, const std::string& what);

}  // namespace repvk
