// SPDX-License-Identifier: MIT
// options_from_environment(): the only getenv() calls in the library
// (repvk/environment.h lists the variables). Above the runtime, graph and ops layers,
// like the C API: it fills the options of all of them.
#include "repvk/environment.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "repvk/error.h"
#include "repvk_internal/network_tuning.h"

namespace repvk {
namespace {

// "" when the variable is unset.
std::string variable(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// sscanf as the tuning experiments always parsed it: "px,oc,wg,chunk" fills four
// numbers, "px,oc,wg" three (chunk stays 0); anything shorter leaves all at 0.
ConvTileOverride parse_conv_tile(const std::string& text) {
  ConvTileOverride t;
  unsigned a = 0, b = 0, c = 0, d = 0;
  const int n = std::sscanf(text.c_str(), "%u,%u,%u,%u", &a, &b, &c, &d);
  if (n >= 3) {
    t.px = a;
    t.oc = b;
    t.workgroup = c;
    t.cin_chunk = n == 4 ? d : 0;
  }
  return t;
}

}  // namespace

bool parse_bool(const std::string& value, const std::string& what) {
  const std::string v = lower(value);
  if (v.empty() || v == "0" || v == "false" || v == "no" || v == "off") return false;
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  throw Error(what + "='" + value + "' is not a boolean (use 1/0, true/false, yes/no, on/off)");
}

EnvironmentOptions options_from_environment() {
  EnvironmentOptions o;
  o.device.select = variable("REPVK_DEVICE");
  o.device.validation = parse_bool(variable("REPVK_VALIDATION"), "REPVK_VALIDATION");
  o.device.force_fp32 = parse_bool(variable("REPVK_FORCE_FP32"), "REPVK_FORCE_FP32");

  if (const std::string conv = variable("REPVK_CONV"); !conv.empty()) {
    try {
      tuning(o.network).conv_algorithm = parse_conv_algorithm(conv);
    } catch (const Error& e) {
      throw Error(std::string("REPVK_CONV: ") + e.what());
    }
  }
  if (const std::string math = variable("REPVK_FP16_MATH"); !math.empty()) {
    try {
      o.network.fp16_math = parse_fp16_math(math);
    } catch (const Error& e) {
      throw Error(std::string("REPVK_FP16_MATH: ") + e.what());
    }
  }
  // Kernel tuning exists only when a variable asks for it (NetworkOptions::tuning).
  if (const std::string tile = variable("REPVK_CONV_TILE"); !tile.empty())
    tuning(o.network).conv_tile = parse_conv_tile(tile);
  if (const std::string sg = variable("REPVK_CONV_SG"); !sg.empty())
    tuning(o.network).conv_subgroup_broadcast = parse_bool(sg, "REPVK_CONV_SG");

  const std::string xdg = variable("XDG_CACHE_HOME");
  const std::string home = variable("HOME");
  if (!xdg.empty() && xdg[0] == '/')
    o.network.pipeline_cache_dir = xdg + "/repvk";
  else if (!home.empty())
    o.network.pipeline_cache_dir = home + "/.cache/repvk";
  return o;
}

}  // namespace repvk
