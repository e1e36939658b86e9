// SPDX-License-Identifier: MIT
// Helpers for the per-op GPU tests (test_ops_*.cpp): random layers, running one op
// on the device with a poisoned output, and the error metric against the CPU reference.
//
// Error metric: max_i |gpu_i - ref_i| / max(|ref_i|, rms(ref)). The rms floor keeps
// elements that nearly cancel (|ref_i| << the typical output) from demanding more
// than fp32 accumulation can give: the rounding error of a dot product scales with
// the magnitude of its terms, which rms(ref) tracks, not with the result itself.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "runtime/memory.h"
#include "runtime/pipeline.h"
#include "repvk/device.h"
#include "repvk/model.h"

namespace repvk::test {

// REPVK_TEST_SEED fixes the seed; otherwise every run draws fresh data.
inline uint64_t test_seed() {
  static const uint64_t seed = [] {
    if (const char* s = std::getenv("REPVK_TEST_SEED"))
      return uint64_t(std::strtoull(s, nullptr, 10));
    std::random_device rd;
    return (uint64_t(rd()) << 32) ^ rd();
  }();
  return seed;
}

inline std::string seed_note() {
  return "reproduce with REPVK_TEST_SEED=" + std::to_string(test_seed());
}

// Bytes written past the real output: any change there is an out-of-bounds write.
inline constexpr size_t kGuardBytes = 256;
inline constexpr uint32_t kPoison = 0xFFFFFFFFu;  // NaN as fp32 and as each fp16 half

inline uint32_t uniform_u32(std::mt19937_64& rng, uint32_t lo, uint32_t hi) {
  return std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
}

// Log-uniform in [lo, hi]: small sizes are as likely per octave as large ones,
// which keeps lavapipe runtimes low while still reaching the large end.
inline uint32_t log_uniform_u32(std::mt19937_64& rng, uint32_t lo, uint32_t hi) {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  const double v = double(lo) * std::pow(double(hi + 1) / lo, u);
  return std::clamp<uint32_t>(uint32_t(v), lo, hi);
}

inline std::vector<float> random_floats(std::mt19937_64& rng, size_t n, float scale) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// A conv/FC layer with random weights: bits 0 = dense fp32, else random codebooks
// (size 1..2^bits) and random indices below the codebook size. Weights are scaled
// by 1/sqrt(row length) so outputs stay O(1) for O(1) inputs.
inline Layer random_layer(std::mt19937_64& rng, LayerType type, uint32_t in, uint32_t out,
                          uint32_t stride, bool relu, uint32_t bits,
                          CodebookGranularity granularity) {
  Layer l;
  l.type = type;
  l.in_channels = in;
  l.out_channels = out;
  l.stride = stride;
  l.relu = relu;
  const uint64_t row = l.row_length();
  const float scale = 1.0f / std::sqrt(float(row));
  l.bias = random_floats(rng, out, 0.5f);
  if (bits == 0) {
    l.weights.encoding = WeightEncoding::Fp32;
    l.weights.dense = random_floats(rng, size_t(out) * row, scale);
    return l;
  }
  Weights& w = l.weights;
  w.encoding = WeightEncoding::Codebook;
  w.bits = bits;
  w.granularity = granularity;
  // Full codebooks most of the time; partial ones exercise codebook_size < 2^bits.
  w.codebook_size = (rng() % 3 == 0) ? uniform_u32(rng, 1, 1u << bits) : (1u << bits);
  const size_t groups = granularity == CodebookGranularity::PerOutputChannel ? out : 1;
  w.codebooks = random_floats(rng, groups * w.codebook_size, scale * 1.5f);
  std::vector<uint32_t> idx(size_t(out) * row);
  for (auto& i : idx) i = uint32_t(rng() % w.codebook_size);
  w.packed = pack_indices(idx, out, row, bits);
  return l;
}

inline std::vector<uint16_t> to_half(const std::vector<float>& v) {
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) h[i] = float_to_half(v[i]);
  return h;
}

inline std::vector<float> round_to_half(const std::vector<float>& v) {
  std::vector<float> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = half_to_float(float_to_half(v[i]));
  return r;
}

struct OpRun {
  std::vector<float> output;
  bool guard_intact = true;
};

// Uploads `input` (floats, converted to half when in_fp16), poisons the output and a
// guard region behind it (and the op's workspace, if it has one), records
// op.record(batch), waits and reads everything back.
template <class Op>
OpRun run_op(Device& device, Op& op, const std::vector<float>& input, bool in_fp16,
             size_t out_elements, bool out_fp16, uint32_t batch) {
  const size_t in_elem = in_fp16 ? 2 : 4;
  const size_t out_elem = out_fp16 ? 2 : 4;
  Buffer in(device, input.size() * in_elem, MemoryUsage::DeviceLocal);
  if (in_fp16) {
    const std::vector<uint16_t> h = to_half(input);
    upload(device, in, h.data(), h.size() * 2);
  } else {
    upload(device, in, input.data(), input.size() * 4);
  }
  const size_t out_bytes = out_elements * out_elem;
  // vkCmdFillBuffer(VK_WHOLE_SIZE) stops at a multiple of 4 bytes: round up so the
  // poison reaches the very end and the guard check sees only bytes it wrote.
  const size_t alloc_bytes = (out_bytes + kGuardBytes + 3) / 4 * 4;
  Buffer out(device, alloc_bytes, MemoryUsage::DeviceLocal);
  fill(device, out, kPoison);

  Buffer workspace;
  if (op.workspace_bytes()) {
    workspace = Buffer(device, (op.workspace_bytes() + 3) / 4 * 4, MemoryUsage::DeviceLocal);
    fill(device, workspace, kPoison);
    op.set_workspace(workspace.handle());
  }
  DescriptorArena arena(device, 1 + uint32_t(op.extra_pipelines().size()), 5);
  op.bind(arena, in.handle(), out.handle());
  CommandContext ctx(device);
  VkCommandBuffer cmd = ctx.begin();
  op.record(cmd, batch);
  VkMemoryBarrier host{};
  host.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
  host.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  host.dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &host, 0,
                       nullptr, 0, nullptr);
  ctx.end_submit_wait();

  std::vector<uint8_t> raw(alloc_bytes);
  download(device, out, raw.data(), raw.size());
  OpRun r;
  r.output.resize(out_elements);
  if (out_fp16) {
    for (size_t i = 0; i < out_elements; ++i) {
      uint16_t h;
      std::memcpy(&h, raw.data() + 2 * i, 2);
      r.output[i] = half_to_float(h);
    }
  } else {
    std::memcpy(r.output.data(), raw.data(), out_bytes);
  }
  for (size_t i = out_bytes; i < raw.size(); ++i) r.guard_intact &= raw[i] == 0xFF;
  return r;
}

struct Comparison {
  double max_rel = 0;  // see the metric at the top of this file
  size_t worst = 0;
  size_t bad = 0;  // elements over tolerance (NaN/poison counts as bad)
};

inline Comparison compare(const std::vector<float>& gpu, const std::vector<float>& ref,
                          double tolerance, double min_floor = 0.0) {
  double sq = 0;
  for (float r : ref) sq += double(r) * r;
  const double rms = ref.empty() ? 0.0 : std::sqrt(sq / double(ref.size()));
  const double floor = std::max({rms, min_floor, 1e-30});
  Comparison c;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double denom = std::max(std::fabs(double(ref[i])), floor);
    double rel = std::fabs(double(gpu[i]) - double(ref[i])) / denom;
    if (std::isnan(rel)) rel = INFINITY;  // an unwritten (poisoned) value
    if (rel > tolerance) ++c.bad;
    if (rel > c.max_rel || i == 0) {
      c.max_rel = rel;
      c.worst = i;
    }
  }
  return c;
}

}  // namespace repvk::test
