// SPDX-License-Identifier: MIT
// softmax: normalizes the logits over the classes; the last layer. Record: u32 flags (0).
#include "layer_kind.h"

namespace repvk::detail {
namespace {

TensorShape check(const LayerCheck& c) {
  if (!c.last) c.fail("softmax must be the last layer");
  if (!c.pooled) c.fail("softmax needs a pooled input");
  check_payload_free(c, c.input.c);
  return c.input;
}

}  // namespace

const LayerKind kSoftmaxKind{LayerType::Softmax, "softmax", /*weighted=*/false, /*pools=*/false,
                             /*half_output=*/false, no_weights, read_plain_record,
                             write_plain_record, plain_record_bytes, check};

}  // namespace repvk::detail
