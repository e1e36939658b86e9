// SPDX-License-Identifier: MIT
// The record shared by the weighted kinds (conv3x3, fully_connected): channels, an
// optional stride, flags, the weight block and the bias (docs/model-format.md,
// "Layer records" and "Weights").
#pragma once

#include "layer_kind.h"

namespace repvk::detail {

void read_weighted_record(Cursor& in, Layer& layer, bool has_stride);
void write_weighted_record(Bytes& out, const Layer& layer, bool has_stride);
uint64_t weighted_record_bytes(const Layer& layer, bool has_stride);

// in/out channels within ModelLimits, and in_channels equal to what the input has
// (`what` names the unit in the message: "channels", "features").
void check_weighted_channels(const LayerCheck& check, const char* what);
// The weight block and bias: counts, encodings, finite values, index ranges.
void check_weighted_payload(const LayerCheck& check);

}  // namespace repvk::detail
