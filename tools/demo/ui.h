// SPDX-License-Identifier: MIT
// The ImGui side panel: device, model and bit width, the image, the top-5 classes
// as bars, the GPU time per inference, and the keys. Owns ImGui's context and its
// GLFW backend; the Vulkan backend belongs to the Renderer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "renderer.h"  // Rect

struct GLFWwindow;
struct ImDrawData;

namespace repvk::demo {

struct PanelState {
  std::string device;
  std::string precision;       // "fp32", "fp16"
  std::string precision_note;  // why fp16 is off, if asked for
  std::vector<std::string> model_keys;  // "4-bit" per number key
  size_t model = 0;
  std::string model_name, model_source;
  std::string model_input;  // "3x224x224, 1000 classes, shorter side 256 + centre crop"
  bool synthetic = false;
  std::string synthetic_note;
  std::string image_name, image_size, image_truth, image_note;
  std::string input_notice;  // the image does not suit the model: what it expects, what happened
  size_t image_index = 0, image_count = 0;
  std::string error;  // the last file that could not be opened, and why
  bool have_result = false;
  bool stale = false;  // the result shown is for another image or model (one is running)
  std::vector<std::pair<std::string, float>> top;
  bool timed = false;
  double gpu_ms = 0;
  bool warm = true;  // false: a network's first run, which includes driver warm-up
  bool continuous = false;
};

// What the mouse asked for this frame (keys arrive through Window::events).
struct PanelActions {
  int select_model = -1;
  int step = 0;  // -1 previous, +1 next
  bool random = false;
  bool toggle_continuous = false;
};

class Ui {
 public:
  explicit Ui(GLFWwindow* window);
  ~Ui();
  Ui(const Ui&) = delete;
  Ui& operator=(const Ui&) = delete;

  // Builds this frame's panel on the right of a width x height framebuffer and
  // returns the area left for the image.
  Rect build(const PanelState& state, uint32_t width, uint32_t height, PanelActions& actions);
  ImDrawData* draw_data();
};

}  // namespace repvk::demo
