// SPDX-License-Identifier: MIT
// The engine bridge: repvk adopts the demo's VkDevice and graphics queue, builds a
// Network per model on first use, and records each classification into the frame's
// command buffer, reading the texture the renderer displays (zero copy). The result
// is read once that frame's fence has signalled; one classification is in flight at
// a time (repvk's rule per Network, kept globally here for simplicity).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <vulkan/vulkan.h>

#include "models.h"
#include "repvk/device.h"
#include "repvk/environment.h"
#include "repvk/image_input.h"
#include "repvk/network.h"

namespace repvk::demo {

class VulkanContext;

struct ClassifierOptions {
  Precision precision = Precision::Auto;
  std::string pipeline_cache;  // NetworkOptions::pipeline_cache_path
  bool verbose = false;        // the engine's info-level log on stderr (warnings always)
  // The base DeviceOptions (adopt) and NetworkOptions the settings above go on.
  EnvironmentOptions environment;
};

// What one classification produced, and for which image and model.
struct Result {
  uint64_t image_id = 0;
  size_t model = 0;
  std::vector<Prediction> top;  // top 5, probabilities (softmax applied if the model ends at logits)
  bool timed = false;           // the queue has timestamps
  double gpu_ms = 0;            // preprocess + every layer, from timestamp queries
  // Not the network's first run. A first run's time includes one-off driver work
  // (lavapipe compiles shaders on first dispatch), so the demo runs it again.
  bool warm = false;
};

class Classifier {
 public:
  Classifier(VulkanContext& ctx, ModelSet models, const ClassifierOptions& options);
  ~Classifier();  // the caller has idled the device
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;

  // repvk's Device, adopted from the context's handles; lives as long as the Classifier.
  const Device& device() const { return *device_; }
  const ModelSet& models() const { return models_; }
  const ModelEntry& model(size_t i) const { return models_.models.at(i); }
  // The precision the networks run at (never Auto once one exists); `precision_note`
  // explains a downgrade from fp16.
  Precision precision() const { return resolved_; }
  const std::string& precision_note() const { return precision_note_; }

  // Creates model `i`'s Network if needed (uploads weights, builds pipelines).
  void prepare(size_t i);

  bool busy() const { return pending_; }
  // Records preprocessing + the whole network for model `i` into `cmd` (recording,
  // outside a render pass, graphics family == repvk's family). `frame` identifies
  // the submission that must complete before the result can be read.
  void record(VkCommandBuffer cmd, size_t i, const ImageInput& input, uint64_t image_id,
              uint64_t frame);
  uint64_t pending_frame() const { return pending_frame_; }
  // Call once the pending frame has completed: reads the probabilities and times.
  Result collect();

  // Destroys every Network except model `keep`'s: their descriptor sets may point at
  // an image view that no longer exists. The device must be idle.
  void drop_networks_except(size_t keep);

 private:
  VulkanContext& ctx_;
  ModelSet models_;
  ClassifierOptions options_;
  Precision precision_ = Precision::Fp32;  // asked for
  Precision resolved_ = Precision::Auto;
  std::string precision_note_;
  std::unique_ptr<Device> device_;
  std::map<size_t, std::unique_ptr<Network>> networks_;
  std::map<size_t, uint64_t> runs_;  // classifications collected per network
  bool pending_ = false;
  size_t pending_model_ = 0;
  uint64_t pending_image_ = 0, pending_frame_ = 0;
};

}  // namespace repvk::demo
