// SPDX-License-Identifier: MIT
// global_avg_pool: C x H x W -> C x 1 x 1, the mean of each plane. Record: u32 flags (0).
// A model has exactly one; everything after it reads pooled features.
#include "layer_kind.h"

namespace repvk::detail {
namespace {

TensorShape check(const LayerCheck& c) {
  if (c.pooled) c.fail("a model has exactly one global_avg_pool");
  check_payload_free(c, c.input.c);
  return TensorShape{c.input.c, 1, 1};
}

}  // namespace

const LayerKind kGlobalAvgPoolKind{LayerType::GlobalAvgPool, "global_avg_pool",
                                   /*weighted=*/false, /*pools=*/true, /*half_output=*/false,
                                   no_weights, read_plain_record, write_plain_record,
                                   plain_record_bytes, check};

}  // namespace repvk::detail
