// SPDX-License-Identifier: MIT
// fully_connected: in features -> out, bias, optional ReLU; reads pooled features.
// Record: u32 in_features, out_features, flags; weight block; f32 bias[out].
// Weights [out][in].
#include "layers/weighted_layer.h"

namespace repvk::detail {
namespace {

uint64_t row_length(const Layer& l) { return l.in_channels; }
void read(Cursor& in, Layer& l) { read_weighted_record(in, l, false); }
void write(Bytes& out, const Layer& l) { write_weighted_record(out, l, false); }
uint64_t record_bytes(const Layer& l) { return weighted_record_bytes(l, false); }

TensorShape check(const LayerCheck& c) {
  const Layer& l = c.layer;
  if (!c.pooled) c.fail("fully_connected needs a 1x1 input: put a global_avg_pool before it");
  check_weighted_channels(c, "features");
  if (l.stride != 1) c.fail("stride is only allowed on conv3x3");
  check_weighted_payload(c);
  return TensorShape{l.out_channels, 1, 1};
}

}  // namespace

const LayerKind kFullyConnectedKind{LayerType::FullyConnected, "fully_connected",
                                    /*weighted=*/true, /*pools=*/false, /*half_output=*/false,
                                    row_length, read, write, record_bytes, check};

}  // namespace repvk::detail
