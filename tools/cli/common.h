// SPDX-License-Identifier: MIT
// Shared plumbing of the repvk subcommands: option groups, model resolution,
// device sessions that count validation messages, and formatting helpers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "repvk/device.h"
#include "repvk/environment.h"
#include "repvk/model.h"
#include "repvk/network.h"
#include "repvk_internal/network_tuning.h"  // the kernel flags (--conv, --igemm-split-k)

namespace repvk::cli {

// A mistake in the command line that CLI11 cannot see (e.g. conflicting
// positionals). main() reports it like a parse error: exit status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One subcommand: its CLI11 node and what to run when it was chosen.
// run() returns the process exit status.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command register_devices(CLI::App& app);
Command register_info(CLI::App& app);
Command register_classify(CLI::App& app);
Command register_eval(CLI::App& app);
Command register_bench(CLI::App& app);
Command register_make_model(CLI::App& app);
Command register_convert(CLI::App& app);
Command register_shader_stats(CLI::App& app);

// ---- GPU options and sessions ----------------------------------------------------
struct GpuOptions {
  std::string device;          // --device; "" = $REPVK_DEVICE, else automatic
  bool fp32 = false;           // --fp32
  // shader-stats: create pipelines with statistics capture, and accept a device that
  // only compiles (every other command refuses one).
  bool capture_pipeline_statistics = false;
  std::string precision = "auto";
  std::string fp16_math = "auto";  // --fp16-math; "auto" leaves $REPVK_FP16_MATH in charge
  bool validation = false;     // --validation (or REPVK_VALIDATION=1)
  std::string pipeline_cache;  // --pipeline-cache; "" = default location
  bool verbose = false;        // --verbose: the engine's notes (pipeline cache) on stderr
};
void add_device_option(CLI::App& sub, std::string& device);
void add_gpu_options(CLI::App& sub, GpuOptions& options);

// The selector repvk acts on: --device if given, else $REPVK_DEVICE, else "".
std::string effective_device_selector(const std::string& flag);

// Owns the Device for one command. Validation messages are printed to stderr as
// they arrive; finish() (call it after the last Network is gone) turns any of them
// into an error so scripted runs with REPVK_VALIDATION=1 fail loudly.
class GpuSession {
 public:
  explicit GpuSession(const GpuOptions& options);
  ~GpuSession();
  GpuSession(const GpuSession&) = delete;
  GpuSession& operator=(const GpuSession&) = delete;

  Device& device() { return *device_; }
  // Options for running batches of `batch` images; the Network itself splits a
  // batch further when its activations would exceed the device's buffer limits.
  NetworkOptions network_options(uint32_t batch) const;
  std::string device_name() const { return device_name_; }
  void finish();

 private:
  struct Messages {
    std::mutex mutex;
    uint64_t count = 0;
  };
  GpuOptions options_;
  EnvironmentOptions environment_;  // options_from_environment(), under the flags
  bool validation_ = false;
  std::shared_ptr<Messages> messages_;
  std::unique_ptr<Device> device_;
  std::string device_name_;
};

Precision parse_precision(const GpuOptions& options);

// ---- Models -------------------------------------------------------------------
struct LoadedModel {
  Model model;
  std::string source;       // file path, or a description of the generated model
  bool synthetic = false;   // generated rather than read
  std::vector<TensorShape> shapes;
};

// The fields every `--json` report about a run of a loaded model starts with.
nlohmann::json run_json_header(const LoadedModel& lm, const std::string& device,
                               const std::string& precision);

// default.rpvk from the first of tools::default_model_dirs() (tools/common/asset_dirs.h)
// that holds one; "" when none does.
std::string find_default_model();
// Reads `path`, or the default model when `path` is empty. Without a bundled
// model it generates a deterministic synthetic one and says so on stderr.
LoadedModel load_model_or_default(const std::string& path);
LoadedModel load_model_file(const std::string& path);

// bits == 0 means fp32 weights.
Model build_synthetic(const std::string& preset, uint32_t bits, CodebookGranularity granularity,
                      uint64_t seed);
std::string synthetic_description(const std::string& preset, uint32_t bits,
                                  CodebookGranularity granularity, uint64_t seed);

bool has_model_extension(const std::string& path);

// ---- Formatting -----------------------------------------------------------------
// The `schema_version` print_json() adds to a --json object that has none: the first
// version of every command's layout (docs/versioning.md).
constexpr int kJsonSchemaVersion = 1;
void print_json(const nlohmann::json& j);
std::string class_name(const Model& model, uint32_t label);
std::string format_bytes(uint64_t bytes);
std::string format_api_version(uint32_t version);
std::string shape_string(const TensorShape& s);
std::string input_shape_string(const InputSpec& in);
std::string fixed(double value, int decimals);
double median(std::vector<double> values);

}  // namespace repvk::cli
