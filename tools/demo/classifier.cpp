// SPDX-License-Identifier: MIT
#include "classifier.h"

#include <cstdio>

#include "repvk/cpu_reference.h"
#include "repvk/error.h"
#include "vk_context.h"

namespace repvk::demo {

Classifier::Classifier(VulkanContext& ctx, ModelSet models, const ClassifierOptions& options)
    : ctx_(ctx), models_(std::move(models)), options_(options) {
  AdoptedHandles h;
  h.instance = ctx.instance;
  h.physical_device = ctx.physical;
  h.device = ctx.device;
  h.queue = ctx.graphics_queue;
  h.queue_family = ctx.graphics_family;
  h.queue_mutex = &ctx.queue_mutex;
  h.storage_16bit_enabled = ctx.storage16_enabled;
  // Only force_fp32 matters to an adopted device; validation is the context's own.
  DeviceOptions dopt;
  dopt.force_fp32 = options.environment.device.force_fp32;
  const bool verbose = options.verbose;
  dopt.on_log = [verbose](LogLevel level, const std::string& message) {
    if (level >= LogLevel::Warning)
      std::fprintf(stderr, "repvk-demo: engine %s: %s\n", log_level_name(level), message.c_str());
    else if (verbose)
      std::fprintf(stderr, "repvk-demo: engine: %s\n", message.c_str());
  };
  device_ = Device::adopt(h, dopt);

  // A device without 16-bit storage (or --fp32) runs fp32, which every Vulkan 1.1
  // device has: asking for fp16 there is not worth failing the demo over.
  precision_ = options.precision;
  if (precision_ == Precision::Fp16 && !device_->enabled().storage_16bit) {
    precision_ = Precision::Fp32;
    precision_note_ = ctx.storage16_available ? "fp16 off (--fp32 or REPVK_FORCE_FP32)"
                                              : "fp16 unavailable on this device";
    std::fprintf(stderr, "repvk-demo: note: %s; running fp32\n", precision_note_.c_str());
  }
}

Classifier::~Classifier() {
  networks_.clear();  // Networks before their Device
  device_.reset();
}

void Classifier::prepare(size_t i) {
  if (networks_.count(i)) return;
  NetworkOptions o = options_.environment.network;
  o.precision = precision_;
  o.max_batch = 1;  // one image at a time: the smallest activation arena
  if (!options_.pipeline_cache.empty()) o.pipeline_cache_path = options_.pipeline_cache;
  networks_[i] = std::make_unique<Network>(*device_, models_.models.at(i).model, o);
  resolved_ = networks_[i]->precision();
}

void Classifier::record(VkCommandBuffer cmd, size_t i, const ImageInput& input,
                        uint64_t image_id, uint64_t frame) {
  if (pending_) throw Error("a classification is already in flight");
  prepare(i);
  networks_.at(i)->record_classify_image(cmd, input);
  pending_ = true;
  pending_model_ = i;
  pending_image_ = image_id;
  pending_frame_ = frame;
}

Result Classifier::collect() {
  if (!pending_) throw Error("no classification to collect");
  pending_ = false;
  Network& net = *networks_.at(pending_model_);
  std::vector<float> probs = net.read_result();
  const Model& m = models_.models.at(pending_model_).model;
  // Like `repvk classify`: a model that ends at its logits still shows probabilities.
  if (!m.layers.empty() && m.layers.back().type != LayerType::Softmax)
    cpu::softmax(probs.data(), 1, net.num_classes(), probs.data());
  Result r;
  r.image_id = pending_image_;
  r.model = pending_model_;
  r.top = top_k(probs.data(), net.num_classes(), 5);
  r.timed = !net.last_timings().empty();
  r.gpu_ms = net.last_gpu_ms();
  r.warm = ++runs_[pending_model_] > 1;
  return r;
}

void Classifier::drop_networks_except(size_t keep) {
  for (auto it = networks_.begin(); it != networks_.end();)
    if (it->first == keep) {
      ++it;
    } else {
      runs_.erase(it->first);
      it = networks_.erase(it);
    }
}

}  // namespace repvk::demo
