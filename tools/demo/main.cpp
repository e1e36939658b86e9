// SPDX-License-Identifier: MIT
// repvk-demo: classify images in a window whose Vulkan device the engine shares.
// This file parses the command line and maps failures to exit statuses:
// 0 ok, 1 runtime failure (or validation messages), 2 usage error, 3 no display.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "app.h"
#include "driver_workarounds.h"
#include "repvk/environment.h"
#include "repvk/error.h"

#ifndef REPVK_VERSION
#define REPVK_VERSION "unknown"
#endif

namespace {

constexpr int kNoDisplay = 3;

int report(const std::string& message, int status) {
  std::fflush(stdout);
  std::fprintf(stderr, "repvk-demo: error: %s\n", message.c_str());
  return status;
}

bool parse_size(const std::string& text, uint32_t& w, uint32_t& h) {
  unsigned long a = 0, b = 0;
  char x = 0, rest = 0;
  if (std::sscanf(text.c_str(), "%lu%c%lu%c", &a, &x, &b, &rest) != 3 || (x != 'x' && x != 'X'))
    return false;
  if (a < 64 || b < 64 || a > 16384 || b > 16384) return false;
  w = uint32_t(a);
  h = uint32_t(b);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace repvk::demo;
  DemoOptions o;
  CLI::App app{
      "repvk-demo classifies images on the GPU in a window. The window's Vulkan device is\n"
      "created by the demo and adopted by the repvk engine; the engine reads the texture the\n"
      "window displays (no copy through the CPU) and records into the frame's command buffer.\n"
      "Without a display, use `repvk classify IMAGE.png` instead.",
      "repvk-demo"};
  app.set_version_flag("--version", std::string(REPVK_VERSION) +
                                        "\nLicence: MIT (see LICENSE, installed under share/licenses/repvk)");
  app.add_option("IMAGE", o.images, "PNG/JPEG files to show first, before the bundled samples")
      ->type_name("FILE...");
  app.add_option("--model", o.model_files,
                 "A .rpvk model; repeat to switch between several with the number keys "
                 "(default: every .rpvk in the model directory)")
      ->type_name("PATH")
      ->allow_extra_args(false);  // `--model m.rpvk shoe.png`: the image stays an IMAGE
  app.add_option("--model-dir", o.model_dir,
                 "Directory of .rpvk models (default: $REPVK_MODEL_DIR, "
                 "<prefix>/share/repvk/models, the source tree's assets/models)")
      ->type_name("DIR");
  app.add_option("--samples", o.sample_dir,
                 "Directory of sample images with an optional labels.tsv (default: "
                 "$REPVK_SAMPLE_DIR, <prefix>/share/repvk/samples, assets/samples)")
      ->type_name("DIR");
  std::string size = "960x600";
  app.add_option("--size", size, "Window size in pixels")->type_name("WxH")->capture_default_str();
  app.add_option("--screenshot", o.screenshot,
                 "Render, write the last frame to this PNG and exit (works under Xvfb)")
      ->type_name("FILE");
  app.add_option("--frames", o.frames,
                 "With --screenshot: render at least N frames (more until the current "
                 "image's classification is on screen)")
      ->type_name("N")
      ->check(CLI::Range(1u, 100000u))
      ->capture_default_str();
  std::string press;
  app.add_option("--press", press,
                 "Keys to apply, one after each classification, e.g. 'right,2,space' "
                 "(left, right, space, c, 1..9, size=WxH); for scripted runs and tests")
      ->type_name("KEYS");
  app.add_flag("--json", o.json,
               "At exit, print the last classification (image, model, top 5, GPU ms) as JSON");
  app.add_option("--device", o.context.device,
                 "GPU: an index from `repvk devices` or a name substring (default: "
                 "$REPVK_DEVICE, else the best device that can present to the window)")
      ->type_name("SEL")
      ->group("GPU options");
  app.add_flag("--fp32", o.context.fp32,
               "Keep fp16 off even where available (also REPVK_FORCE_FP32=1)")
      ->group("GPU options");
  std::string precision = "auto";
  app.add_option("--precision", precision,
                 "auto, fp32, or fp16 (falls back to fp32, with a note, where unavailable)")
      ->check(CLI::IsMember({"auto", "fp32", "fp16"}))
      ->capture_default_str()
      ->group("GPU options");
  app.add_flag("--validation", o.context.validation,
               "Enable the Khronos validation layer (also REPVK_VALIDATION=1); any message "
               "makes the exit status 1")
      ->group("GPU options");
  app.add_option("--pipeline-cache", o.pipeline_cache,
                 "Pipeline cache file, or 'none' (default: $XDG_CACHE_HOME/repvk/)")
      ->type_name("PATH|none")
      ->group("GPU options");
  app.add_flag("--verbose", o.verbose,
               "Print the engine's info-level log to stderr (pipeline cache loaded, ignored "
               "or written); warnings are printed without it")
      ->group("GPU options");
  app.footer(
      "Keys: left/right browse, space random image, 1..9 switch model (sorted by bit width),\n"
      "c classify every frame (live GPU timing), esc quit. Drop PNG/JPEG files on the window.\n"
      "Exit status: 0 ok, 1 failure or validation messages, 2 usage error, 3 no display.\n"
      "Examples:\n"
      "  repvk-demo\n"
      "  repvk-demo shoe.jpg --model a.rpvk --model b.rpvk\n"
      "  xvfb-run -a repvk-demo --screenshot demo.png --frames 5 --json");

  try {
    app.parse(argc, argv);
    if (!parse_size(size, o.width, o.height))
      throw CLI::ValidationError("--size", "expected WxH between 64x64 and 16384x16384, got '" +
                                               size + "'");
    try {
      o.press = parse_key_list(press);
    } catch (const std::invalid_argument& e) {
      throw CLI::ValidationError("--press", e.what());
    }
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "repvk-demo: error: %s\nRun 'repvk-demo --help'.\n", e.what());
    return 2;
  }
  o.precision = precision == "fp16"   ? repvk::Precision::Fp16
                : precision == "fp32" ? repvk::Precision::Fp32
                                      : repvk::Precision::Auto;
  if (o.context.fp32 && o.precision == repvk::Precision::Fp16)
    return report("--fp32 contradicts --precision fp16", 2);
  // The environment under the flags. REPVK_FORCE_FP32 is not --fp32: with --precision
  // fp16 it is a note and an fp32 run, not a usage error.
  try {
    o.environment = repvk::options_from_environment();
  } catch (const std::exception& e) {
    return report(e.what(), 2);
  }
  if (o.context.device.empty()) o.context.device = o.environment.device.select;
  o.context.validation = o.context.validation || o.environment.device.validation;
  o.context.fp32 = o.context.fp32 || o.environment.device.force_fp32;

  // Before GLFW or Vulkan loads the driver, which reads these variables once.
  for (const std::string& note : apply_lavapipe_workarounds())
    std::fprintf(stderr, "repvk-demo: note: %s\n", note.c_str());
  try {
    return run_demo(o);
  } catch (const NoDisplayError& e) {
    std::fflush(stdout);
    std::fprintf(stderr,
                 "repvk-demo: no display: %s\n"
                 "The demo needs a desktop session (X11 or Wayland). To classify images without "
                 "one, use:\n  repvk classify IMAGE.png\n"
                 "or run the demo headless under a virtual X server:\n"
                 "  xvfb-run -a repvk-demo --screenshot out.png\n",
                 e.what());
    return kNoDisplay;
  } catch (const std::exception& e) {
    return report(e.what(), 1);
  }
}
