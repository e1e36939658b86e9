// SPDX-License-Identifier: MIT
#include "common.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "asset_dirs.h"
#include "repvk/error.h"
#include "repvk/synthetic.h"

namespace fs = std::filesystem;

namespace repvk::cli {

// ---- GPU options ------------------------------------------------------------------

void add_device_option(CLI::App& sub, std::string& device) {
  sub.add_option("--device", device,
                 "GPU to use: an index from `repvk devices` or a case-insensitive name "
                 "substring (default: $REPVK_DEVICE, else the best device)")
      ->type_name("SEL")
      ->group("GPU options");
}

void add_gpu_options(CLI::App& sub, GpuOptions& options) {
  add_device_option(sub, options.device);
  sub.add_flag("--fp32", options.fp32,
               "Force fp32 everywhere, even where fp16 is available (also REPVK_FORCE_FP32=1)")
      ->group("GPU options");
  sub.add_option("--precision", options.precision,
                 "Activation precision: auto (fp32: fp16 storage is never picked on its own), "
                 "fp32, or fp16 (fails if the device lacks it)")
      ->check(CLI::IsMember({"auto", "fp32", "fp16"}))
      ->capture_default_str()
      ->group("GPU options");
  sub.add_option("--fp16-math", options.fp16_math,
                 "fp16 arithmetic in the igemm conv: auto (only where shaderFloat16 is enabled "
                 "and a measurement on the device says it is at least 5% faster; "
                 "$REPVK_FP16_MATH), on (wherever igemm runs; fails without shaderFloat16) or "
                 "off. On a device that only compiles (shader-stats), auto means off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str()
      ->group("GPU options");
  sub.add_flag("--validation", options.validation,
               "Enable the Khronos validation layer (also REPVK_VALIDATION=1); any message it "
               "reports makes the command fail")
      ->group("GPU options");
  sub.add_option("--pipeline-cache", options.pipeline_cache,
                 "Pipeline cache file, or 'none' to disable it (default: "
                 "$XDG_CACHE_HOME/repvk/ or ~/.cache/repvk/)")
      ->type_name("PATH|none")
      ->group("GPU options");
  sub.add_flag("--verbose", options.verbose,
               "Print what the engine does behind the scenes to stderr (its info-level log): "
               "whether the pipeline cache was loaded, ignored (and why) or written; "
               "warnings are printed without it")
      ->group("GPU options");
}

std::string effective_device_selector(const std::string& flag) {
  return flag.empty() ? options_from_environment().device.select : flag;
}

Precision parse_precision(const GpuOptions& options) {
  if (options.fp32) {
    if (options.precision == "fp16") throw UsageError("--fp32 contradicts --precision fp16");
    return Precision::Fp32;
  }
  if (options.precision == "fp32") return Precision::Fp32;
  if (options.precision == "fp16") return Precision::Fp16;
  return Precision::Auto;
}

GpuSession::GpuSession(const GpuOptions& options)
    : options_(options),
      environment_(options_from_environment()),
      messages_(std::make_shared<Messages>()) {
  parse_precision(options);  // reject contradictions before the slow device start
  DeviceOptions dopt = environment_.device;
  if (!options.device.empty()) dopt.select = options.device;
  validation_ = options.validation || dopt.validation;
  dopt.validation = validation_;
  dopt.force_fp32 = options.fp32 || dopt.force_fp32;
  // Captures the shared counter, not `this`: the driver may still call back while
  // the Device is being destroyed.
  auto messages = messages_;
  dopt.on_debug_message = [messages](const DebugMessage& m) {
    std::lock_guard<std::mutex> lock(messages->mutex);
    ++messages->count;
    std::fprintf(stderr, "repvk: validation: %s: %s\n", m.id_name.c_str(), m.text.c_str());
  };
  dopt.capture_pipeline_statistics = options.capture_pipeline_statistics;
  // The engine's messages: warnings and errors always, the rest with --verbose.
  const bool verbose = options.verbose;
  dopt.on_log = [verbose](LogLevel level, const std::string& message) {
    if (level >= LogLevel::Warning)
      std::fprintf(stderr, "repvk: %s: %s\n", log_level_name(level), message.c_str());
    else if (verbose)
      std::fprintf(stderr, "repvk: %s\n", message.c_str());
  };
  device_ = Device::create(dopt);
  const auto& info = device_->info();
  device_name_ = info.name + " (" + device_type_name(info.type) + ")";
  if (!info.runnable && !options.capture_pipeline_statistics)
    throw Error("device " + std::to_string(info.index) + " (" + info.name +
                ") cannot run inference: " + info.not_runnable_reason +
                ". Pick another with --device (see `repvk devices`); `repvk shader-stats` "
                "is the only command that uses such a device");
}

GpuSession::~GpuSession() = default;

NetworkOptions GpuSession::network_options(uint32_t batch) const {
  NetworkOptions n = environment_.network;
  n.precision = parse_precision(options_);
  n.max_batch = std::max<uint32_t>(1, batch);
  if (options_.fp16_math != "auto") n.fp16_math = parse_fp16_math(options_.fp16_math);
  if (!options_.pipeline_cache.empty()) n.pipeline_cache_path = options_.pipeline_cache;
  return n;
}

void GpuSession::finish() {
  device_.reset();
  uint64_t count = 0;
  {
    std::lock_guard<std::mutex> lock(messages_->mutex);
    count = messages_->count;
  }
  if (validation_ && count > 0)
    throw Error("the Vulkan validation layer reported " + std::to_string(count) +
                " message(s) (printed above)");
}

// ---- Models -------------------------------------------------------------------

std::string find_default_model() {
  for (const auto& dir : tools::default_model_dirs()) {
    std::error_code ec;
    const fs::path p = fs::path(dir) / "default.rpvk";
    if (fs::is_regular_file(p, ec)) return fs::weakly_canonical(p, ec).string();
  }
  return "";
}

bool has_model_extension(const std::string& path) {
  return fs::path(path).extension() == ".rpvk";
}

LoadedModel load_model_file(const std::string& path) {
  std::error_code ec;
  // read_model reports this too; checking here gives a friendlier hint.
  if (!fs::exists(path, ec))
    throw Error("model file '" + path + "' does not exist");
  LoadedModel m;
  m.model = read_model(path);
  m.source = path;
  m.shapes = validate_model(m.model, path);
  return m;
}

LoadedModel load_model_or_default(const std::string& path) {
  if (!path.empty()) return load_model_file(path);
  const std::string found = find_default_model();
  if (!found.empty()) return load_model_file(found);
  std::fprintf(stderr,
               "repvk: note: no trained model bundled yet: using a deterministic synthetic "
               "model with random 4-bit codebooks (predictions are meaningless)\n");
  LoadedModel m;
  m.model = build_synthetic("small", 4, CodebookGranularity::PerOutputChannel, 1);
  m.source = synthetic_description("small", 4, CodebookGranularity::PerOutputChannel, 1);
  m.synthetic = true;
  m.shapes = validate_model(m.model, m.source);
  return m;
}

Model build_synthetic(const std::string& preset, uint32_t bits, CodebookGranularity granularity,
                      uint64_t seed) {
  SyntheticConfig cfg;
  try {
    cfg = synthetic_preset(preset);
  } catch (const std::invalid_argument&) {
    std::string names;
    for (const auto& n : synthetic_preset_names()) names += (names.empty() ? "" : ", ") + n;
    throw UsageError("unknown synthetic preset '" + preset + "' (choose one of: " + names + ")");
  }
  if (bits > 8) throw UsageError("--bits must be 1..8, got " + std::to_string(bits));
  cfg.quantized = bits != 0;
  if (bits != 0) cfg.bits = bits;
  cfg.granularity = granularity;
  cfg.seed = seed;
  return make_synthetic_model(cfg);
}

std::string synthetic_description(const std::string& preset, uint32_t bits,
                                  CodebookGranularity granularity, uint64_t seed) {
  std::string s = "synthetic '" + preset + "', ";
  if (bits == 0) {
    s += "fp32 weights";
  } else {
    s += std::to_string(bits) + "-bit ";
    s += granularity == CodebookGranularity::PerLayer ? "per-layer" : "per-channel";
    s += " codebooks";
  }
  return s + ", seed " + std::to_string(seed);
}

// ---- Formatting -------------------------------------------------------------------

void print_json(const nlohmann::json& j) {
  // Every command's --json output names its layout's version (docs/versioning.md); a
  // command whose layout changed incompatibly sets a higher one itself.
  if (j.is_object() && !j.contains("schema_version")) {
    nlohmann::json versioned = j;
    versioned["schema_version"] = kJsonSchemaVersion;
    std::cout << versioned.dump(2) << std::endl;
    return;
  }
  std::cout << j.dump(2) << std::endl;
}

std::string class_name(const Model& model, uint32_t label) {
  if (label < model.class_names.size() && !model.class_names[label].empty())
    return model.class_names[label];
  return "class " + std::to_string(label);
}

std::string format_bytes(uint64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  if (u == 0) return std::to_string(bytes) + " B";
  return fixed(v, v < 10 ? 2 : 1) + " " + units[u];
}

std::string format_api_version(uint32_t v) {
  return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) +
         "." + std::to_string(VK_API_VERSION_PATCH(v));
}

std::string shape_string(const TensorShape& s) {
  return std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
}

std::string input_shape_string(const InputSpec& in) {
  return std::to_string(in.channels) + "x" + std::to_string(in.height) + "x" +
         std::to_string(in.width);
}

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

nlohmann::json run_json_header(const LoadedModel& lm, const std::string& device,
                               const std::string& precision) {
  nlohmann::json j;
  j["model"] = lm.model.name;
  j["model_source"] = lm.source;
  j["synthetic"] = lm.synthetic;
  j["device"] = device;
  j["precision"] = precision;
  return j;
}

}  // namespace repvk::cli
