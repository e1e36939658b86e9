// Host side of shaders/conv3x3_igemm.comp: the implicit-GEMM conv3x3 (M = N*OH*OW output
// pixels, N = Cout, K = 9*Cin), the default on GPUs. Weights are repacked once at load
// time into one small word group per (input channel, output channel), so that the tile
// fill reads each group with one vector load; codebooks stay codebooks.
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
#include "repvk/network.h"

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

// Words per (input channel, output channel) group: ceil(9 / (32 / bits)), 9 when dense.
uint32_t igemm_group_words(uint32_t bits);
// The group layout of binding 2: [Cin][Cout][group_words], from the model's packed rows
// (or dense fp32 weights, as raw bits). The layer must have passed validate_model.
std::vector<uint32_t> igemm_repack_weights(const Layer& layer);

class Conv3x3IgemmOp final : public Conv3x3Op {
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

 private:
  // Splits along x beyond maxComputeWorkGroupCount[0].
  void record_dispatches(VkCommandBuffer cmd, uint32_t batch) const override;

  uint32_t bits_ = 0;
  bool per_channel_ = false;
  uint32_t codebook_size_ = 0;
  uint32_t group_words_ = 0;
  IgemmConvConfig config_;
  Buffer words_, codebooks_, bias_;
};

}  // namespace repvk
