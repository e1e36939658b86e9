// SPDX-License-Identifier: MIT
// The table of op kinds (op_kind.h), built from the kind list in repvk/model.h.
#include "ops/op_kind.h"

#include <string>

#include "repvk/error.h"

namespace repvk {

const OpKind& op_kind(LayerType type) {
  switch (type) {
#define REPVK_OP_KIND_CASE(Name, code, lower) \
  case LayerType::Name:                       \
    return k##Name##Op;
    REPVK_LAYER_KINDS(REPVK_OP_KIND_CASE)
#undef REPVK_OP_KIND_CASE
  }
  throw Error("no op for layer type " + std::to_string(uint32_t(type)));
}

}  // namespace repvk
