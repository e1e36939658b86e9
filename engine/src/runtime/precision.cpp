// SPDX-License-Identifier: MIT
// Names of the precision policy (repvk/precision.h), below every layer that uses them.
#include "repvk/precision.h"

#include "repvk/error.h"

namespace repvk {

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::Auto: return "auto";
    case Precision::Fp32: return "fp32";
    case Precision::Fp16: return "fp16";
  }
  return "?";
}

const char* fp16_math_name(Fp16Math m) {
  switch (m) {
    case Fp16Math::Auto: return "auto";
    case Fp16Math::On: return "on";
    case Fp16Math::Off: return "off";
  }
  return "?";
}

Fp16Math parse_fp16_math(const std::string& name) {
  if (name == "auto") return Fp16Math::Auto;
  if (name == "on") return Fp16Math::On;
  if (name == "off") return Fp16Math::Off;
  throw Error("unknown fp16 math setting '" + name + "' (known: auto, on, off)");
}

}  // namespace repvk
