// SPDX-License-Identifier: MIT
// cpu::forward: the whole model through each kind's CPU reference (op_kind.h). The
// per-kind references live next to their ops (engine/src/ops/<kind>.cpp).
#include "repvk/cpu_reference.h"

#include <cstddef>

#include "ops/op_kind.h"

namespace repvk::cpu {

std::vector<float> forward(const Model& model, const float* input, uint32_t batch,
                           bool logits_only) {
  const std::string source = model.name.empty() ? "<model>" : model.name;
  const std::vector<TensorShape> shapes = validate_model(model, source);

  TensorShape shape{model.input.channels, model.input.height, model.input.width};
  std::vector<float> cur(input, input + size_t(batch) * shape.elements());
  std::vector<float> next;
  for (size_t li = 0; li < model.layers.size(); ++li) {
    const Layer& layer = model.layers[li];
    const bool last = li + 1 == model.layers.size();
    if (layer.type == LayerType::Softmax && last && logits_only) break;
    const TensorShape& out_shape = shapes[li];
    next.assign(size_t(batch) * out_shape.elements(), 0.0f);
    op_kind(layer.type).cpu_forward(layer, shape, out_shape, cur.data(), batch, next.data());
    cur.swap(next);
    shape = out_shape;
  }
  return cur;
}

}  // namespace repvk::cpu
