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
#include "repvk/image_input.h"
#include "repvk/model.h"

namespace repvk {

enum class Precision {
  Auto,  // fp16 activations only where the device has them and measured faster
  Fp32,  // Vulkan 1.1 core only; always available
  Fp16,  // fp16 activation storage, fp32 accumulation; throws if unsupported
};
REPVK_API const char* precision_name(Precision p);

// Bytes per element of every activation a Network stores at `precision` (Fp32 or
// Fp16; Auto is taken as Fp32): [0] the network input, [i + 1] the output of layer i.
// The one place the fp16 rule is applied: in fp16 mode the input and the outputs of
// kinds that layer_output_can_be_half() are half, everything else fp32.
REPVK_API std::vector<uint32_t> activation_element_bytes(const Model& model, Precision precision);

// The conv3x3 kernel. Direct is the first correct version (shaders/conv3x3.comp), kept
// as the baseline that speedups are measured against; Tiled is the register-blocked
// kernel that decodes codebook tiles in shared memory (shaders/conv3x3_tiled.comp);
// Texel reads activations and load-time-expanded fp32 weights through texel buffers
// (shaders/conv3x3_texel.comp), which is what CPU drivers such as lavapipe run fast,
// at the cost of holding each conv layer's weights as fp32; Igemm is the implicit-GEMM
// kernel for GPUs (shaders/conv3x3_igemm.comp: shared-memory tiles of activations and
// decoded codebook weights, register-prefetched). Auto is Texel on CPU devices and
// Igemm elsewhere (docs/benchmarks.md, "Kernel log", "Shader statistics"); $REPVK_CONV sets
// the option through options_from_environment() (repvk/environment.h). A layer that
// Texel cannot run within the device's texel-buffer limits falls back to Tiled. The FC
// layers follow the choice: under Texel they read through texel buffers too
// (shaders/fully_connected_texel.comp), where those limits allow it.
enum class ConvAlgorithm { Auto, Direct, Tiled, Texel, Igemm };
REPVK_API const char* conv_algorithm_name(ConvAlgorithm a);
// "auto", "direct", "tiled", "texel", "igemm"; throws repvk::Error on anything else.
REPVK_API ConvAlgorithm parse_conv_algorithm(const std::string& name);

// fp16 arithmetic in conv3x3_igemm (fp16 products of one K stage summed in fp16, then
// added into fp32 accumulators; shaders/conv3x3_igemm.comp, MATH_FP16). Independent of
// Precision, which is the activation storage. Auto: only where shaderFloat16 is enabled
// on the Device and measure_fp16_math() found it faster there, never because it exists;
// On: wherever igemm runs (throws without shaderFloat16); Off: never. $REPVK_FP16_MATH
// sets it through options_from_environment() (repvk/environment.h).
enum class Fp16Math { Auto, On, Off };
REPVK_API const char* fp16_math_name(Fp16Math m);
// "auto", "on", "off"; throws repvk::Error on anything else.
REPVK_API Fp16Math parse_fp16_math(const std::string& name);

// Times the fp32 and the fp16-arithmetic conv3x3_igemm pipelines on one representative
// layer (64->64 channels, 28x28, batch 4, 4-bit per-channel codebooks; 16->16, 14x14,
// batch 1 on CPU devices), 2 warm-up and 7 timed runs each, interleaved; medians by
// timestamp queries where the compute queue has them, host fence time otherwise. fp16 is
// chosen when its median is at least 5% below fp32's. Runs at most once per Device
// (thread-safe; the record is cached in it, Device::cached_fp16_math()); on a device
// without shaderFloat16 enabled, or one that cannot execute, it times nothing and
// returns measured = false with the reason. Network calls it under Fp16Math::Auto when
// one of its conv layers runs igemm.
REPVK_API Fp16MathMeasurement measure_fp16_math(Device& device);

// conv3x3 tile sizes for tuning experiments ($REPVK_CONV_TILE, repvk/environment.h).
// All zero: the per-device table in src/ops/conv3x3_tuning.cpp.
struct ConvTileOverride {
  uint32_t px = 0, oc = 0, workgroup = 0, cin_chunk = 0;
};

struct NetworkOptions {
  Precision precision = Precision::Auto;
  ConvAlgorithm conv_algorithm = ConvAlgorithm::Auto;
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
  // Tuning experiments ($REPVK_CONV_TILE, $REPVK_CONV_SG). The tiled kernel takes
  // conv_tile when all four numbers are non-zero, the texel kernel when px, oc and
  // workgroup are; either is then clamped to what the device allows.
  ConvTileOverride conv_tile;
  // false: never the subgroup-broadcast (_sg8) variant of the tiled kernel.
  bool conv_subgroup_broadcast = true;
  // conv3x3_igemm's split-K (small layers on big GPUs): 0 = the chooser's count of K
  // slices per layer and batch; N = N slices on every igemm layer (clamped to Cin; 1 =
  // never split). Tests and benchmarks.
  uint32_t igemm_split_k = 0;
  // The chooser plans as for a GPU with this many compute units; 0 = the device's own
  // count (estimate_compute_units()), and none on a CPU device.
  uint32_t compute_units = 0;
  // The application's own VkPipelineCache (borrowed: never destroyed, saved or
  // loaded by repvk). When set, pipeline_cache_path is ignored and repvk's pipelines
  // land in the app's cache, which it persists however it already does.
  VkPipelineCache pipeline_cache = VK_NULL_HANDLE;
  // Optional: receives one-line notes on what the engine did that a user may want
  // to know with --verbose (pipeline cache loaded, ignored and why, rewritten).
  std::function<void(const std::string&)> on_note;
  // fp16 arithmetic in the igemm conv (see Fp16Math).
  Fp16Math fp16_math = Fp16Math::Auto;
};

// The pipelines one layer dispatches (Network::pipelines()).
struct LayerPipelines {
  std::string layer;                        // e.g. "conv3x3 #3 (64->128, s2)"
  std::vector<CreatedPipeline> pipelines;   // kernel (shader), variant (spec), handle
  // At the planned batch (NetworkOptions::max_batch, or the chunk): conv3x3_igemm's K
  // slices (1 = unsplit; the reduction's pipeline is then not among `pipelines` unless a
  // smaller batch splits) and the workgroups of its main dispatch (0 = other kernels).
  uint32_t split_k = 1;
  uint64_t workgroups = 0;
};

struct LayerTiming {
  std::string name;   // e.g. "conv3x3 #3 (64->128, s2)"
  double gpu_ms = 0;  // summed over the chunks of the last run
};

// An 8-bit image as decoded from a file: interleaved, 1 (gray), 3 (RGB) or 4 (RGBA) channels.
struct Image {
  uint32_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

// Resizes (bilinear), converts gray/RGB to the model's channel count and normalizes
// with the model's mean/std; returns CHW floats of size input.channels*height*width.
REPVK_API std::vector<float> preprocess(const Image& image, const InputSpec& input);

struct Prediction {
  uint32_t label = 0;
  float probability = 0;
};
// Top-k labels of one probability vector, highest first.
REPVK_API std::vector<Prediction> top_k(const float* probabilities, uint32_t num_classes,
                                        uint32_t k);

class Network {
 public:
  REPVK_API Network(Device& device, const Model& model, const NetworkOptions& options = {});
  REPVK_API ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  REPVK_API const Model& model() const;
  REPVK_API Precision precision() const;  // resolved: never Auto
  REPVK_API ConvAlgorithm conv_algorithm() const;  // resolved: never Auto
  // Whether the igemm conv layers compute in fp16 (NetworkOptions::fp16_math resolved;
  // false when no layer runs igemm).
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
