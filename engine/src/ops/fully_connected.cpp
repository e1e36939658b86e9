// SPDX-License-Identifier: MIT
// Everything the engine knows about fully_connected: the op (shaders/fully_connected.comp,
// fully_connected_rows.comp, fully_connected_gemv.comp and fully_connected_texel.comp), its
// CPU reference and its entry in the op-kind table.
#include "ops/fully_connected.h"

#include <algorithm>
#include <cstring>

#include "ops/op_kind.h"
#include "shaders/variants.h"
#include "repvk/cpu_reference.h"

namespace repvk {
namespace {

// Must match the push_constant block of shaders/fully_connected.comp.
struct FcPush {
  uint32_t n, in_features, out_features, words_per_row, codebook_size;
};
static_assert(sizeof(FcPush) == 20,
              "shaders/fully_connected{,_rows,_gemv}.comp: 20 bytes of push constants");

// Must match the push_constant block of shaders/fully_connected_texel.comp.
struct FcTexelPush {
  uint32_t n, in_features, out_features;
};
static_assert(sizeof(FcTexelPush) == 12,
              "shaders/fully_connected_texel.comp: 12 bytes of push constants");

// Specialization constant ids of shaders/fully_connected.comp (the first four),
// shaders/fully_connected_rows.comp (the first five), fully_connected_gemv.comp (all)
// and shaders/fully_connected_texel.comp (workgroup and ReLU only).
enum FcSpec : uint32_t {
  kSpecWorkgroup = 0,
  kSpecBits = 1,
  kSpecPerChannel = 2,
  kSpecRelu = 3,
  kSpecRowsImages = 4,  // Rows and Gemv: images per workgroup
  kSpecGemvRowGroups = 5,
  kSpecGemvKPadded = 6,
};

// Gemv kernel: rows a subgroup takes per pass (ROWS_PER_PASS in the shader) and the
// most groups of them per workgroup.
constexpr uint32_t kGemvRowsPerPass = 4;
constexpr uint32_t kGemvMaxRowGroups = 4;

// Texel kernel: invocations per workgroup (four outputs each), and images per
// invocation (create_texel: one below that batch).
constexpr uint32_t kTexelWorkgroup = 64;
constexpr uint32_t kTexelImages = 2;
static_assert(variants::kFullyConnectedTexel.has(0, 0, 0, 1, false) &&
                  variants::kFullyConnectedTexel.has(0, 0, 0, kTexelImages, false),
              "shaders/CMakeLists.txt: fully_connected_texel IMGS 1 and 2 (f32)");

// Output features per workgroup. Per-channel codebooks stage one codebook per
// feature, so 8-bit layers shrink this to fit shared memory (32 on a 32 KiB device).
constexpr uint32_t kMaxWorkgroup = 64;

}  // namespace

FullyConnectedOp::FullyConnectedOp(Device& device, VkPipelineCache cache, const Layer& layer,
                                   const TensorShape& input, bool fp16, bool texel,
                                   uint32_t batch_hint, FcKernel kernel)
    : device_(device),
      in_features_(layer.in_channels),
      out_features_(layer.out_channels),
      relu_(layer.relu) {
  const std::string op = "fully_connected";
  if (layer.type != LayerType::FullyConnected) throw Error(op + ": layer is not fully_connected");
  if (fp16)
    throw Error(op +
                ": inputs are always fp32 (global_avg_pool writes fp32); plan the "
                "FC input buffer as fp32 and pass fp16 = false");
  if (input.elements() != layer.in_channels || layer.in_channels == 0)
    throw Error(op + ": layer expects " + std::to_string(layer.in_channels) +
                " inputs, the input has " + std::to_string(input.elements()));
  if (out_features_ == 0) throw Error(op + ": no outputs");

  max_batch_ = std::max(1u, batch_hint);
  texel_ = texel && texel_fits(max_batch_);
  // The texel kernel reads load-time-expanded weights (create_texel): only its bias here.
  weights_ = texel_ ? ops::upload_bias_only(device, layer, op)
                    : ops::upload_layer_weights(device, layer, op);
  if (kernel == FcKernel::Auto)
    kernel = device.info().type == VK_PHYSICAL_DEVICE_TYPE_CPU ? FcKernel::Storage : FcKernel::Gemv;
  if (texel_)
    create_texel(cache, layer);
  else if (kernel == FcKernel::Gemv && create_gemv(cache, layer))
    return;
  else if (kernel == FcKernel::Rows || kernel == FcKernel::Gemv)
    create_rows(cache, layer);
  else
    create_storage(cache);
}

// Gemv kernel limits as for Rows: at most 128 invocations and, by preference, 16 KiB of
// shared memory; more only where one image's activations need it and the device has it.
bool FullyConnectedOp::create_gemv(VkPipelineCache cache, const Layer& layer) {
  const std::string op = "fully_connected_gemv";
  const DeviceFeatures& have = device_.enabled();
  if (!have.subgroup_arithmetic || have.subgroup_size == 0) return false;
  const DeviceLimits& limits = device_.info().limits;
  const uint32_t bits = weights_.bits;
  const uint32_t per_word = bits == 0 ? 1 : 32 / bits;
  const uint32_t wpr = weights_.words_per_row;
  const uint32_t vecs = ops::ceil_div(wpr, 4);
  const uint64_t k_padded = uint64_t(vecs) * 4 * per_word;
  auto shared_bytes = [&](uint32_t imgs, uint32_t row_groups) -> uint64_t {
    uint64_t cb = 1;
    if (bits != 0) {
      const uint64_t entries = uint64_t(1) << bits;
      cb = weights_.per_channel ? uint64_t(kGemvRowsPerPass) * row_groups * entries
                                : entries * (bits <= 5 ? 1 : (1024u >> bits));
    }
    return (uint64_t(imgs) * k_padded + cb) * sizeof(float);
  };
  // The most images per pass first (each pass reads all the weights), then the most
  // rows per workgroup (each workgroup stages the activations once).
  uint32_t imgs = 0, row_groups = 0;
  for (const uint64_t cap : {std::min<uint64_t>(limits.max_shared_memory, 16384),
                             uint64_t(limits.max_shared_memory)}) {
    for (uint32_t i = std::min<uint32_t>(4, max_batch_); i >= 1 && !imgs; --i)
      for (uint32_t g = kGemvMaxRowGroups; g >= 1 && !imgs; --g)
        if (shared_bytes(i, g) <= cap) imgs = i, row_groups = g;
    if (imgs) break;
  }
  if (!imgs) return false;
  // Whole subgroups of the reported size, one per row group where 128 invocations allow.
  const uint32_t sg = have.subgroup_size;
  const uint32_t max_wg = std::min(128u, ops::max_workgroup_x(device_));
  if (sg > ops::max_workgroup_x(device_)) return false;
  // Fewer row groups where Out is small: no subgroup of only clamped duplicates.
  row_groups = std::min(row_groups, ops::ceil_div(out_features_, kGemvRowsPerPass));
  const uint32_t subgroups = std::max(1u, std::min(row_groups, max_wg / sg));
  wg_ = subgroups * sg;
  ops::check_group_count(device_, op, 0, ops::ceil_div(out_features_, kGemvRowsPerPass * row_groups),
                         "outputs");
  if (k_padded > UINT32_MAX) return false;

  // Row-major copy padded to whole uvec4s, with the unused index slots of each row's
  // last word cleared: they then decode to entry 0 and meet a staged zero activation.
  std::vector<uint32_t> words(size_t(vecs) * out_features_ * 4, 0u);
  const Weights& w = layer.weights;
  const uint32_t last_valid = in_features_ - (wpr - 1) * per_word;  // indices in the last word
  const uint32_t last_mask =
      bits == 0 || last_valid * bits >= 32 ? ~0u : (1u << (last_valid * bits)) - 1u;
  for (uint32_t r = 0; r < out_features_; ++r) {
    uint32_t* dst = &words[size_t(r) * vecs * 4];
    if (bits == 0) std::memcpy(dst, &w.dense[size_t(r) * wpr], size_t(wpr) * 4);
    else std::memcpy(dst, &w.packed[size_t(r) * wpr], size_t(wpr) * 4);
    dst[wpr - 1] &= last_mask;
  }
  weights_.words = Buffer(device_, words.size() * 4, MemoryUsage::DeviceLocal);
  upload(device_, weights_.words, words.data(), words.size() * 4);
  vecs_per_row_ = vecs;
  gemv_imgs_ = imgs;
  gemv_rows_ = kGemvRowsPerPass * row_groups;

  const std::vector<SpecConstant> spec = {{kSpecWorkgroup, wg_},
                                          {kSpecBits, bits},
                                          {kSpecPerChannel, weights_.per_channel ? 1u : 0u},
                                          {kSpecRelu, relu_ ? 1u : 0u},
                                          {kSpecRowsImages, imgs},
                                          {kSpecGemvRowGroups, row_groups},
                                          {kSpecGemvKPadded, uint32_t(k_padded)}};
  pipeline_ = std::make_unique<ComputePipeline>(device_, cache, "fully_connected_gemv_f32", 5,
                                                uint32_t(sizeof(FcPush)), spec);
  return true;
}

// Rows kernel limits: at most 128 invocations and 16 KiB of shared memory, whatever
// the device allows beyond that (portable sizes), and never more than it allows.
void FullyConnectedOp::create_rows(VkPipelineCache cache, const Layer& layer) {
  const std::string op = "fully_connected_rows";
  const DeviceLimits& limits = device_.info().limits;
  const uint64_t shared_cap = std::min<uint64_t>(limits.max_shared_memory, 16384);
  auto shared_bytes = [&](uint32_t rows) -> uint64_t {
    if (weights_.bits == 0) return 4;
    return uint64_t(weights_.per_channel ? rows : 1) * ((uint64_t(1) << weights_.bits) + 1) * 4;
  };
  wg_ = ops::pow2_at_least(out_features_, std::min(64u, ops::max_workgroup_x(device_)));
  while (wg_ > 1 && shared_bytes(wg_) > shared_cap) wg_ /= 2;
  if (shared_bytes(wg_) > limits.max_shared_memory)
    throw Error(op + ": a " + std::to_string(weights_.bits) + "-bit codebook needs " +
                std::to_string(shared_bytes(1)) + " bytes of shared memory; the device has " +
                std::to_string(limits.max_shared_memory));
  ops::check_group_count(device_, op, 0, ops::ceil_div(out_features_, wg_), "outputs");
  rows_imgs_ = std::min<uint32_t>(4, max_batch_);

  // Transposed, padded copy of the index words: word w of row r lands in component
  // w % 4 of uvec4 (w / 4) * Out + r.
  const uint32_t wpr = weights_.words_per_row;
  vecs_per_row_ = ops::ceil_div(wpr, 4);
  std::vector<uint32_t> words(size_t(vecs_per_row_) * out_features_ * 4, 0u);
  const Weights& w = layer.weights;
  for (uint32_t r = 0; r < out_features_; ++r) {
    for (uint32_t i = 0; i < wpr; ++i) {
      uint32_t word = 0;
      if (weights_.bits == 0) std::memcpy(&word, &w.dense[size_t(r) * wpr + i], 4);
      else word = w.packed[size_t(r) * wpr + i];
      words[(size_t(i / 4) * out_features_ + r) * 4 + i % 4] = word;
    }
  }
  weights_.words = Buffer(device_, words.size() * 4, MemoryUsage::DeviceLocal);
  upload(device_, weights_.words, words.data(), words.size() * 4);

  const std::vector<SpecConstant> spec = {{kSpecWorkgroup, wg_},
                                          {kSpecBits, weights_.bits},
                                          {kSpecPerChannel, weights_.per_channel ? 1u : 0u},
                                          {kSpecRelu, relu_ ? 1u : 0u},
                                          {kSpecRowsImages, rows_imgs_}};
  pipeline_ = std::make_unique<ComputePipeline>(device_, cache, "fully_connected_rows_f32", 5,
                                                uint32_t(sizeof(FcPush)), spec);
}

FullyConnectedOp::~FullyConnectedOp() {
  for (VkBufferView v : input_views_) vkDestroyBufferView(device_.handle(), v, nullptr);
}

bool FullyConnectedOp::texel_fits(uint32_t batch_hint) const {
  const uint64_t max_elements = device_.info().limits.max_texel_buffer_elements;
  const uint64_t weight_texels = uint64_t(ops::ceil_div(out_features_, 4)) * in_features_;
  return uint64_t(batch_hint) * in_features_ <= max_elements && weight_texels <= max_elements;
}

void FullyConnectedOp::create_storage(VkPipelineCache cache) {
  const std::string op = "fully_connected";
  const DeviceLimits& limits = device_.info().limits;
  wg_ = ops::pow2_at_least(out_features_, std::min(kMaxWorkgroup, ops::max_workgroup_x(device_)));
  while (wg_ > 1 && weights_.shared_bytes(wg_) > limits.max_shared_memory) wg_ /= 2;
  if (weights_.shared_bytes(wg_) > limits.max_shared_memory)
    throw Error(op + ": a " + std::to_string(weights_.bits) + "-bit codebook needs " +
                std::to_string(weights_.shared_bytes(1)) +
                " bytes of shared memory; the device has " +
                std::to_string(limits.max_shared_memory));
  ops::check_group_count(device_, op, 0, ops::ceil_div(out_features_, wg_), "outputs");

  const std::vector<SpecConstant> spec = {{kSpecWorkgroup, wg_},
                                          {kSpecBits, weights_.bits},
                                          {kSpecPerChannel, weights_.per_channel ? 1u : 0u},
                                          {kSpecRelu, relu_ ? 1u : 0u}};
  pipeline_ = std::make_unique<ComputePipeline>(device_, cache, "fully_connected_f32", 5,
                                                uint32_t(sizeof(FcPush)), spec);
}

void FullyConnectedOp::create_texel(VkPipelineCache cache, const Layer& layer) {
  const std::string op = "fully_connected_texel";
  const uint32_t groups = ops::ceil_div(out_features_, 4);
  wg_ = ops::pow2_at_least(groups, std::min(kTexelWorkgroup, ops::max_workgroup_x(device_)));
  // Each weight texel is fetched once for both images of an invocation. Two measured
  // best on lavapipe (A0's 1280->1000 at batch 4: 2.2-2.4 ms vs 3.0-4.3 for one and
  // 2.6-2.9 for four; at batch 16 four was slower still), one avoids a wasted
  // duplicate at batch 1.
  imgs_ = max_batch_ >= kTexelImages ? kTexelImages : 1;
  const ShaderVariant* variant = variants::kFullyConnectedTexel.find(0, 0, 0, imgs_, false);
  ops::check_group_count(device_, op, 0, ops::ceil_div(groups, wg_), "output groups");

  texel_weights_ = ops::TexelWeights(device_, decode_weights(layer), out_features_, in_features_);
  const std::vector<SpecConstant> spec = {{kSpecWorkgroup, wg_}, {kSpecRelu, relu_ ? 1u : 0u}};
  pipeline_ = std::make_unique<ComputePipeline>(
      device_, cache, variant->name,
      std::vector<VkDescriptorType>{VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
                                    VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                    VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
                                    VK_DESCRIPTOR_TYPE_STORAGE_BUFFER},
      uint32_t(sizeof(FcTexelPush)), spec);
}

void FullyConnectedOp::bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) {
  if (!texel_) {
    set_ = arena.allocate(*pipeline_, {input, output, weights_.words.handle(),
                                       weights_.codebooks.handle(), weights_.bias.handle()});
    return;
  }
  // The view covers exactly the images one record() may read, which texel_fits()
  // checked against maxTexelBufferElements.
  const VkDeviceSize range = VkDeviceSize(max_batch_) * in_features_ * sizeof(float);
  const VkBufferView view = ops::make_buffer_view(device_, input, VK_FORMAT_R32_SFLOAT, range);
  input_views_.push_back(view);
  using B = DescriptorArena::Binding;
  set_ = arena.allocate_bindings(
      *pipeline_,
      std::vector<B>{{VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, VK_NULL_HANDLE, view},
                     {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, output, VK_NULL_HANDLE},
                     {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, VK_NULL_HANDLE, texel_weights_.view()},
                     {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, weights_.bias.handle(), VK_NULL_HANDLE}});
}

void FullyConnectedOp::record(VkCommandBuffer cmd, uint32_t batch) const {
  if (set_ == VK_NULL_HANDLE) throw Error("fully_connected: record() before bind()");
  if (batch == 0) return;
  if (texel_) {
    if (batch > max_batch_)
      throw Error("fully_connected: batch " + std::to_string(batch) + " exceeds the " +
                  std::to_string(max_batch_) +
                  " images the op was created for (its input view is sized for them)");
    const uint32_t groups_y = ops::ceil_div(batch, imgs_);
    ops::check_group_count(device_, "fully_connected_texel", 1, groups_y, "batch");
    const FcTexelPush push{batch, in_features_, out_features_};
    record_dispatch(cmd, *pipeline_, set_, &push,
                    ops::ceil_div(ops::ceil_div(out_features_, 4), wg_), groups_y, 1);
    return;
  }
  if (gemv_imgs_ > 0) {
    const uint32_t groups_y = ops::ceil_div(batch, gemv_imgs_);
    ops::check_group_count(device_, "fully_connected_gemv", 1, groups_y, "batch");
    const FcPush push{batch, in_features_, out_features_, vecs_per_row_, weights_.codebook_size};
    record_dispatch(cmd, *pipeline_, set_, &push, ops::ceil_div(out_features_, gemv_rows_),
                    groups_y, 1);
    return;
  }
  if (rows_imgs_ > 0) {
    const uint32_t groups_y = ops::ceil_div(batch, rows_imgs_);
    ops::check_group_count(device_, "fully_connected_rows", 1, groups_y, "batch");
    const FcPush push{batch, in_features_, out_features_, vecs_per_row_, weights_.codebook_size};
    record_dispatch(cmd, *pipeline_, set_, &push, ops::ceil_div(out_features_, wg_), groups_y, 1);
    return;
  }
  ops::check_group_count(device_, "fully_connected", 1, batch, "batch");
  const FcPush push{batch, in_features_, out_features_, weights_.words_per_row,
                    weights_.codebook_size};
  record_dispatch(cmd, *pipeline_, set_, &push, ops::ceil_div(out_features_, wg_), batch, 1);
}

uint64_t FullyConnectedOp::flops(uint32_t batch) const {
  return 2ull * batch * in_features_ * out_features_;
}

std::string FullyConnectedOp::name() const {
  return "fully_connected " + std::to_string(in_features_) + "->" + std::to_string(out_features_) +
         " " + weights_.tag() + (relu_ ? " relu" : "") + (texel_ ? " texel" : "") +
         (rows_imgs_ ? " rows" : "") + (gemv_imgs_ ? " gemv" : "");
}

namespace cpu {

void fully_connected(const float* in, uint32_t n, uint32_t in_features, const float* weights,
                     const float* bias, uint32_t out_features, bool relu, float* out) {
  for (uint32_t b = 0; b < n; ++b) {
    const float* x = in + size_t(b) * in_features;
    for (uint32_t o = 0; o < out_features; ++o) {
      const float* row = weights + size_t(o) * in_features;
      double s = bias[o];
      for (uint32_t i = 0; i < in_features; ++i) s += double(row[i]) * double(x[i]);
      if (relu) s = std::max(s, 0.0);
      out[size_t(b) * out_features + o] = float(s);
    }
  }
}

}  // namespace cpu

namespace {

std::unique_ptr<Op> create(const OpPlan& plan) {
  if (plan.output_half) throw Error("fully_connected: its output is always fp32");
  // The FC layer follows the conv layers' choice: where they read through texel
  // buffers (CPU devices), so does it (shaders/fully_connected_texel.comp); with the GPU
  // conv kernel (igemm) it runs the GPU fc kernel (gemv, else rows) on any device, so
  // that igemm asked for on a CPU device runs the network a GPU runs.
  const FcKernel kernel =
      plan.conv_algorithm == ConvAlgorithm::Igemm ? FcKernel::Gemv : FcKernel::Auto;
  return std::make_unique<FullyConnectedOp>(plan.device, plan.cache, plan.layer, plan.input,
                                            plan.input_half,
                                            plan.conv_algorithm == ConvAlgorithm::Texel,
                                            plan.max_batch, kernel);
}

// The input is the previous activation flattened (C*H*W per image).
void cpu_forward(const Layer& layer, const TensorShape&, const TensorShape&, const float* in,
                 uint32_t batch, float* out) {
  const std::vector<float> w = decode_weights(layer);
  cpu::fully_connected(in, batch, layer.in_channels, w.data(), layer.bias.data(),
                       layer.out_channels, layer.relu, out);
}

}  // namespace

const OpKind kFullyConnectedOp{LayerType::FullyConnected, create, cpu_forward};

}  // namespace repvk
