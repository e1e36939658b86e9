// SPDX-License-Identifier: MIT
// Pieces shared by the op classes (header-only, so that each op's host files stay
// self-contained). Weight upload in the binding 2..4 layout of shaders/common/weights.glsl,
// tile-size helpers and dispatch-limit checks.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/memory.h"
#include "repvk/device.h"
#include "repvk/error.h"
#include "repvk/model.h"

namespace repvk::ops {

inline uint32_t ceil_div(uint64_t a, uint64_t b) { return static_cast<uint32_t>((a + b - 1) / b); }

// Smallest power of two >= v (v >= 1), capped at `cap`.
inline uint32_t pow2_at_least(uint64_t v, uint32_t cap) {
  uint32_t p = 1;
  while (p < v && p < cap) p <<= 1;
  return std::min(p, cap);
}

// Largest power of two <= v (v >= 1).
inline uint32_t pow2_at_most(uint32_t v) {
  uint32_t p = 1;
  while (p <= v / 2) p <<= 1;
  return p;
}

// Largest usable 1-D workgroup size on this device.
inline uint32_t max_workgroup_x(const Device& device) {
  const DeviceLimits& l = device.info().limits;
  return std::max<uint32_t>(1, std::min(l.max_workgroup_invocations, l.max_workgroup_size[0]));
}

inline void check_group_count(const Device& device, const std::string& op, int axis,
                              uint64_t groups, const char* what) {
  const uint32_t limit = device.info().limits.max_workgroup_count[axis];
  if (groups > limit)
    throw Error(op + ": " + std::to_string(groups) + " workgroups along " + "xyz"[axis] +
                std::string(" (") + what + ") exceed the device's maxComputeWorkGroupCount[" +
                std::to_string(axis) + "] = " + std::to_string(limit));
}

inline void check_fp16(const Device& device, const std::string& op, bool fp16) {
  if (fp16 && !device.enabled().storage_16bit)
    throw Error(op + ": fp16 activations need storageBuffer16BitAccess, which is not enabled on " +
                device.info().name);
}

inline const char* act_suffix(bool fp16) { return fp16 ? "f16" : "f32"; }

// A texel-buffer view of `buffer` from offset 0 (the texel kernels' act_in and
// weights4 bindings); the caller destroys it.
inline VkBufferView make_buffer_view(Device& device, VkBuffer buffer, VkFormat format,
                                     VkDeviceSize range) {
  VkBufferViewCreateInfo ci{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
  ci.buffer = buffer;
  ci.format = format;
  ci.offset = 0;
  ci.range = range;
  VkBufferView view = VK_NULL_HANDLE;
  vk_check(vkCreateBufferView(device.handle(), &ci, nullptr, &view), "vkCreateBufferView");
  return view;
}

// A layer's weights for the texel kernels: dense [out][row] weights (decode_weights)
// expanded into RGBA32F texels, texel (o/4) * row + e holding outputs 4*(o/4) .. +3 of
// element e (zero past `out`), uploaded, with the view the kernels fetch through. It
// owns the view, so an op whose creation throws after this leaks nothing.
class TexelWeights {
 public:
  TexelWeights() = default;
  TexelWeights(Device& device, const std::vector<float>& dense, uint32_t out, size_t row)
      : device_(&device) {
    const size_t groups = (size_t(out) + 3) / 4;
    std::vector<float> expanded(groups * row * 4, 0.0f);
    for (uint32_t o = 0; o < out; ++o)
      for (size_t e = 0; e < row; ++e)
        expanded[((o / 4) * row + e) * 4 + o % 4] = dense[size_t(o) * row + e];
    const VkDeviceSize bytes = expanded.size() * sizeof(float);
    buffer_ = Buffer(device, bytes, MemoryUsage::DeviceLocal);
    upload(device, buffer_, expanded.data(), bytes);
    view_ = make_buffer_view(device, buffer_.handle(), VK_FORMAT_R32G32B32A32_SFLOAT, VK_WHOLE_SIZE);
  }
  ~TexelWeights() { reset(); }
  TexelWeights(TexelWeights&& o) noexcept { *this = std::move(o); }
  TexelWeights& operator=(TexelWeights&& o) noexcept {
    if (this != &o) {
      reset();
      device_ = o.device_;
      buffer_ = std::move(o.buffer_);
      view_ = o.view_;
      o.view_ = VK_NULL_HANDLE;
    }
    return *this;
  }
  TexelWeights(const TexelWeights&) = delete;
  TexelWeights& operator=(const TexelWeights&) = delete;

  VkBufferView view() const { return view_; }
  uint64_t bytes() const { return buffer_.size(); }

 private:
  void reset() {
    if (view_) vkDestroyBufferView(device_->handle(), view_, nullptr);
    view_ = VK_NULL_HANDLE;
  }
  Device* device_ = nullptr;
  Buffer buffer_;
  VkBufferView view_ = VK_NULL_HANDLE;
};

// A short tag for a weight format in names: "fp32", "q4/layer", "q3/channel".
inline std::string weights_tag(uint32_t bits, bool per_channel) {
  if (bits == 0) return "fp32";
  return "q" + std::to_string(bits) + (per_channel ? "/channel" : "/layer");
}

// A conv/FC layer's weights on the device, laid out for bindings 2..4.
struct LayerWeights {
  Buffer words;      // packed indices, or dense fp32 bits (one per word)
  Buffer codebooks;  // groups * codebook_size floats; 4 unread bytes when dense
  Buffer bias;
  uint32_t bits = 0;  // 0 = dense
  bool per_channel = false;
  uint32_t words_per_row = 0;
  uint32_t codebook_size = 0;

  // Shared memory the shader stages for `rows` output rows per workgroup.
  uint64_t shared_bytes(uint32_t rows) const {
    if (bits == 0) return 4;  // the declared one-float array
    return uint64_t(per_channel ? rows : 1) * (uint64_t(1) << bits) * sizeof(float);
  }

  std::string tag() const { return weights_tag(bits, per_channel); }
  uint64_t bytes() const { return words.size() + codebooks.size() + bias.size(); }
};

// A layer's weight format (for tags and tile fits) and its bias on the device, for
// the texel kernels, which read their weights through TexelWeights instead.
inline LayerWeights upload_bias_only(Device& device, const Layer& layer, const std::string& op) {
  if (layer.bias.size() != layer.out_channels)
    throw Error(op + ": " + std::to_string(layer.bias.size()) + " bias values for " +
                std::to_string(layer.out_channels) + " outputs");
  LayerWeights out;
  if (layer.weights.encoding == WeightEncoding::Codebook) {
    out.bits = layer.weights.bits;
    out.per_channel = layer.weights.granularity == CodebookGranularity::PerOutputChannel;
  }
  out.bias = Buffer(device, layer.bias.size() * sizeof(float), MemoryUsage::DeviceLocal);
  upload(device, out.bias, layer.bias.data(), layer.bias.size() * sizeof(float));
  return out;
}

// Checks the layer's payload sizes (a model that passed validate_model always
// passes) and uploads it once into device-local buffers.
inline LayerWeights upload_layer_weights(Device& device, const Layer& layer,
                                         const std::string& op) {
  const Weights& w = layer.weights;
  const uint64_t rows = layer.out_channels;
  const uint64_t row_len = layer.row_length();
  if (rows == 0 || row_len == 0) throw Error(op + ": layer has no weights");
  if (layer.bias.size() != rows)
    throw Error(op + ": " + std::to_string(layer.bias.size()) + " bias values for " +
                std::to_string(rows) + " outputs");

  LayerWeights out;
  if (w.encoding == WeightEncoding::Fp32) {
    if (w.dense.size() != rows * row_len)
      throw Error(op + ": " + std::to_string(w.dense.size()) + " dense weights, expected " +
                  std::to_string(rows * row_len));
    if (row_len > UINT32_MAX) throw Error(op + ": row too long");
    out.bits = 0;
    out.words_per_row = static_cast<uint32_t>(row_len);
    out.codebook_size = 0;
    out.words = Buffer(device, w.dense.size() * sizeof(float), MemoryUsage::DeviceLocal);
    upload(device, out.words, w.dense.data(), w.dense.size() * sizeof(float));
    out.codebooks = Buffer(device, sizeof(float), MemoryUsage::DeviceLocal);
  } else {
    if (w.bits < 1 || w.bits > 8) throw Error(op + ": " + std::to_string(w.bits) + "-bit indices");
    const uint64_t wpr = words_per_row(row_len, w.bits);
    const uint64_t groups = w.granularity == CodebookGranularity::PerOutputChannel ? rows : 1;
    if (w.codebook_size < 1 || w.codebook_size > (1u << w.bits))
      throw Error(op + ": codebook size " + std::to_string(w.codebook_size) + " for " +
                  std::to_string(w.bits) + "-bit indices");
    if (w.packed.size() != rows * wpr)
      throw Error(op + ": " + std::to_string(w.packed.size()) + " index words, expected " +
                  std::to_string(rows * wpr));
    if (w.codebooks.size() != groups * w.codebook_size)
      throw Error(op + ": " + std::to_string(w.codebooks.size()) + " codebook values, expected " +
                  std::to_string(groups * w.codebook_size));
    out.bits = w.bits;
    out.per_channel = w.granularity == CodebookGranularity::PerOutputChannel;
    out.words_per_row = static_cast<uint32_t>(wpr);
    out.codebook_size = w.codebook_size;
    out.words = Buffer(device, w.packed.size() * sizeof(uint32_t), MemoryUsage::DeviceLocal);
    upload(device, out.words, w.packed.data(), w.packed.size() * sizeof(uint32_t));
    out.codebooks = Buffer(device, w.codebooks.size() * sizeof(float), MemoryUsage::DeviceLocal);
    upload(device, out.codebooks, w.codebooks.data(), w.codebooks.size() * sizeof(float));
  }
  out.bias = Buffer(device, layer.bias.size() * sizeof(float), MemoryUsage::DeviceLocal);
  upload(device, out.bias, layer.bias.data(), layer.bias.size() * sizeof(float));
  return out;
}

}  // namespace repvk::ops
