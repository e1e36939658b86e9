// SPDX-License-Identifier: MIT
// The demo's main loop: input -> image and model state -> one frame that uploads a
// new image if there is one, records its classification, and draws image and panel.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "repvk/environment.h"
#include "repvk/network.h"  // Precision
#include "vk_context.h"
#include "window.h"

namespace repvk::demo {

struct DemoOptions {
  std::vector<std::string> images;       // shown first, before the bundled samples
  std::vector<std::string> model_files;  // --model; empty = model directory
  std::string model_dir;                 // --model-dir; empty = default search
  std::string sample_dir;                // --samples; empty = default search
  uint32_t width = 960, height = 600;
  std::string screenshot;                // write the last frame here and exit
  uint32_t frames = 3;                   // at least this many frames with --screenshot
  std::vector<InputEvent> press;         // --press: keys applied one per classification
  bool json = false;
  ContextOptions context;
  Precision precision = Precision::Auto;
  std::string pipeline_cache;
  bool verbose = false;            // --verbose: the engine's info-level log on stderr
  EnvironmentOptions environment;  // options_from_environment(), read once in main()
};

// Runs until the window closes (or the screenshot is written). Returns the exit
// status; throws NoDisplayError without a display and repvk::Error on failures.
int run_demo(const DemoOptions& options);

}  // namespace repvk::demo
