// SPDX-License-Identifier: MIT
// Host side of shaders/conv3x3_igemm.comp: the implicit-GEMM conv3x3 (M = N*OH*OW output
// pixels, N = Cout, K = 9*Cin), the default on GPUs. Weights are repacked once at load
// time: indices into 128-bit chunks of several input channels per output channel
// (ops/igemm_index_chunks.h), read by the tile fill with 128-bit loads; dense weights into
// one 9-word group per (input channel, output channel); codebooks stay codebooks.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/conv3x3.h"
#include "ops/op.h"
#include "runtime/memory.h"
#include "runtime/pipeline.h"
#include "repvk/device.h"
#include "repvk/model.h"
#include "repvk/precision.h"
#include "repvk_internal/conv_kernel.h"

namespace repvk {

// One compiled register block of conv3x3_igemm (shaders/CMakeLists.txt) and the
// shared-memory choices made for one layer on one device.
struct IgemmConvConfig {
  uint32_t tm = 8, tn = 8;   // pixels x channels per invocation
  uint32_t gm = 16, gn = 8;  // invocations along M and N (workgroup = gm * gn)
  bool codebook_shared = true;  // codebooks staged in shared memory
  bool double_buffer = true;    // two tile buffers: one barrier per K stage
  bool math_fp16 = false;       // the MATH_FP16 flavour: fp16 tiles and stage products
  uint32_t workgroup() const { return gm * gn; }
  uint32_t tile_m() const { return gm * tm; }
  uint32_t tile_n() const { return gn * tn; }
};

// The register block for a device: 8x8 (128 invocations, a 128x64 tile) where registers
// are plentiful; 4x4 (64 invocations, 64x16) on mobile GPUs (ARM Mali, Qualcomm Adreno),
// whose register files hold far fewer per invocation. Then the shared-memory choices:
// double buffering and staged codebooks where they fit in min(16 KiB, the device's limit)
// (16 KiB keeps several workgroups resident per compute unit), single buffering next,
// codebooks read from memory last (per-channel codebooks of 6-8 bits).
// block: 0 = the device's choice, 8 or 4 = that block (tests, experiments).
// math_fp16: the fp16-arithmetic flavour (its tiles take half the shared memory).
IgemmConvConfig choose_igemm_config(const PhysicalDeviceInfo& device, uint32_t bits,
                                    bool per_channel, uint32_t block = 0, bool math_fp16 = false);
uint64_t igemm_shared_bytes(const IgemmConvConfig& c, uint32_t bits, bool per_channel);
// fp16: half activation storage; the arithmetic follows c.math_fp16.
std::string igemm_shader_name(const IgemmConvConfig& c, bool fp16);

// Dense: words per (input channel, output channel) group, 9. Indices: words per
// (chunk, output channel), 4 * igemm_index_chunks(bits).vec4s.
uint32_t igemm_group_words(uint32_t bits);
// Binding 2: dense fp32 weights as raw bits, [Cin][Cout][9]; indices as 128-bit chunks
// (igemm_pack_index_chunks) from the model's packed rows. The layer must have passed
// validate_model.
std::vector<uint32_t> igemm_repack_weights(const Layer& layer);

class Conv3x3IgemmOp final : public Conv3x3Op, public DispatchDiagnostics {
 public:
  // block: as for choose_igemm_config(); args.math_fp16 picks the fp16-arithmetic
  // flavour, which needs shaderFloat16 enabled on the device (throws otherwise).
  explicit Conv3x3IgemmOp(const Conv3x3Args& args, uint32_t block = 0);

  void bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) override;
  ConvAlgorithm algorithm() const override { return ConvAlgorithm::Igemm; }
  uint32_t workgroup_size() const override { return config_.workgroup(); }
  uint32_t channel_block() const override { return config_.tn; }
  // Pixels of the GEMM's M dimension (which runs across rows and images) per invocation.
  uint32_t pixel_block() const override { return config_.tm; }
  std::string tile_details() const override;
  const IgemmConvConfig& config() const { return config_; }
  // The repacked index chunks (or dense groups), codebooks and bias.
  uint64_t weight_bytes() const override {
    return words_.size() + codebooks_.size() + bias_.size();
  }

  // Split-K (conv3x3_splitk.h): the K slices record() dispatches for `batch` images (1 =
  // the fused kernel alone), from the chooser or Conv3x3Args::tuning.igemm_split_k.
  uint32_t split_k(uint32_t batch) const override;
  // Input channels per K slice are a multiple of this (the index chunk's R; 1 when dense).
  uint32_t split_granule() const;
  // Workgroups of the igemm dispatch for `batch` images at split_k(batch).
  uint64_t workgroups(uint32_t batch) const override;
  // The reduction's pipeline when some batch up to max_batch splits, else null.
  const ComputePipeline* reduce_pipeline() const { return reduce_pipeline_.get(); }
  uint64_t workspace_bytes() const override { return workspace_bytes_; }
  void set_workspace(VkBuffer workspace) override {
    workspace_ = workspace;
    workspace_set_ = true;
  }
  std::vector<const ComputePipeline*> extra_pipelines() const override;
  const DispatchDiagnostics* diagnostics() const override { return this; }

 private:
  // Splits along x beyond maxComputeWorkGroupCount[0].
  void record_dispatches(VkCommandBuffer cmd, uint32_t batch) const override;

  uint32_t bits_ = 0;
  bool per_channel_ = false;
  uint32_t codebook_size_ = 0;
  uint32_t group_words_ = 0;
  IgemmConvConfig config_;
  Buffer words_, codebooks_, bias_;
  // Split-K: forced slices (0 = chooser), the chooser's compute units (0 = no split),
  // whether it is a CPU device, the pipelines and sets of the split path.
  uint32_t forced_split_ = 0;
  uint32_t compute_units_ = 0;
  bool cpu_device_ = false;
  uint64_t workspace_bytes_ = 0;
  VkBuffer workspace_ = VK_NULL_HANDLE;  // null on a compile-only device
  bool workspace_set_ = false;
  std::unique_ptr<ComputePipeline> split_pipeline_, reduce_pipeline_;
  VkDescriptorSet split_set_ = VK_NULL_HANDLE, reduce_set_ = VK_NULL_HANDLE;
};

}  // namespace repvk
