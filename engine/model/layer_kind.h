// SPDX-License-Identifier: MIT
// One description per layer kind: how its fields are read, written and sized in the
// file, how it is validated and what shape it produces. Each kind defines its
// description in engine/model/layers/<name>.cpp; the reader, the writer, the
// validator and the statistics only go through this table. The engine side of a
// kind (CPU reference and GPU op) is described in engine/src/ops/op_kind.h.
#pragma once

#include <cstdint>
#include <string>

#include "bytes.h"
#include "cursor.h"
#include "internal.h"

namespace repvk::detail {

// What the validator knows when it reaches a layer.
struct LayerCheck {
  const std::string& source;
  int index;
  const Layer& layer;
  TensorShape input;      // the activation the layer reads
  bool pooled;            // a pooling layer came before: the input is features, not a plane
  bool last;              // the model's last layer
  std::string producer;   // what produced input.c, for messages: "the input", "layer 3 (conv3x3)"

  [[noreturn]] void fail(const std::string& problem) const {
    throw ModelError(source, index, layer.type, problem);
  }
};

struct LayerKind {
  LayerType type;
  const char* name;  // as in messages, `repvk info` and docs/model-format.md
  // Carries in/out channels, the weight block and a bias (layers/weighted_layer.h).
  bool weighted;
  // Its output is pooled features: the layers after it see no spatial plane.
  bool pools;
  // In fp16 mode its output activation is stored as half; every other kind's output
  // is fp32 in every mode (engine/src/ops/README.md, "Activation precision").
  bool half_output;
  // Weights per output channel (0 when unweighted).
  uint64_t (*row_length)(const Layer& layer);
  // The record's fields after the `u32 type` word.
  void (*read)(Cursor& in, Layer& layer);
  void (*write)(Bytes& out, const Layer& layer);
  uint64_t (*record_bytes)(const Layer& layer);  // what write() appends
  // Checks the layer against its input (limits, chaining, payload); returns its output.
  TensorShape (*check)(const LayerCheck& check);
};

// Every kind's description, declared from the list in repvk/model.h.
#define REPVK_DECLARE_LAYER_KIND(Name, code, lower) extern const LayerKind k##Name##Kind;
REPVK_LAYER_KINDS(REPVK_DECLARE_LAYER_KIND)
#undef REPVK_DECLARE_LAYER_KIND

// nullptr for a type no kind has.
const LayerKind* find_layer_kind(LayerType type);

// For kinds without payload: `u32 flags`, which must be 0.
void read_plain_record(Cursor& in, Layer& layer);
void write_plain_record(Bytes& out, const Layer& layer);
uint64_t plain_record_bytes(const Layer& layer);
// A kind without weights, bias, flags or stride, whose channels (if set) are c.
void check_payload_free(const LayerCheck& check, uint32_t c);
inline uint64_t no_weights(const Layer&) { return 0; }

}  // namespace repvk::detail
