// SPDX-License-Identifier: MIT
// Host side of the implicit-GEMM conv3x3 (shaders/conv3x3_igemm.comp): register block
// and shared-memory choices, the load-time weight repacking, upload and dispatch.
#include "ops/conv3x3_igemm.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "ops/conv3x3_splitk.h"
#include "ops/igemm_index_chunks.h"
#include "ops/op_common.h"
#include "repvk/error.h"
#include "runtime/shader_variant.h"
#include "shaders/variants.h"

namespace repvk {
namespace {

// Must match the push_constant block of shaders/conv3x3_igemm.comp.
struct IgemmPush {
  uint32_t n, cin, h, w, cout, oh, ow, gw, codebook_size, group_base, m, k_slice;
};
static_assert(sizeof(IgemmPush) == 48, "shaders/conv3x3_igemm.comp: 48 bytes of push constants");

// Must match the push_constant block of shaders/conv3x3_splitk_reduce.comp.
struct ReducePush {
  uint32_t m, cout, ohw, slices;
};
static_assert(sizeof(ReducePush) == 16, "shaders/conv3x3_splitk_reduce.comp: 16 bytes of push constants");
constexpr uint32_t kReduceWorkgroup = 128;  // its local_size_x

// Specialization constant ids of shaders/conv3x3_igemm.comp.
enum IgemmSpec : uint32_t {
  kSpecBits = 2,
  kSpecPerChannel = 3,
  kSpecStride = 4,
  kSpecRelu = 5,
  kSpecCodebookShared = 7,
  kSpecDoubleBuffer = 8,
  kSpecSplitK = 9,
};

// Shared memory the kernel aims at even where the device allows more: at 16 KiB a
// 128-invocation workgroup still leaves 8 waves per SIMD on RDNA (docs/design/shader-statistics.md).
constexpr uint64_t kSharedBudget = 16 * 1024;

constexpr uint32_t kVendorArm = 0x13B5;
constexpr uint32_t kVendorQualcomm = 0x5143;

}  // namespace

uint64_t igemm_shared_bytes(const IgemmConvConfig& c, uint32_t bits, bool per_channel) {
  const uint64_t tile_element = c.math_fp16 ? 2 : 4;
  const uint64_t tiles =
      uint64_t(c.double_buffer ? 2 : 1) * 9 * (c.tile_m() + c.tile_n()) * tile_element;
  const uint64_t slots = c.codebook_shared && bits ? (per_channel ? c.tile_n() : 1) : 1;
  const uint64_t stride = bits ? (uint64_t(1) << bits) + 1 : 2;  // (1 << 0) + 1 when dense
  return tiles + slots * stride * 4;
}

IgemmConvConfig choose_igemm_config(const PhysicalDeviceInfo& device, uint32_t bits,
                                    bool per_channel, uint32_t block, bool math_fp16) {
  IgemmConvConfig c;
  c.math_fp16 = math_fp16;
  const bool mobile = device.vendor_id == kVendorArm || device.vendor_id == kVendorQualcomm;
  const bool small = block == 4 || (block == 0 && mobile) ||
                     device.limits.max_workgroup_invocations < 128 ||
                     device.limits.max_workgroup_size[0] < 128;
  if (small) {
    c.tm = 4;
    c.tn = 4;
    c.gm = 16;
    c.gn = 4;
  }
  const uint64_t budget = std::min<uint64_t>(kSharedBudget, device.limits.max_shared_memory);
  // In order of preference; the last always fits the 16 KiB every device has.
  for (const auto& [shared_cb, double_buf] :
       {std::pair{true, true}, std::pair{true, false}, std::pair{false, true},
        std::pair{false, false}}) {
    c.codebook_shared = shared_cb;
    c.double_buffer = double_buf;
    if (igemm_shared_bytes(c, bits, per_channel) <= budget) break;
  }
  return c;
}

// The blocks choose_igemm_config() returns, in both precisions.
static_assert(variants::kConv3x3Igemm.both_precisions() &&
                  variants::kConv3x3Igemm.has_block(8, 8, false) &&
                  variants::kConv3x3Igemm.has_block(4, 4, false),
              "shaders/CMakeLists.txt must compile conv3x3_igemm blocks 8x8 and 4x4");
static_assert(variants::kConv3x3IgemmFp16math.both_precisions() &&
                  variants::kConv3x3IgemmFp16math.has_block(8, 8, false) &&
                  variants::kConv3x3IgemmFp16math.has_block(4, 4, false),
              "shaders/CMakeLists.txt must compile conv3x3_igemm_fp16math blocks 8x8 and 4x4");

std::string igemm_shader_name(const IgemmConvConfig& c, bool fp16) {
  const VariantTable& table =
      c.math_fp16 ? variants::kConv3x3IgemmFp16math : variants::kConv3x3Igemm;
  const ShaderVariant* v = table.block(c.tm, c.tn, fp16);
  if (!v)
    throw Error(std::string(table.kernel) + ": no compiled variant for block " +
                std::to_string(c.tm) + "x" + std::to_string(c.tn));
  return v->name;
}

uint32_t igemm_group_words(uint32_t bits) {
  if (bits == 0) return 9;
  return igemm_index_chunks(bits).words();
}

std::vector<uint32_t> igemm_repack_weights(const Layer& layer) {
  const Weights& w = layer.weights;
  const uint32_t cin = layer.in_channels, cout = layer.out_channels;
  const uint64_t row = uint64_t(cin) * 9;
  const bool dense = w.encoding == WeightEncoding::Fp32;
  if (dense) {
    const uint32_t gw = igemm_group_words(0);
    std::vector<uint32_t> out(size_t(cin) * cout * gw, 0u);
    if (w.dense.size() != cout * row)
      throw Error("conv3x3_igemm: " + std::to_string(w.dense.size()) +
                  " dense weights, expected " + std::to_string(cout * row));
    for (uint32_t oc = 0; oc < cout; ++oc)
      for (uint32_t ic = 0; ic < cin; ++ic)
        for (uint32_t t = 0; t < 9; ++t) {
          uint32_t bits32;
          std::memcpy(&bits32, &w.dense[oc * row + ic * 9 + t], 4);
          out[(size_t(ic) * cout + oc) * gw + t] = bits32;
        }
    return out;
  }
  if (w.bits < 1 || w.bits > 8)
    throw Error("conv3x3_igemm: " + std::to_string(w.bits) + "-bit indices");
  if (w.packed.size() != cout * words_per_row(row, w.bits))
    throw Error("conv3x3_igemm: " + std::to_string(w.packed.size()) + " index words, expected " +
                std::to_string(cout * words_per_row(row, w.bits)));
  return igemm_pack_index_chunks(unpack_indices(w.packed, cout, row, w.bits), cin, cout, w.bits);
}

Conv3x3IgemmOp::Conv3x3IgemmOp(const Conv3x3Args& args, uint32_t block) : Conv3x3Op(args) {
  const std::string op = "conv3x3_igemm";
  Device& device = args.device;
  const Layer& layer = args.layer;
  if (layer.bias.size() != layer.out_channels)
    throw Error(op + ": " + std::to_string(layer.bias.size()) + " bias values for " +
                std::to_string(layer.out_channels) + " outputs");
  const Weights& w = layer.weights;
  const bool dense = w.encoding == WeightEncoding::Fp32;
  bits_ = dense ? 0 : w.bits;
  per_channel_ = !dense && w.granularity == CodebookGranularity::PerOutputChannel;
  group_words_ = igemm_group_words(bits_);
  std::vector<float> codebooks(1, 0.0f);  // one unread float when dense
  if (!dense) {
    if (w.codebook_size < 1 || w.bits > 8 || w.codebook_size > (1u << w.bits))
      throw Error(op + ": codebook size " + std::to_string(w.codebook_size) + " for " +
                  std::to_string(w.bits) + "-bit indices");
    const uint64_t groups = per_channel_ ? layer.out_channels : 1;
    if (w.codebooks.size() != groups * w.codebook_size)
      throw Error(op + ": " + std::to_string(w.codebooks.size()) + " codebook values, expected " +
                  std::to_string(groups * w.codebook_size));
    codebook_size_ = w.codebook_size;
    codebooks = w.codebooks;
  }
  const std::vector<uint32_t> words = igemm_repack_weights(layer);

  if (args.math_fp16 && !device.enabled().float16)
    throw Error(op + ": fp16 arithmetic requested but shaderFloat16 is not enabled on " +
                device.info().name);
  config_ = choose_igemm_config(device.info(), bits_, per_channel_, block, args.math_fp16);
  const DeviceLimits& limits = device.info().limits;
  if (igemm_shared_bytes(config_, bits_, per_channel_) > limits.max_shared_memory)
    throw Error(op + ": needs " + std::to_string(igemm_shared_bytes(config_, bits_, per_channel_)) +
                " bytes of shared memory; the device has " +
                std::to_string(limits.max_shared_memory));
  ops::check_group_count(device, op, 1, ops::ceil_div(out_.c, config_.tile_n()),
                         "output channel tiles");

  words_ = Buffer(device, words.size() * sizeof(uint32_t), MemoryUsage::DeviceLocal);
  upload(device, words_, words.data(), words.size() * sizeof(uint32_t));
  codebooks_ = Buffer(device, codebooks.size() * sizeof(float), MemoryUsage::DeviceLocal);
  upload(device, codebooks_, codebooks.data(), codebooks.size() * sizeof(float));
  bias_ = Buffer(device, layer.bias.size() * sizeof(float), MemoryUsage::DeviceLocal);
  upload(device, bias_, layer.bias.data(), layer.bias.size() * sizeof(float));

  const std::vector<SpecConstant> spec = {{kSpecBits, bits_},
                                          {kSpecPerChannel, per_channel_ ? 1u : 0u},
                                          {kSpecStride, stride_},
                                          {kSpecRelu, relu_ ? 1u : 0u},
                                          {kSpecCodebookShared, config_.codebook_shared ? 1u : 0u},
                                          {kSpecDoubleBuffer, config_.double_buffer ? 1u : 0u}};
  pipeline_ = std::make_unique<ComputePipeline>(device, args.cache, igemm_shader_name(config_, fp16_),
                                                5, uint32_t(sizeof(IgemmPush)), spec);

  // Split-K: the workspace for the largest split of any batch up to max_batch, and its
  // two pipelines only where some batch splits.
  forced_split_ = args.tuning.igemm_split_k;
  compute_units_ = args.tuning.compute_units ? args.tuning.compute_units
                                             : estimate_compute_units(device.info());
  cpu_device_ = !args.tuning.compute_units && device.info().type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  const uint32_t max_batch = std::max<uint32_t>(args.max_batch, 1);
  const auto partial_bytes = [&](uint32_t b) {
    return uint64_t(split_k(b)) * b * out_.h * out_.w * out_.c * sizeof(float);
  };
  if (forced_split_) {
    // The same count at every batch: the largest batch needs the most.
    if (split_k(max_batch) > 1) workspace_bytes_ = partial_bytes(max_batch);
  } else {
    // The chooser's grid grows with the batch; once unsplit, larger batches are too.
    for (uint32_t b = 1; b <= max_batch && split_k(b) > 1; ++b)
      workspace_bytes_ = std::max(workspace_bytes_, partial_bytes(b));
  }
  if (workspace_bytes_) {
    std::vector<SpecConstant> split_spec = spec;
    split_spec.push_back({kSpecSplitK, 1u});
    split_pipeline_ = std::make_unique<ComputePipeline>(
        device, args.cache, igemm_shader_name(config_, fp16_), 5, uint32_t(sizeof(IgemmPush)),
        split_spec);
    reduce_pipeline_ = std::make_unique<ComputePipeline>(
        device, args.cache, variants::kConv3x3SplitkReduce.plain(fp16_)->name, 3,
        uint32_t(sizeof(ReducePush)), std::vector<SpecConstant>{{0, relu_ ? 1u : 0u}});
  }
}

uint32_t Conv3x3IgemmOp::split_k(uint32_t batch) const {
  if (forced_split_) return split_k_slices(in_.c, forced_split_, split_granule());
  const uint64_t m = uint64_t(batch) * out_.h * out_.w;
  SplitKProblem p;
  p.workgroups = ops::ceil_div(m, config_.tile_m()) * ops::ceil_div(out_.c, config_.tile_n());
  p.cin = in_.c;
  p.slice_bytes = m * out_.c * sizeof(float);
  p.channel_granule = split_granule();
  return choose_split_k(p, compute_units_, cpu_device_);
}

uint32_t Conv3x3IgemmOp::split_granule() const {
  // A K slice must begin at an index chunk (shaders/conv3x3_igemm.comp, binding 2).
  return bits_ ? igemm_index_chunks(bits_).channels : 1;
}

uint64_t Conv3x3IgemmOp::workgroups(uint32_t batch) const {
  const uint64_t m = uint64_t(batch) * out_.h * out_.w;
  return uint64_t(ops::ceil_div(m, config_.tile_m())) * ops::ceil_div(out_.c, config_.tile_n()) *
         split_k(batch);
}

std::vector<const ComputePipeline*> Conv3x3IgemmOp::extra_pipelines() const {
  if (!workspace_bytes_) return {};
  return {split_pipeline_.get(), reduce_pipeline_.get()};
}

void Conv3x3IgemmOp::bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) {
  set_ = arena.allocate(*pipeline_, {input, output, words_.handle(), codebooks_.handle(),
                                     bias_.handle()});
  if (!workspace_bytes_) return;
  if (!workspace_set_)
    throw Error(name() + ": split-K needs a workspace of " + std::to_string(workspace_bytes_) +
                " bytes (set_workspace() before bind())");
  split_set_ = arena.allocate(*split_pipeline_, {input, workspace_, words_.handle(),
                                                 codebooks_.handle(), bias_.handle()});
  reduce_set_ = arena.allocate(*reduce_pipeline_, {workspace_, output, bias_.handle()});
}

void Conv3x3IgemmOp::record_dispatches(VkCommandBuffer cmd, uint32_t batch) const {
  const uint64_t m = uint64_t(batch) * out_.h * out_.w;
  if (m + config_.tile_m() > UINT32_MAX)
    throw Error(name() + ": " + std::to_string(m) +
                " output pixels exceed the 32-bit index range; use a smaller batch");
  const uint64_t in_elements = uint64_t(batch) * in_.elements();
  const uint64_t out_elements = uint64_t(batch) * out_.elements();
  if (in_elements > UINT32_MAX || out_elements > UINT32_MAX)
    throw Error(name() + ": activations exceed the 32-bit index range; use a smaller batch");
  const uint32_t total_groups = ops::ceil_div(m, config_.tile_m());
  const uint32_t groups_y = ops::ceil_div(out_.c, config_.tile_n());
  const uint32_t max_x = device_.info().limits.max_workgroup_count[0];
  const uint32_t slices = split_k(batch);
  const bool split = slices > 1;
  IgemmPush push{batch,  in_.c,  in_.h,        in_.w,          out_.c, out_.h,
                 out_.w, group_words_, codebook_size_, 0,       uint32_t(m),
                 split_k_channels(in_.c, slices, split_granule())};
  if (split) {
    const uint64_t partials = uint64_t(slices) * m * out_.c;
    if (partials * sizeof(float) > workspace_bytes_ || partials > UINT32_MAX)
      throw Error(name() + ": split-K into " + std::to_string(slices) + " slices at batch " +
                  std::to_string(batch) + " exceeds its workspace (planned for batch " +
                  "<= max_batch)");
    ops::check_group_count(device_, name(), 2, slices, "K slices");
  }
  const ComputePipeline& igemm = split ? *split_pipeline_ : *pipeline_;
  const VkDescriptorSet set = split ? split_set_ : set_;
  for (uint32_t first = 0; first < total_groups;) {
    const uint32_t groups_x = std::min(max_x, total_groups - first);
    push.group_base = first;
    record_dispatch(cmd, igemm, set, &push, groups_x, groups_y, split ? slices : 1);
    first += groups_x;
  }
  if (!split) return;
  // The partials must be complete before the reduction reads them.
  record_compute_barrier(cmd);
  const ReducePush reduce{uint32_t(m), out_.c, out_.h * out_.w, slices};
  const uint64_t groups = ops::ceil_div(m * out_.c, kReduceWorkgroup);
  record_dispatch(cmd, *reduce_pipeline_, reduce_set_, &reduce,
                  uint32_t(std::min<uint64_t>(groups, max_x)), 1, 1);
}

std::string Conv3x3IgemmOp::tile_details() const {
  return "tile " + std::to_string(config_.tile_m()) + "x" + std::to_string(config_.tile_n()) +
         (config_.codebook_shared ? ", shared codebooks" : ", codebooks from memory") +
         (config_.double_buffer ? ", double buffer" : ", single buffer") +
         (config_.math_fp16 ? ", fp16 math" : "") +
         (workspace_bytes_ ? ", split-K up to " + std::to_string(split_k(1)) + " slices" : "");
}

}  // namespace repvk
