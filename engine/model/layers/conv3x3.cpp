// SPDX-License-Identifier: MIT
// conv3x3: 3x3 convolution, zero padding 1, stride 1|2, bias, optional ReLU.
// Record: u32 in_channels, out_channels, stride, flags; weight block; f32 bias[out].
// Weights [out][in][ky][kx]: row k = in * 9 + ky * 3 + kx.
#include "layers/weighted_layer.h"

namespace repvk::detail {
namespace {

uint64_t row_length(const Layer& l) { return uint64_t(l.in_channels) * 9; }
void read(Cursor& in, Layer& l) { read_weighted_record(in, l, true); }
void write(Bytes& out, const Layer& l) { write_weighted_record(out, l, true); }
uint64_t record_bytes(const Layer& l) { return weighted_record_bytes(l, true); }

TensorShape check(const LayerCheck& c) {
  const Layer& l = c.layer;
  if (c.pooled) c.fail("conv3x3 after global_avg_pool: convolutions need a spatial input");
  check_weighted_channels(c, "channels");
  if (l.stride != 1 && l.stride != 2) c.fail("stride " + std::to_string(l.stride) + " is not 1 or 2");
  check_weighted_payload(c);
  // Pad 1, 3x3: out = floor((n - 1) / stride) + 1, never 0 for n >= 1.
  return TensorShape{l.out_channels, (c.input.h - 1) / l.stride + 1, (c.input.w - 1) / l.stride + 1};
}

}  // namespace

const LayerKind kConv3x3Kind{LayerType::Conv3x3, "conv3x3", /*weighted=*/true, /*pools=*/false,
                             /*half_output=*/true, row_length, read, write, record_bytes, check};

}  // namespace repvk::detail
