// SPDX-License-Identifier: MIT
// measure_fp16_math() (repvk/precision.h): whether conv3x3_igemm's fp16-arithmetic
// flavour is faster than its fp32 one on this device, by timing both on one layer.
// fp16 arithmetic is never chosen because shaderFloat16 exists: CPU drivers emulate
// it (lavapipe converts every half), some GPUs run it at the fp32 rate or below, and
// only packed-math GPUs (RDNA, Intel Xe, Mali, Adreno) are expected to gain.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ops/conv3x3_igemm.h"
#include "repvk/error.h"
#include "repvk/precision.h"
#include "runtime/memory.h"
#include "runtime/pipeline.h"

namespace repvk {
namespace {

// fp16 must beat fp32 by this fraction of fp32's median: a margin above run-to-run
// noise, so that a tie keeps the more accurate fp32.
constexpr double kMargin = 0.05;
constexpr uint32_t kWarmup = 2;
constexpr uint32_t kTimed = 7;

struct ProbeShape {
  uint32_t cin, cout, hw, batch;
};

// A0's second stage on GPUs (~0.23 GFLOP: tens of microseconds on a desktop GPU, so
// the whole probe stays far under 50 ms); a 28x smaller layer on CPU devices, where
// one 8x8 dispatch of the big one takes a large part of a second.
ProbeShape probe_shape(const PhysicalDeviceInfo& info) {
  if (info.type == VK_PHYSICAL_DEVICE_TYPE_CPU) return {16, 16, 14, 1};
  return {64, 64, 28, 4};
}

// A 4-bit per-channel layer with fixed pseudo-random weights (timing does not depend
// on the values, but denormal-free, in-range data keeps both paths on their fast path).
Layer probe_layer(const ProbeShape& s) {
  Layer l;
  l.type = LayerType::Conv3x3;
  l.in_channels = s.cin;
  l.out_channels = s.cout;
  l.stride = 1;
  l.relu = true;
  std::mt19937 rng(12345);
  std::uniform_real_distribution<float> value(-0.5f, 0.5f);
  Weights& w = l.weights;
  w.encoding = WeightEncoding::Codebook;
  w.bits = 4;
  w.granularity = CodebookGranularity::PerOutputChannel;
  w.codebook_size = 16;
  w.codebooks.resize(size_t(s.cout) * 16);
  for (float& v : w.codebooks) v = value(rng);
  const uint64_t row = uint64_t(s.cin) * 9;
  std::vector<uint32_t> idx(size_t(s.cout) * row);
  for (uint32_t& i : idx) i = rng() % 16;
  w.packed = pack_indices(idx, s.cout, row, 4);
  l.bias.resize(s.cout);
  for (float& v : l.bias) v = value(rng);
  return l;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Milliseconds between two timestamps, masked to timestamp_valid_bits.
double ticks_ms(uint64_t begin, uint64_t end, const DeviceLimits& limits) {
  const uint32_t bits = limits.timestamp_valid_bits;
  const uint64_t mask = bits >= 64 ? ~uint64_t(0) : ((uint64_t(1) << bits) - 1);
  return double((end - begin) & mask) * limits.timestamp_period_ns * 1e-6;
}

class QueryPool {
 public:
  QueryPool(Device& device, uint32_t count) : device_(device) {
    VkQueryPoolCreateInfo qci{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    qci.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qci.queryCount = count;
    vk_check(vkCreateQueryPool(device.handle(), &qci, nullptr, &pool_), "vkCreateQueryPool");
  }
  ~QueryPool() { vkDestroyQueryPool(device_.handle(), pool_, nullptr); }
  QueryPool(const QueryPool&) = delete;
  QueryPool& operator=(const QueryPool&) = delete;
  VkQueryPool handle() const { return pool_; }

 private:
  Device& device_;
  VkQueryPool pool_ = VK_NULL_HANDLE;
};

Fp16MathMeasurement run_probe(Device& device) {
  Fp16MathMeasurement r;
  const PhysicalDeviceInfo& info = device.info();
  if (device.compile_only()) {
    r.reason = info.name + " cannot execute (" + info.not_runnable_reason + ")";
    return r;
  }
  if (!device.enabled().float16) {
    r.reason = info.features.float16 ? "shaderFloat16 is not enabled on the device"
                                     : info.name + " has no shaderFloat16";
    return r;
  }
  const ProbeShape s = probe_shape(info);
  const Layer layer = probe_layer(s);
  const TensorShape in_shape{s.cin, s.hw, s.hw};
  r.shape = "conv3x3 " + std::to_string(s.cin) + "->" + std::to_string(s.cout) + " " +
            std::to_string(s.hw) + "x" + std::to_string(s.hw) + " batch " +
            std::to_string(s.batch) + " q4/channel";

  // Both flavours at fp32 storage: the probe compares arithmetic, nothing else.
  Conv3x3Args fp32_args{device, VK_NULL_HANDLE, layer, in_shape, false, s.batch};
  Conv3x3Args fp16_args = fp32_args;
  fp16_args.math_fp16 = true;
  Conv3x3IgemmOp ops[2] = {Conv3x3IgemmOp(fp32_args), Conv3x3IgemmOp(fp16_args)};

  const uint64_t in_elems = uint64_t(s.batch) * in_shape.elements();
  const uint64_t out_elems = uint64_t(s.batch) * ops[0].output_shape().elements();
  std::vector<float> input(in_elems);
  std::mt19937 rng(54321);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (float& v : input) v = value(rng);
  Buffer in_buf(device, in_elems * 4, MemoryUsage::DeviceLocal);
  upload(device, in_buf, input.data(), in_elems * 4);
  Buffer out_buf(device, out_elems * 4, MemoryUsage::DeviceLocal);

  DescriptorCounts counts;
  for (const Conv3x3IgemmOp& op : ops) counts.add(op.pipeline());
  DescriptorArena arena(device, counts);
  for (Conv3x3IgemmOp& op : ops) op.bind(arena, in_buf.handle(), out_buf.handle());

  r.gpu_timestamps = device.enabled().timestamps;
  std::unique_ptr<QueryPool> queries;
  if (r.gpu_timestamps) queries = std::make_unique<QueryPool>(device, 2);
  CommandContext commands(device);
  std::vector<double> times[2];
  for (uint32_t rep = 0; rep < kWarmup + kTimed; ++rep) {
    // Interleaved, so that clocks ramping up or a busy machine affect both alike.
    for (int k = 0; k < 2; ++k) {
      VkCommandBuffer cmd = commands.begin();
      if (queries) {
        vkCmdResetQueryPool(cmd, queries->handle(), 0, 2);
        vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries->handle(), 0);
      }
      ops[k].record(cmd, s.batch);
      if (queries)
        vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, queries->handle(), 1);
      const auto t0 = std::chrono::steady_clock::now();
      commands.end_submit_wait();
      const auto t1 = std::chrono::steady_clock::now();
      double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
      if (queries) {
        uint64_t ticks[2] = {0, 0};
        vk_check(vkGetQueryPoolResults(device.handle(), queries->handle(), 0, 2, sizeof(ticks),
                                       ticks, 8, VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
                 "vkGetQueryPoolResults");
        ms = ticks_ms(ticks[0], ticks[1], info.limits);
      }
      if (rep >= kWarmup) times[k].push_back(ms);
    }
  }
  r.repetitions = kTimed;
  r.fp32_ms = median(times[0]);
  r.fp16_ms = median(times[1]);
  r.measured = r.fp32_ms > 0 && r.fp16_ms > 0;
  if (!r.measured) r.reason = "a median was 0 ms (timer resolution)";
  r.use_fp16 = r.measured && r.fp16_ms <= (1.0 - kMargin) * r.fp32_ms;
  return r;
}

}  // namespace

Fp16MathMeasurement measure_fp16_math(Device& device) {
  return device.fp16_math_once([&device] {
    const auto t0 = std::chrono::steady_clock::now();
    Fp16MathMeasurement r;
    try {
      r = run_probe(device);
    } catch (const Error& e) {
      // A failed measurement must not fail the Network that asked: fp32 is always right.
      r = Fp16MathMeasurement{};
      r.reason = std::string("the measurement failed: ") + e.what();
    }
    r.probe_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return r;
  });
}

}  // namespace repvk
