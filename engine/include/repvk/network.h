// SPDX-License-Identifier: MIT
// A loaded model bound to a Device: weights uploaded once, pipelines created once,
// activations in a reused arena, the whole graph recorded into one command buffer.
//
// Lifetime: a Network copies the Model and refers to its Device, which must outlive it.
// ~Network waits for its own submissions (infer, submit_classify_image) but not for
// command buffers the application recorded with record_classify_image(): wait for
// those before destroying the Network.
// Thread-safety: one thread at a time per Network; different Networks, on one Device
// or several, may be used concurrently.
// Errors: repvk::Error (and VulkanError, ModelError) with a message naming the
// problem; nothing aborts. The C API (repvk/repvk.h) is the no-throw path.
// Synchronization: infer()/classify() block until their result is on the host; the
// GPU image calls below are asynchronous (see docs/embedding.md).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <vulkan/vulkan.h>

#include "repvk/device.h"
#include "repvk/export.h"
#include "repvk/image.h"
#include "repvk/image_input.h"
#include "repvk/model.h"
#include "repvk/precision.h"

namespace repvk {

// Bytes per element of every activation a Network stores at `precision` (Fp32 or
// Fp16; Auto is taken as Fp32): [0] the network input, [i + 1] the output of layer i.
// The one place the fp16 rule is applied: in fp16 mode the input and the outputs of
// kinds that layer_output_can_be_half() are half, everything else fp32.
REPVK_API std::vector<uint32_t> activation_element_bytes(const Model& model, Precision precision);

// Kernel choices and tile sizes for experiments, tools and tests. Opaque here: its
// fields are engine-internal, so new kernels and knobs are no ABI change.
struct NetworkTuning;

// What an application decides; how each kernel runs is the engine's choice.
struct NetworkOptions {
  Precision precision = Precision::Auto;
  uint32_t max_batch = 16;           // images per recorded command buffer (chunk)
  // Caps the work in one submission: APU drivers kill jobs after ~2 s, so a large
  // batch of a heavy model is split further. 0 = no cap beyond max_batch.
  double max_submit_gflop = 16.0;
  bool timestamps = true;            // per-layer GPU timing when the device supports it
  // Pipeline cache file. "" = pipeline_cache_dir/pipelines-<vendor>-<device>.bin, or no
  // file when pipeline_cache_dir is "" too; "none" disables persistence.
  std::string pipeline_cache_path;
  // Where the default cache file lives. "" (the default here): no default file.
  // options_from_environment() (repvk/environment.h) sets ($XDG_CACHE_HOME or ~/.cache)/repvk.
  std::string pipeline_cache_dir;
  // The application's own VkPipelineCache (borrowed: never destroyed, saved or
  // loaded by repvk). When set, pipeline_cache_path is ignored and repvk's pipelines
  // land in the app's cache, which it persists however it already does.
  VkPipelineCache pipeline_cache = VK_NULL_HANDLE;
  // Optional: receives one-line notes on what the engine did that a user may want
  // to know with --verbose (pipeline cache loaded, ignored and why, rewritten).
  std::function<void(const std::string&)> on_note;
  // fp16 arithmetic in the GPU conv kernel (see Fp16Math, repvk/precision.h).
  Fp16Math fp16_math = Fp16Math::Auto;
  // Kernel tuning; null (the default) = the engine's choices. Set by
  // options_from_environment() ($REPVK_CONV, $REPVK_CONV_TILE, $REPVK_CONV_SG) and by
  // repvk's own tools and tests; an application leaves it alone.
  std::shared_ptr<const NetworkTuning> tuning;
};

// The pipelines one layer dispatches (Network::pipelines()).
struct LayerPipelines {
  std::string layer;                        // the op's name, as LayerTiming::name
  std::vector<CreatedPipeline> pipelines;   // kernel (shader), variant (spec), handle
  // At the planned batch (NetworkOptions::max_batch, or the chunk): conv3x3_igemm's K
  // slices (1 = unsplit; the reduction's pipeline is then not among `pipelines` unless a
  // smaller batch splits) and the workgroups of its main dispatch (0 = other kernels).
  uint32_t split_k = 1;
  uint64_t workgroups = 0;
};

struct LayerTiming {
  std::string name;   // e.g. "conv3x3 64->128 s2 28x28 q4/channel relu f32 igemm"
  double gpu_ms = 0;  // summed over the chunks of the last run
};

class Network {
 public:
  REPVK_API Network(Device& device, const Model& model, const NetworkOptions& options = {});
  REPVK_API ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  REPVK_API const Model& model() const;
  REPVK_API Precision precision() const;  // resolved: never Auto
  // The conv kernel the layers run, resolved: "direct", "tiled", "texel" or "igemm"
  // (for reports; which one is the engine's choice).
  REPVK_API const char* conv_kernel() const;
  // Whether the conv layers compute in fp16 (NetworkOptions::fp16_math resolved;
  // false when no layer runs a kernel with fp16 arithmetic).
  REPVK_API bool fp16_math() const;
  REPVK_API uint32_t num_classes() const;
  REPVK_API uint32_t input_size() const;  // floats per image (C*H*W)

  // `batch` preprocessed images (NCHW, input_size() floats each) from `input`, which
  // holds `input_floats` floats, in; batch*num_classes probabilities out. Throws
  // InvalidArgument, before any work, when batch is 0 or input_floats is less than
  // batch*input_size(). Batches beyond max_batch are split into several submissions.
  REPVK_API std::vector<float> infer(const float* input, size_t input_floats, uint32_t batch);
  REPVK_API std::vector<float> infer(const std::vector<float>& input, uint32_t batch);
  // Same, but returns the output of the last layer before softmax (logits).
  REPVK_API std::vector<float> infer_logits(const float* input, size_t input_floats,
                                            uint32_t batch);
  REPVK_API std::vector<float> infer_logits(const std::vector<float>& input, uint32_t batch);
  // Single image convenience: decode-free path from an Image.
  REPVK_API std::vector<float> classify(const Image& image);

  // ---- Classifying an application's VkImage (docs/embedding.md) -------------------
  // One image per call, no host round trip: a compute shader resizes, converts and
  // normalizes the image into the input buffer, then the whole network runs. The
  // result lands in host-visible memory; read it with read_result() once the work has
  // completed. One classification may be in flight per Network: do not record or
  // submit another, nor call infer(), before the previous one completed.

  // Records everything into the application's command buffer, which must be in the
  // recording state, outside a render pass, and allocated from a pool of
  // device().queue_family(). The app submits it and waits (fence, semaphore, idle)
  // before read_result(). Recording again for the same view and layout leaves earlier
  // recordings valid, so a command buffer can be recorded once and resubmitted.
  REPVK_API void record_classify_image(VkCommandBuffer cmd, const ImageInput& image);
  // Same, on repvk's own command buffer and queue: waits on sync's semaphores, signals
  // its semaphores and fence. Returns without blocking.
  REPVK_API void submit_classify_image(const ImageInput& image, const SubmitSync& sync = {});
  // False while a submit_classify_image() is still executing (never blocks).
  REPVK_API bool result_ready() const;
  // The probabilities (logits when the model has no softmax) of the last image
  // classified through the two calls above: num_classes() floats. After
  // submit_classify_image() it waits for completion; after record_classify_image()
  // the application must already have waited for its submission.
  REPVK_API std::vector<float> read_result();
  // submit_classify_image + read_result: blocking convenience.
  REPVK_API std::vector<float> classify_image(const ImageInput& image);

  // GPU times from timestamp queries, of the last infer() call or of the last image
  // classification whose result read_result() returned, whichever came later.
  // Per-layer times; empty without timestamp support (NetworkOptions::timestamps off,
  // or a queue without timestampValidBits).
  REPVK_API std::vector<LayerTiming> last_timings() const;
  // Their total, 0 without timestamp support. For an image classification it also
  // covers the preprocess dispatch, so it is the GPU time of the whole inference.
  REPVK_API double last_gpu_ms() const;
  // Per layer, the device bytes its kernel uploaded at creation: weights in the kernel's
  // own layout (as stored, repacked into the igemm's index chunks, transposed for the fc
  // gemv, expanded to fp32 for the texel kernels), codebooks and bias; 0 for layers
  // without weights. What `repvk bench` divides by a layer's time for its weight bandwidth.
  REPVK_API std::vector<uint64_t> layer_weight_bytes() const;

  // Per layer, the pipelines it uses and its split-K; their specialization constants only
  // on a Device created with DeviceOptions::capture_pipeline_statistics, which also lists
  // every pipeline the layer created (else its main and extra ones). Handles stay valid for
  // the Network's lifetime. On a compile-only Device (Device::compile_only()) a
  // Network only plans: it creates these pipelines, allocates no memory, and every
  // inference call throws.
  REPVK_API std::vector<LayerPipelines> pipelines() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace repvk
