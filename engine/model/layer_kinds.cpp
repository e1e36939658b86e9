// SPDX-License-Identifier: MIT
// The table of layer kinds (layer_kind.h) and the public per-kind queries of
// repvk/model.h, answered from it.
#include "layer_kind.h"

namespace repvk {
namespace detail {

const LayerKind* find_layer_kind(LayerType type) {
  switch (type) {
#define REPVK_LAYER_KIND_CASE(Name, code, lower) \
  case LayerType::Name:                          \
    return &k##Name##Kind;
    REPVK_LAYER_KINDS(REPVK_LAYER_KIND_CASE)
#undef REPVK_LAYER_KIND_CASE
  }
  return nullptr;
}

void read_plain_record(Cursor& in, Layer&) {
  const uint32_t flags = in.u32("layer flags");
  if (flags != 0) in.fail("unknown layer flags " + hex32(flags));
}

void write_plain_record(Bytes& out, const Layer&) { out.u32(0); }

uint64_t plain_record_bytes(const Layer&) { return 4; }

void check_payload_free(const LayerCheck& c, uint32_t channels) {
  const Layer& l = c.layer;
  if (l.relu) c.fail("relu is only allowed on conv3x3 and fully_connected");
  if (l.stride != 1) c.fail("stride is only allowed on conv3x3");
  if ((l.in_channels != 0 && l.in_channels != channels) ||
      (l.out_channels != 0 && l.out_channels != channels))
    c.fail("in/out channels must be 0 or " + std::to_string(channels));
  const Weights& w = l.weights;
  if (!w.dense.empty() || !w.codebooks.empty() || !w.packed.empty() || !l.bias.empty())
    c.fail("layer type carries no weights or bias");
}

}  // namespace detail

const char* layer_type_name(LayerType t) {
  const detail::LayerKind* kind = detail::find_layer_kind(t);
  return kind ? kind->name : "unknown";
}

bool layer_output_can_be_half(LayerType t) {
  const detail::LayerKind* kind = detail::find_layer_kind(t);
  return kind && kind->half_output;
}

bool Layer::has_weights() const {
  const detail::LayerKind* kind = detail::find_layer_kind(type);
  return kind && kind->weighted;
}

uint64_t Layer::row_length() const {
  const detail::LayerKind* kind = detail::find_layer_kind(type);
  return kind ? kind->row_length(*this) : 0;
}

}  // namespace repvk
