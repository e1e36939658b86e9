// SPDX-License-Identifier: MIT
// Plans a validated model onto a device and records it: weights uploaded once,
// activations ping-pong through a two-buffer arena sized for one chunk of images,
// every layer recorded into one command buffer with a barrier between layers.
#include "repvk/network.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ops/conv3x3.h"
#include "ops/op_kind.h"
#include "ops/preprocess_image.h"
#include "runtime/memory.h"
#include "runtime/pipeline.h"
#include "repvk/error.h"
#include "repvk_internal/network_tuning.h"

namespace repvk {

std::vector<uint32_t> activation_element_bytes(const Model& model, Precision precision) {
  const bool half = precision == Precision::Fp16;
  std::vector<uint32_t> bytes;
  bytes.reserve(model.layers.size() + 1);
  bytes.push_back(half ? 2 : 4);
  for (const Layer& layer : model.layers)
    bytes.push_back(half && layer_output_can_be_half(layer.type) ? 2 : 4);
  return bytes;
}

namespace {

// An explicit option wins; Auto is the conv factory's measured default, which the FC
// layers follow too (OpPlan::conv_algorithm).
ConvAlgorithm resolve_conv_algorithm(ConvAlgorithm requested, const PhysicalDeviceInfo& info) {
  return requested != ConvAlgorithm::Auto ? requested : default_conv_algorithm(info);
}

// Milliseconds between two timestamp query results. Only the low
// timestamp_valid_bits of a query are meaningful, so the difference is masked to
// them (which also handles one wrap-around).
double ticks_to_ms(uint64_t begin, uint64_t end, const DeviceLimits& limits) {
  const uint32_t bits = limits.timestamp_valid_bits;
  const uint64_t mask = bits >= 64 ? ~uint64_t(0) : ((uint64_t(1) << bits) - 1);
  return double((end - begin) & mask) * limits.timestamp_period_ns * 1e-6;
}

Precision resolve_precision(const Device& device, Precision requested) {
  switch (requested) {
    case Precision::Fp32:
      return Precision::Fp32;
    case Precision::Fp16:
      if (!device.enabled().storage_16bit)
        throw Error("fp16 precision requested but " + device.info().name +
                    " has no 16-bit storage buffer access enabled (use fp32)");
      return Precision::Fp16;
    case Precision::Auto:
      break;
  }
  // fp16 is never chosen just because it exists: it is 12x slower on lavapipe and
  // wrong on some mobile drivers. Until a per-device measurement picks it, Auto is fp32.
  return Precision::Fp32;
}

// Fp16Math resolved for a network whose conv layers run `conv` (never Auto): only the
// igemm kernel has an fp16-arithmetic flavour, and Auto takes it only where the
// device's measurement (run here, once per Device) found it faster.
bool resolve_fp16_math(Device& device, const Model& model, ConvAlgorithm conv, Fp16Math requested,
                       const std::function<void(const std::string&)>& note) {
  const bool igemm =
      conv == ConvAlgorithm::Igemm &&
      std::any_of(model.layers.begin(), model.layers.end(),
                  [](const Layer& l) { return l.type == LayerType::Conv3x3; });
  switch (requested) {
    case Fp16Math::Off:
      return false;
    case Fp16Math::On:
      if (!device.enabled().float16)
        throw Error("fp16 math requested but " + device.info().name +
                    " has no shaderFloat16 enabled (use --fp16-math off or auto)");
      return igemm;
    case Fp16Math::Auto:
      break;
  }
  if (!igemm || !device.enabled().float16 || device.compile_only()) return false;
  const Fp16MathMeasurement m = measure_fp16_math(device);
  const std::string text =
      m.measured ? "fp16 math " + std::string(m.use_fp16 ? "on" : "off") + ": fp32 " +
                       std::to_string(m.fp32_ms) + " ms, fp16 " + std::to_string(m.fp16_ms) +
                       " ms (" + m.shape + ", medians)"
                 : "fp16 math off: " + m.reason;
  if (note)
    note(text);
  else
    device.log(LogLevel::Info, text);
  return m.use_fp16;
}

}  // namespace

struct Network::Impl {
  Device& device;
  Model model;
  NetworkOptions options;
  Precision precision = Precision::Fp32;
  ConvAlgorithm conv_algorithm = ConvAlgorithm::Tiled;
  bool fp16_math = false;
  std::vector<TensorShape> shapes;  // activation shape after each layer
  std::vector<uint32_t> elem_bytes; // activation_element_bytes(): [0] input, [i + 1] layer i
  uint32_t chunk = 1;               // images per submission

  std::unique_ptr<PipelineCache> cache;
  std::unique_ptr<DescriptorArena> descriptors;
  std::vector<std::unique_ptr<Op>> ops;
  std::vector<std::string> op_names;
  std::vector<LayerPipelines> layer_pipelines;

  // Layer i reads `inputs[i]`, writes `outputs[i]`.
  std::vector<VkBuffer> inputs, outputs;
  Buffer input;            // first layer's input, activation type
  Buffer ping, pong;       // intermediate activations
  Buffer logits, probs;    // fp32 outputs
  // Scratch shared by the ops that need one (conv3x3_igemm's split-K partials), sized
  // for the largest; absent when none does.
  Buffer workspace;
  Buffer input_staging, output_staging;  // only when the device buffers are not mappable
  int logits_layer = -1;   // index of the layer that writes logits
  bool has_softmax = false;

  VkQueryPool timestamps = VK_NULL_HANDLE;
  // The image path's own pool (see the end of this file): query 0 before the
  // preprocess dispatch, 1 after it, 2 + i after layer i.
  VkQueryPool image_timestamps = VK_NULL_HANDLE;
  std::vector<double> layer_ms;
  double total_ms = 0;
  std::unique_ptr<CommandContext> commands;

  // GPU image input (created on first use; see the end of this file).
  std::unique_ptr<PreprocessImageOp> image_op;
  std::unique_ptr<CommandContext> image_commands;
  bool image_result_pending = false;  // an image classification was recorded or submitted

  Impl(Device& d, const Model& m, const NetworkOptions& o) : device(d), model(m), options(o) {}
  ~Impl() {
    if (timestamps) vkDestroyQueryPool(device.handle(), timestamps, nullptr);
    if (image_timestamps) vkDestroyQueryPool(device.handle(), image_timestamps, nullptr);
  }

  bool input_half() const { return elem_bytes.front() == 2; }

  void build();
  // host_input: the input comes from the host (staging copy, timestamps); false for
  // the GPU image path, whose preprocess dispatch has already written `input`.
  void record(VkCommandBuffer cmd, uint32_t batch, bool read_logits, bool host_input = true);
  void record_image(VkCommandBuffer cmd, const ImageInput& image);
  void read_image_timestamps();
  void run_chunk(const float* in, uint32_t batch, float* out, bool read_logits);
  // Splits `batch` into chunks: short submissions keep integrated GPUs clear of
  // driver watchdogs, and every buffer stays under maxStorageBufferRange.
  std::vector<float> run(const float* in, uint32_t batch, bool read_logits);
};

std::vector<float> Network::Impl::run(const float* in, uint32_t batch, bool read_logits) {
  if (device.compile_only())
    throw Error("cannot run inference on " + device.info().name + ": " +
                device.info().not_runnable_reason);
  const uint32_t classes = model.num_classes();
  const size_t per_image = size_t(model.input.channels) * model.input.height * model.input.width;
  std::vector<float> out(size_t(batch) * classes);
  if (image_commands) image_commands->wait();  // it shares the input and output buffers
  std::fill(layer_ms.begin(), layer_ms.end(), 0.0);
  total_ms = 0;
  for (uint32_t done = 0; done < batch;) {
    const uint32_t n = std::min(chunk, batch - done);
    run_chunk(in + done * per_image, n, out.data() + size_t(done) * classes, read_logits);
    done += n;
  }
  return out;
}

void Network::Impl::build() {
  shapes = validate_model(model, model.name.empty() ? "model" : model.name);
  precision = resolve_precision(device, options.precision);
  const NetworkTuning& knobs = tuning(options);
  conv_algorithm = resolve_conv_algorithm(knobs.conv_algorithm, device.info());
  fp16_math = resolve_fp16_math(device, model, conv_algorithm, options.fp16_math, options.on_note);
  if (options.max_batch == 0) throw InvalidArgument("NetworkOptions::max_batch must be at least 1");

  const InputSpec& in = model.input;
  const TensorShape input_shape{in.channels, in.height, in.width};
  const size_t layers = model.layers.size();
  has_softmax = model.layers.back().type == LayerType::Softmax;
  logits_layer = static_cast<int>(has_softmax ? layers - 2 : layers - 1);

  // Chunk size: as many images as fit every buffer under the device's limits.
  elem_bytes = activation_element_bytes(model, precision);
  uint64_t max_act = input_shape.elements() * elem_bytes[0];
  for (size_t i = 0; i < layers; ++i)
    max_act = std::max<uint64_t>(max_act, shapes[i].elements() * elem_bytes[i + 1]);
  const uint64_t limit = std::min<uint64_t>(device.info().limits.max_storage_buffer_range,
                                            device.info().limits.max_memory_allocation_size
                                                ? device.info().limits.max_memory_allocation_size
                                                : UINT64_MAX);
  if (max_act > limit)
    throw Error("one image's activations (" + std::to_string(max_act) +
                " bytes) exceed the device's storage buffer limit (" + std::to_string(limit) + ")");
  chunk = static_cast<uint32_t>(std::min<uint64_t>(options.max_batch, limit / max_act));
  chunk = std::min<uint32_t>(chunk, device.info().limits.max_workgroup_count[2]);
  if (options.max_submit_gflop > 0) {
    double gflop_per_image = 0;
    for (const LayerStats& s : model_stats(model)) gflop_per_image += double(s.flops) * 1e-9;
    if (gflop_per_image > 0) {
      const double fit = options.max_submit_gflop / gflop_per_image;
      chunk = std::min<uint32_t>(chunk, static_cast<uint32_t>(std::max(1.0, fit)));
    }
  }
  chunk = std::max<uint32_t>(chunk, 1);

  std::string cache_path = options.pipeline_cache_path;
  if (cache_path.empty())
    cache_path = options.pipeline_cache_dir.empty()
                     ? std::string("none")
                     : PipelineCache::default_path(device.info(), options.pipeline_cache_dir);
  cache = std::make_unique<PipelineCache>(device, cache_path, options.pipeline_cache,
                                          options.on_note);

  const uint32_t classes = model.num_classes();
  input = Buffer(device, input_shape.elements() * elem_bytes[0] * chunk, MemoryUsage::DeviceLocal);
  ping = Buffer(device, max_act * chunk, MemoryUsage::DeviceLocal);
  pong = Buffer(device, max_act * chunk, MemoryUsage::DeviceLocal);
  logits = Buffer(device, uint64_t(classes) * 4 * chunk, MemoryUsage::DeviceLocal);
  probs = Buffer(device, uint64_t(classes) * 4 * chunk, MemoryUsage::DeviceLocal);
  if (!input.host_visible())
    input_staging = Buffer(device, input.size(), MemoryUsage::Upload);
  if (!logits.host_visible() || !probs.host_visible())
    output_staging = Buffer(device, uint64_t(classes) * 4 * chunk, MemoryUsage::Readback);

  TensorShape cur = input_shape;
  VkBuffer src = input.handle();
  DescriptorCounts needed;
  // Every op's weights in one staged submission (where the device needs staging).
  UploadBatch weights(device);
  for (size_t i = 0; i < layers; ++i) {
    const Layer& layer = model.layers[i];
    VkBuffer dst;
    if (static_cast<int>(i) == logits_layer) dst = logits.handle();
    else if (has_softmax && i == layers - 1) dst = probs.handle();
    else dst = (src == ping.handle()) ? pong.handle() : ping.handle();
    const size_t pipelines_before = device.created_pipelines().size();
    const OpPlan plan{device,          cache->handle(),       layer,           cur,
                      elem_bytes[i] == 2, elem_bytes[i + 1] == 2, conv_algorithm, chunk,
                      ConvTuningOverride{knobs.conv_tile, knobs.conv_subgroup_broadcast,
                                         knobs.igemm_split_k, knobs.compute_units},
                      fp16_math};
    ops.push_back(op_kind(layer.type).create(plan));
    needed.add(ops.back()->pipeline());
    for (const ComputePipeline* extra : ops.back()->extra_pipelines()) needed.add(*extra);
    op_names.push_back(ops.back()->name());
    std::vector<CreatedPipeline> layer_created;
    if (device.captures_pipeline_statistics()) {
      const std::vector<CreatedPipeline> created = device.created_pipelines();
      layer_created.assign(created.begin() + long(pipelines_before), created.end());
    } else {  // shaders and handles only: the specialization constants are not kept
      const ComputePipeline& main = ops.back()->pipeline();
      layer_created.push_back({main.shader_name(), {}, main.handle()});
      for (const ComputePipeline* extra : ops.back()->extra_pipelines())
        layer_created.push_back({extra->shader_name(), {}, extra->handle()});
    }
    LayerPipelines lp{op_names.back(), std::move(layer_created)};
    if (const DispatchDiagnostics* d = ops.back()->diagnostics()) {
      lp.split_k = d->split_k(chunk);
      lp.workgroups = d->workgroups(chunk);
    }
    layer_pipelines.push_back(std::move(lp));
    inputs.push_back(src);
    outputs.push_back(dst);
    src = dst;
    cur = shapes[i];
  }
  weights.submit();
  uint64_t workspace_bytes = 0;
  for (const auto& op : ops) workspace_bytes = std::max(workspace_bytes, op->workspace_bytes());
  if (workspace_bytes > limit)
    throw Error("the split-K workspace (" + std::to_string(workspace_bytes) +
                " bytes) exceeds the device's storage buffer limit (" + std::to_string(limit) + ")");
  if (workspace_bytes) {
    workspace = Buffer(device, workspace_bytes, MemoryUsage::DeviceLocal);
    for (const auto& op : ops)
      if (op->workspace_bytes()) op->set_workspace(workspace.handle());
  }
  // Sized from what the ops' pipelines bind, one set each.
  descriptors = std::make_unique<DescriptorArena>(device, needed);
  for (size_t i = 0; i < layers; ++i) ops[i]->bind(*descriptors, inputs[i], outputs[i]);

  if (options.timestamps && device.enabled().timestamps && !device.compile_only()) {
    VkQueryPoolCreateInfo qci{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    qci.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qci.queryCount = static_cast<uint32_t>(layers + 1);
    vk_check(vkCreateQueryPool(device.handle(), &qci, nullptr, &timestamps), "vkCreateQueryPool");
  }
  layer_ms.assign(layers, 0.0);
  // A compile-only device cannot even create fences; it never runs anything.
  if (!device.compile_only()) commands = std::make_unique<CommandContext>(device);
  try {
    cache->save();
  } catch (const Error&) {
    // A read-only cache directory must not stop inference; the destructor warns.
  }
}

void Network::Impl::record(VkCommandBuffer cmd, uint32_t batch, bool read_logits,
                           bool host_input) {
  const uint32_t classes = model.num_classes();
  // The image path resets its pool and writes its first two queries itself.
  const VkQueryPool pool = host_input ? timestamps : image_timestamps;
  const uint32_t first_layer_query = host_input ? 1 : 2;
  const bool timed = pool != VK_NULL_HANDLE;
  if (host_input && input_staging.valid()) {
    VkBufferCopy region{0, 0, input.size() / chunk * batch};
    vkCmdCopyBuffer(cmd, input_staging.handle(), input.handle(), 1, &region);
    record_compute_barrier(cmd);
  }
  if (timed && host_input) {
    vkCmdResetQueryPool(cmd, timestamps, 0, static_cast<uint32_t>(ops.size() + 1));
    vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, timestamps, 0);
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    ops[i]->record(cmd, batch);
    if (timed)
      vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, pool,
                          static_cast<uint32_t>(i + first_layer_query));
    record_compute_barrier(cmd);
  }
  if (output_staging.valid()) {
    const Buffer& src = (read_logits || !has_softmax) ? logits : probs;
    VkBufferCopy region{0, 0, uint64_t(classes) * 4 * batch};
    vkCmdCopyBuffer(cmd, src.handle(), output_staging.handle(), 1, &region);
  }
  VkMemoryBarrier host{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  host.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &host, 0, nullptr, 0, nullptr);
}

void Network::Impl::run_chunk(const float* in, uint32_t batch, float* out, bool read_logits) {
  const uint32_t per_image = model.input.channels * model.input.height * model.input.width;
  const size_t values = size_t(per_image) * batch;
  Buffer& host_input = input_staging.valid() ? input_staging : input;
  if (input_half()) {
    auto* dst = static_cast<uint16_t*>(host_input.mapped());
    for (size_t i = 0; i < values; ++i) dst[i] = float_to_half(in[i]);
  } else {
    std::memcpy(host_input.mapped(), in, values * sizeof(float));
  }
  host_input.flush_host_writes();

  VkCommandBuffer cmd = commands->begin();
  record(cmd, batch, read_logits);
  commands->end_submit_wait();

  const uint32_t classes = model.num_classes();
  const Buffer& result =
      output_staging.valid() ? output_staging : ((read_logits || !has_softmax) ? logits : probs);
  result.invalidate_for_host_reads();
  std::memcpy(out, result.mapped(), size_t(classes) * batch * sizeof(float));

  if (timestamps) {
    std::vector<uint64_t> ticks(ops.size() + 1);
    vk_check(vkGetQueryPoolResults(device.handle(), timestamps, 0,
                                   static_cast<uint32_t>(ticks.size()), ticks.size() * 8,
                                   ticks.data(), 8, VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
             "vkGetQueryPoolResults");
    const DeviceLimits& limits = device.info().limits;
    for (size_t i = 0; i < ops.size(); ++i)
      layer_ms[i] += ticks_to_ms(ticks[i], ticks[i + 1], limits);
    total_ms += ticks_to_ms(ticks.front(), ticks.back(), limits);
  }
}

Network::Network(Device& device, const Model& model, const NetworkOptions& options)
    : impl_(std::make_unique<Impl>(device, model, options)) {
  impl_->build();
}

Network::~Network() = default;

const Model& Network::model() const { return impl_->model; }
Precision Network::precision() const { return impl_->precision; }
bool Network::fp16_math() const { return impl_->fp16_math; }
const char* Network::conv_kernel() const { return conv_algorithm_name(impl_->conv_algorithm); }
uint32_t Network::num_classes() const { return impl_->model.num_classes(); }
uint32_t Network::input_size() const {
  const InputSpec& in = impl_->model.input;
  return in.channels * in.height * in.width;
}

// The caller's buffer is checked before anything is read from it.
static void check_input(const char* call, const float* input, size_t input_floats,
                        uint32_t batch, uint32_t per_image) {
  if (batch == 0) throw InvalidArgument(std::string(call) + ": batch is 0");
  const size_t needed = size_t(batch) * per_image;
  if (input_floats < needed)
    throw InvalidArgument(std::string(call) + ": input holds " + std::to_string(input_floats) +
                          " floats, batch " + std::to_string(batch) + " needs " +
                          std::to_string(needed) + " (" + std::to_string(per_image) +
                          " per image)");
  if (!input) throw InvalidArgument(std::string(call) + ": input is null");
}

std::vector<float> Network::infer_logits(const float* input, size_t input_floats,
                                         uint32_t batch) {
  check_input("infer_logits", input, input_floats, batch, input_size());
  return impl_->run(input, batch, true);
}

std::vector<float> Network::infer_logits(const std::vector<float>& input, uint32_t batch) {
  return infer_logits(input.data(), input.size(), batch);
}

std::vector<float> Network::infer(const float* input, size_t input_floats, uint32_t batch) {
  check_input("infer", input, input_floats, batch, input_size());
  return impl_->run(input, batch, false);
}

std::vector<float> Network::infer(const std::vector<float>& input, uint32_t batch) {
  return infer(input.data(), input.size(), batch);
}

std::vector<float> Network::classify(const Image& image) {
  return infer(preprocess(image, impl_->model.input), 1);
}

std::vector<uint64_t> Network::layer_weight_bytes() const {
  std::vector<uint64_t> out;
  out.reserve(impl_->ops.size());
  for (const auto& op : impl_->ops) out.push_back(op->weight_bytes());
  return out;
}

std::vector<LayerTiming> Network::last_timings() const {
  std::vector<LayerTiming> out;
  if (!impl_->timestamps) return out;
  for (size_t i = 0; i < impl_->ops.size(); ++i) out.push_back({impl_->op_names[i], impl_->layer_ms[i]});
  return out;
}

std::vector<LayerPipelines> Network::pipelines() const { return impl_->layer_pipelines; }

double Network::last_gpu_ms() const { return impl_->timestamps ? impl_->total_ms : 0.0; }

}  // namespace repvk

// ---- GPU image input ----------------------------------------------------------------
// Kept apart from the host path above: the preprocess dispatch replaces the staging
// copy, and the result stays in host-visible memory until read_result().
namespace repvk {

void Network::Impl::record_image(VkCommandBuffer cmd, const ImageInput& image) {
  if (device.compile_only())
    throw Error("cannot classify on " + device.info().name + ": " +
                device.info().not_runnable_reason);
  if (!image_op)
    image_op = std::make_unique<PreprocessImageOp>(device, cache->handle(), model.input, input_half(),
                                                   input.handle());
  if (timestamps && !image_timestamps) {
    VkQueryPoolCreateInfo qci{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    qci.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qci.queryCount = static_cast<uint32_t>(ops.size() + 2);
    vk_check(vkCreateQueryPool(device.handle(), &qci, nullptr, &image_timestamps),
             "vkCreateQueryPool");
  }
  image_op->bind(image);
  if (image_timestamps) {
    vkCmdResetQueryPool(cmd, image_timestamps, 0, static_cast<uint32_t>(ops.size() + 2));
    vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, image_timestamps, 0);
  }
  // Earlier reads of `input` (a previous submission on this queue) before we overwrite it.
  record_compute_barrier(cmd);
  image_op->record(cmd, image);
  if (image_timestamps)
    vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, image_timestamps, 1);
  record_compute_barrier(cmd);
  record(cmd, 1, false, false);
}

// Called once the classification has completed, so the results are available and
// the wait below returns at once. Per-layer times exclude the preprocess dispatch;
// the total includes it.
void Network::Impl::read_image_timestamps() {
  if (!image_timestamps) return;
  std::vector<uint64_t> ticks(ops.size() + 2);
  vk_check(vkGetQueryPoolResults(device.handle(), image_timestamps, 0,
                                 static_cast<uint32_t>(ticks.size()), ticks.size() * 8,
                                 ticks.data(), 8, VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
           "vkGetQueryPoolResults");
  const DeviceLimits& limits = device.info().limits;
  for (size_t i = 0; i < ops.size(); ++i)
    layer_ms[i] = ticks_to_ms(ticks[i + 1], ticks[i + 2], limits);
  total_ms = ticks_to_ms(ticks.front(), ticks.back(), limits);
}

void Network::record_classify_image(VkCommandBuffer cmd, const ImageInput& image) {
  if (cmd == VK_NULL_HANDLE)
    throw InvalidArgument("record_classify_image: command buffer is null");
  if (impl_->image_commands && !impl_->image_commands->done())
    throw Error("record_classify_image: a submit_classify_image() is still in flight");
  impl_->record_image(cmd, image);
  impl_->image_result_pending = true;
}

void Network::submit_classify_image(const ImageInput& image, const SubmitSync& sync) {
  if (!impl_->image_commands)
    impl_->image_commands = std::make_unique<CommandContext>(impl_->device);
  PreprocessImageOp::validate(image);
  VkCommandBuffer cmd = impl_->image_commands->begin();  // waits for a previous submission
  impl_->record_image(cmd, image);
  impl_->image_commands->end_submit(sync);
  impl_->image_result_pending = true;
}

bool Network::result_ready() const {
  return !impl_->image_commands || impl_->image_commands->done();
}

std::vector<float> Network::read_result() {
  Impl& m = *impl_;
  if (!m.image_result_pending)
    throw Error("read_result: no image was classified with record_/submit_classify_image");
  if (m.image_commands) m.image_commands->wait();
  const Buffer& result =
      m.output_staging.valid() ? m.output_staging : (m.has_softmax ? m.probs : m.logits);
  result.invalidate_for_host_reads();
  std::vector<float> out(m.model.num_classes());
  std::memcpy(out.data(), result.mapped(), out.size() * sizeof(float));
  m.read_image_timestamps();
  return out;
}

std::vector<float> Network::classify_image(const ImageInput& image) {
  submit_classify_image(image);
  return read_result();
}

}  // namespace repvk
