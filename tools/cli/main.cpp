// SPDX-License-Identifier: MIT
// repvk: command-line front end of the engine. Each subcommand lives in its own
// cmd_*.cpp; this file only wires them up and maps failures to exit statuses
// (0 ok, 1 runtime failure, 2 usage error).
#include <cstdio>
#include <exception>
#include <iostream>
#include <vector>

#include <CLI/CLI.hpp>

#include "common.h"
#include "idx.h"
#include "repvk/error.h"
#include "repvk/model.h"

#ifndef REPVK_VERSION
#define REPVK_VERSION "unknown"
#endif

namespace {

int report(const char* message, int status) {
  std::fflush(stdout);  // keep partial output before the error when both go to one place
  std::fprintf(stderr, "repvk: error: %s\n", message);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace repvk::cli;
  CLI::App app{
      "repvk runs low-bit (codebook-quantized) RepVGG image classifiers with Vulkan 1.1\n"
      "compute. Tested so far on Mesa's lavapipe (CPU) only; no real GPU has run it yet\n"
      "(README.md, \"Status and support\"). The bundled models classify 28x28 grayscale\n"
      "clothing images (Fashion-MNIST); for photos, import an ImageNet RepVGG (docs/import.md).\n"
      "Start with `repvk devices` to see your GPUs, then `repvk classify IMAGE.png`.\n"
      "Run `repvk COMMAND --help` for the options of one command.",
      "repvk"};
  app.set_version_flag("--version", std::string(REPVK_VERSION) +
                                        "\nLicence: MIT (see LICENSE, installed under share/licenses/repvk)");
  app.require_subcommand(1);
  std::string kernels;  // REPVK_CONV's values, from the engine's table of kernels
  for (const std::string& k : repvk::conv_kernel_choices(false)) kernels += (kernels.empty() ? "" : "|") + k;
  app.footer(
      std::string("Models: MODEL is a .rpvk file (see `repvk make-model`). When it is omitted, repvk looks\n"
      "for default.rpvk in $REPVK_MODEL_DIR, then <prefix>/share/repvk/models, then the\n"
      "source tree's assets/models; failing that it uses a synthetic model and says so.\n"
      "Environment (flags win): REPVK_DEVICE (device selector), REPVK_FORCE_FP32=1,\n"
      "REPVK_VALIDATION=1, REPVK_FP16_MATH=auto|on|off, REPVK_CONV=") + kernels + ", REPVK_CONV_TILE, REPVK_CONV_SG=0;\n"
      "booleans take 1/0, true/false, yes/no, on/off (docs/embedding.md).\n"
      "Examples:\n"
      "  repvk devices\n"
      "  repvk classify shoe.png shirt.jpg --top 3\n"
      "  repvk eval --limit 1000\n"
      "  repvk bench --synthetic A0 --bits 4 --batch 8\n"
      "  repvk shader-stats --synthetic A0 --batch 16   (registers, spills, ISA per layer)\n"
      "  repvk make-model tiny.rpvk --synthetic small --bits 2 && repvk info tiny.rpvk\n"
      "  repvk convert model.rpvk model-fp16.rpvk --dense fp16");

  std::vector<Command> commands = {register_devices(app), register_info(app),
                                   register_classify(app), register_eval(app),
                                   register_bench(app),   register_make_model(app),
                                   register_convert(app), register_shader_stats(app)};

  if (argc <= 1) {
    std::cerr << app.help();
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive as "errors" with exit code 0.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "repvk: error: %s\nRun 'repvk --help' or 'repvk COMMAND --help'.\n",
                 e.what());
    return 2;
  }

  try {
    for (auto& c : commands)
      if (c.app->parsed()) return c.run();
    return report("no command given", 2);
  } catch (const UsageError& e) {
    return report(e.what(), 2);
  } catch (const CLI::Error& e) {
    return report(e.what(), 2);
  } catch (const repvk::ModelError& e) {
    return report(e.what(), 1);
  } catch (const repvk::VulkanError& e) {
    return report(e.what(), 1);
  } catch (const repvk::Error& e) {
    return report(e.what(), 1);
  } catch (const repvk::tools::DatasetError& e) {
    return report(e.what(), 1);
  } catch (const std::bad_alloc&) {
    return report("out of memory", 1);
  } catch (const std::exception& e) {
    return report(e.what(), 1);
  } catch (...) {
    return report("unknown failure", 1);
  }
}
