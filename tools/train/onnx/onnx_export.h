// SPDX-License-Identifier: MIT
// Export of a .rpvk model to ONNX (opset 13): the network the engine runs, layer for
// layer, with weights decoded to fp32, written with libonnx's protobuf classes.
//
// Graph: input "pixels" float [batch, C, H, W], values on the [0, 1] scale in the
// model's channel order (the engine's input before normalization); Sub(mean),
// Div(std); per conv3x3 layer Conv (3x3, pads 1, the layer's stride) + Relu; the
// pooling as GlobalAveragePool + Flatten; per fully_connected layer Gemm (transB) [+
// Relu]. Outputs "logits" (the last weighted layer) and, when the model ends in
// softmax, "probabilities". Resizing the image to H x W is left to the caller, as in
// the engine's infer().
#pragma once

#include <string>

#include <repvk/model.h>

namespace repvk::train {

// Throws TrainError naming `source` or `path`. Writes atomically.
void export_onnx(const repvk::Model& model, const std::string& source, const std::string& path);

}  // namespace repvk::train
