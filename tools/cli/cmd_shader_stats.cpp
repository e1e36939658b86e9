// SPDX-License-Identifier: MIT
// `repvk shader-stats`: plans a model the way Network does and prints, for every
// layer, what the driver's compiler made of the pipelines it would dispatch
// (VK_KHR_pipeline_executable_properties): registers, spills, shared memory,
// occupancy, instruction counts, under the names the driver gives them; and where
// the driver returns AMD ISA text, the hottest loop's FMA share and load counts.
// Works on compile-only devices (Mesa RADV's null device), which is how CI reads a
// real GPU compiler's verdict without a GPU.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

#include "bench.h"
#include "repvk/error.h"
#include "repvk/synthetic.h"
#include "shader_stats_isa.h"

namespace repvk::cli {
namespace {

struct StatsOptions {
  BenchOptions model;  // MODEL / --synthetic / --bits / ... / --batch / gpu options
  bool fail_on_spill = false;
  std::string isa_dir;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

struct Statistic {
  std::string name;
  double value = 0;    // for comparisons (spills)
  std::string text;    // exact, as the driver gave it
  nlohmann::json json; // exact: 64-bit integers stay integers
};

struct Executable {
  std::string name;
  uint32_t subgroup_size = 0;
  std::vector<Statistic> stats;
  std::string isa;       // the text representation that holds the ISA, if any
  std::string isa_name;  // its name as the driver gives it
  LoopProfile loop;
};

struct Api {
  PFN_vkGetPipelineExecutablePropertiesKHR properties = nullptr;
  PFN_vkGetPipelineExecutableStatisticsKHR statistics = nullptr;
  PFN_vkGetPipelineExecutableInternalRepresentationsKHR representations = nullptr;
};

Api load_api(VkDevice device) {
  Api a;
  a.properties = reinterpret_cast<PFN_vkGetPipelineExecutablePropertiesKHR>(
      vkGetDeviceProcAddr(device, "vkGetPipelineExecutablePropertiesKHR"));
  a.statistics = reinterpret_cast<PFN_vkGetPipelineExecutableStatisticsKHR>(
      vkGetDeviceProcAddr(device, "vkGetPipelineExecutableStatisticsKHR"));
  a.representations = reinterpret_cast<PFN_vkGetPipelineExecutableInternalRepresentationsKHR>(
      vkGetDeviceProcAddr(device, "vkGetPipelineExecutableInternalRepresentationsKHR"));
  if (!a.properties || !a.statistics || !a.representations)
    throw Error("the driver lists VK_KHR_pipeline_executable_properties but not its functions");
  return a;
}

Statistic read_statistic(const VkPipelineExecutableStatisticKHR& s) {
  Statistic out;
  out.name = s.name;
  switch (s.format) {
    case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR:
      out.value = s.value.b32 ? 1 : 0;
      out.text = s.value.b32 ? "true" : "false";
      out.json = s.value.b32 == VK_TRUE;
      break;
    case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR:
      out.value = double(s.value.i64);
      out.text = std::to_string(s.value.i64);
      out.json = s.value.i64;
      break;
    case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR:
      out.value = double(s.value.u64);
      out.text = std::to_string(s.value.u64);
      out.json = s.value.u64;
      break;
    case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_FLOAT64_KHR:
      out.value = s.value.f64;
      out.text = fixed(s.value.f64, 2);
      out.json = s.value.f64;
      break;
    default:
      out.text = "?";
      break;
  }
  return out;
}

// The representation that holds machine code: drivers name it "Assembly",
// "Disassembly", "... ISA", "GEN Assembly", ... (matched case-insensitively).
bool is_isa_name(const std::string& name) {
  const std::string n = lower(name);
  return n.find("assembly") != std::string::npos || n.find("disasm") != std::string::npos ||
         n.find("isa") != std::string::npos;
}

std::vector<Executable> read_executables(const Api& api, VkDevice device, VkPipeline pipeline) {
  VkPipelineInfoKHR info{VK_STRUCTURE_TYPE_PIPELINE_INFO_KHR};
  info.pipeline = pipeline;
  uint32_t count = 0;
  vk_check(api.properties(device, &info, &count, nullptr), "vkGetPipelineExecutablePropertiesKHR");
  std::vector<VkPipelineExecutablePropertiesKHR> props(
      count, {VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_PROPERTIES_KHR});
  vk_check(api.properties(device, &info, &count, props.data()),
           "vkGetPipelineExecutablePropertiesKHR");
  std::vector<Executable> out;
  for (uint32_t e = 0; e < count; ++e) {
    Executable x;
    x.name = props[e].name;
    x.subgroup_size = props[e].subgroupSize;
    VkPipelineExecutableInfoKHR ei{VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR};
    ei.pipeline = pipeline;
    ei.executableIndex = e;
    uint32_t n = 0;
    vk_check(api.statistics(device, &ei, &n, nullptr), "vkGetPipelineExecutableStatisticsKHR");
    std::vector<VkPipelineExecutableStatisticKHR> stats(
        n, {VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR});
    vk_check(api.statistics(device, &ei, &n, stats.data()), "vkGetPipelineExecutableStatisticsKHR");
    for (uint32_t i = 0; i < n; ++i) x.stats.push_back(read_statistic(stats[i]));
    uint32_t r = 0;
    vk_check(api.representations(device, &ei, &r, nullptr),
             "vkGetPipelineExecutableInternalRepresentationsKHR");
    std::vector<VkPipelineExecutableInternalRepresentationKHR> reps(
        r, {VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INTERNAL_REPRESENTATION_KHR});
    vk_check(api.representations(device, &ei, &r, reps.data()),
             "vkGetPipelineExecutableInternalRepresentationsKHR");
    std::vector<std::vector<char>> text(r);
    for (uint32_t i = 0; i < r; ++i) {
      text[i].resize(reps[i].dataSize);
      reps[i].pData = text[i].data();
    }
    // VK_INCOMPLETE is acceptable: the text is then truncated, still NUL-terminated.
    const VkResult got = api.representations(device, &ei, &r, reps.data());
    if (got != VK_SUCCESS && got != VK_INCOMPLETE)
      vk_check(got, "vkGetPipelineExecutableInternalRepresentationsKHR");
    for (uint32_t i = 0; i < r; ++i) {
      if (!reps[i].isText || !is_isa_name(reps[i].name) || text[i].empty()) continue;
      x.isa_name = reps[i].name;
      x.isa.assign(text[i].data(), strnlen(text[i].data(), text[i].size()));
      x.loop = profile_hottest_loop(x.isa);
      break;
    }
    out.push_back(std::move(x));
  }
  return out;
}

std::string variant_string(const CreatedPipeline& p) {
  std::string s = "spec{";
  for (size_t i = 0; i < p.spec.size(); ++i)
    s += (i ? "," : "") + std::to_string(p.spec[i].first) + "=" + std::to_string(p.spec[i].second);
  return s + "}";
}

// {"<constant_id>": value, ...}
nlohmann::json spec_json(const CreatedPipeline& p) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [id, value] : p.spec) j[std::to_string(id)] = value;
  return j;
}

bool is_spill(const Statistic& s) { return lower(s.name).find("spill") != std::string::npos; }

std::string safe_file_name(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  return s;
}

void write_text_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!out.flush()) throw Error("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw Error("cannot rename " + tmp);
}

nlohmann::json loop_json(const LoopProfile& l) {
  if (!l.parsed) return nullptr;
  if (!l.has_loop) return {{"loop", false}};
  return {{"depth", l.depth},      {"instructions", l.instructions}, {"valu", l.valu},
          {"fma", l.fma},          {"multiply_adds", l.multiply_adds},
          {"fma_share", l.fma_share()},     {"vmem_loads", l.vmem_loads},
          {"smem_loads", l.smem_loads}, {"lds_loads", l.lds_loads}};
}

int run(const StatsOptions& o, bool bits_given) {
  const LoadedModel lm = bench_model(o.model, bits_given);
  GpuOptions g = o.model.gpu;
  g.capture_pipeline_statistics = true;
  if (g.pipeline_cache.empty()) g.pipeline_cache = "none";  // compile every pipeline afresh
  GpuSession session(g);
  const PhysicalDeviceInfo& info = session.device().info();
  const std::string device = session.device_name();
  if (!session.device().captures_pipeline_statistics()) {
    // Not an error: CI and scripts run this on whatever device is there.
    if (o.model.json)
      print_json({{"device", device}, {"driver", info.driver_name + " " + info.driver_info},
                  {"supported", false}});
    else
      std::printf("%s does not support VK_KHR_pipeline_executable_properties "
                  "(pipelineExecutableInfo): no shader statistics to show\n",
                  device.c_str());
    return 0;
  }
  NetworkOptions nopt = session.network_options(o.model.batch);
  tuning(nopt).conv_algorithm = parse_conv_algorithm(o.model.conv);
  nopt.timestamps = false;
  tuning(nopt).igemm_split_k = o.model.igemm_split_k;
  tuning(nopt).compute_units = o.model.compute_units;
  Network net(session.device(), lm.model, nopt);
  const Api api = load_api(session.device().handle());
  const auto layers = net.pipelines();
  const uint32_t compute_units =
      o.model.compute_units ? o.model.compute_units : estimate_compute_units(info);
  const char* compute_units_source = o.model.compute_units ? "--compute-units"
                                     : info.limits.compute_units ? "reported by the driver"
                                     : info.type == VK_PHYSICAL_DEVICE_TYPE_CPU
                                         ? "a CPU device: never split"
                                         : "estimated from the device type";

  uint64_t spills = 0;
  nlohmann::json jl = nlohmann::json::array();
  if (!o.model.json) {
    std::printf("model:      %s (%s)\n", lm.model.name.c_str(), lm.source.c_str());
    std::printf("device:     %s, %s %s%s\n", device.c_str(), info.driver_name.c_str(),
                info.driver_info.c_str(), info.runnable ? "" : " [compile-only]");
    std::printf("plan:       batch %u, precision %s, conv %s\n", o.model.batch,
                precision_name(net.precision()), net.conv_kernel());
    std::printf("split-K:    %s, planned for %u compute units (%s)\n",
                o.model.igemm_split_k ? ("forced to " + std::to_string(o.model.igemm_split_k) +
                                         " slices").c_str()
                                      : "chooser",
                compute_units, compute_units_source);
  }
  for (size_t li = 0; li < layers.size(); ++li) {
    const LayerPipelines& layer = layers[li];
    nlohmann::json jp = nlohmann::json::array();
    if (!o.model.json && layer.workgroups)
      std::printf("\n%-28s %llu workgroups%s\n", layer.layer.c_str(),
                  static_cast<unsigned long long>(layer.workgroups),
                  layer.split_k > 1
                      ? (", split-K " + std::to_string(layer.split_k) + " slices (" +
                         std::to_string(layer.workgroups / layer.split_k) + " unsplit) + reduce")
                            .c_str()
                      : ", unsplit");
    for (const CreatedPipeline& p : layer.pipelines) {
      const std::vector<Executable> exes = read_executables(api, session.device().handle(),
                                                            p.pipeline);
      nlohmann::json je = nlohmann::json::array();
      for (const Executable& x : exes) {
        for (const Statistic& s : x.stats)
          if (is_spill(s) && s.value > 0) spills += static_cast<uint64_t>(s.value);
        if (!o.isa_dir.empty() && !x.isa.empty())
          write_text_file(o.isa_dir + "/" + std::to_string(li) + "_" + safe_file_name(p.shader) +
                              ".txt",
                          x.isa);
        if (o.model.json) {
          nlohmann::json js = nlohmann::json::object();
          for (const Statistic& s : x.stats) js[s.name] = s.json;
          nlohmann::json e = {{"executable", x.name}, {"subgroup_size", x.subgroup_size},
                              {"statistics", js}};
          if (!x.isa_name.empty()) {
            e["isa_representation"] = x.isa_name;
            e["hottest_loop"] = loop_json(x.loop);
          }
          je.push_back(e);
          continue;
        }
        std::printf("\n%-28s %s %s  subgroup %u\n", layer.layer.c_str(), p.shader.c_str(),
                    variant_string(p).c_str(), x.subgroup_size);
        std::string line = "   ";
        for (const Statistic& s : x.stats) {
          const std::string item = " " + s.name + " " + s.text + ";";
          if (line.size() + item.size() > 100) {
            std::printf("%s\n", line.c_str());
            line = "   ";
          }
          line += item;
        }
        if (line.size() > 3) std::printf("%s\n", line.c_str());
        if (x.isa_name.empty()) continue;
        if (!x.loop.parsed)
          std::printf("    ISA (\"%s\") given, not AMD ISA: loop not analysed\n",
                      x.isa_name.c_str());
        else if (!x.loop.has_loop)
          std::printf("    hottest loop: none (straight-line code)\n");
        else
          std::printf("    hottest loop (depth %u, %u instr): FMA %u of %u VALU (%s%%, %u "
                      "multiply-adds per lane), loads: %u vector memory, %u scalar, %u LDS\n",
                      x.loop.depth, x.loop.instructions, x.loop.fma, x.loop.valu,
                      fixed(100.0 * x.loop.fma_share(), 0).c_str(), x.loop.multiply_adds,
                      x.loop.vmem_loads,
                      x.loop.smem_loads, x.loop.lds_loads);
      }
      if (o.model.json)
        jp.push_back({{"kernel", p.shader}, {"spec", spec_json(p)}, {"executables", je}});
    }
    if (o.model.json)
      jl.push_back({{"layer", layer.layer}, {"split_k", layer.split_k},
                    {"workgroups", layer.workgroups}, {"pipelines", jp}});
  }
  if (o.model.json) {
    print_json({{"model", lm.model.name},
                {"model_source", lm.source},
                {"device", device},
                {"driver", info.driver_name + " " + info.driver_info},
                {"runnable", info.runnable},
                {"supported", true},
                {"batch", o.model.batch},
                {"precision", precision_name(net.precision())},
                {"conv_algorithm", net.conv_kernel()},
                {"compute_units", compute_units},
                {"compute_units_source", compute_units_source},
                {"spills", spills},
                {"layers", jl}});
  } else {
    std::printf("\nspills: %llu\n", static_cast<unsigned long long>(spills));
  }
  if (o.fail_on_spill && spills > 0) {
    std::fflush(stdout);
    throw Error("the compiler spilled " + std::to_string(spills) +
                " register(s) in the default pipelines (see the statistics above)");
  }
  return 0;
}

}  // namespace

Command register_shader_stats(CLI::App& app) {
  auto o = std::make_shared<StatsOptions>();
  CLI::App* sub = app.add_subcommand(
      "shader-stats", "What the driver's compiler made of each layer's pipelines");
  sub->footer(
      "Plans the model as `repvk classify`/`bench` would and creates the same pipelines with\n"
      "statistics capture (VK_KHR_pipeline_executable_properties). Statistic names are the\n"
      "driver's own. On a device without the extension it says so and exits 0. Also runs on\n"
      "compile-only devices, e.g. Mesa RADV without an AMD GPU:\n"
      "  VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/radeon_icd.x86_64.json "
      "RADV_FORCE_FAMILY=navi21 \\\n    repvk shader-stats --synthetic A0 --batch 16");
  CLI::Option* pos = sub->add_option("MODEL", o->model.model, "Model file (.rpvk); default: "
                                                              "the bundled model unless --synthetic");
  sub->add_option("--model", o->model.model, "Same as MODEL")->type_name("PATH")->excludes(pos);
  sub->add_option("--synthetic", o->model.synthetic,
                  "A generated model instead: small (1x28x28), A0, A1, B0 (3x224x224)")
      ->type_name("PRESET")
      ->check(CLI::IsMember(synthetic_preset_names()));
  CLI::Option* bits =
      sub->add_option("--bits", o->model.bits, "Codebook bits of the synthetic model")
          ->type_name("B")
          ->check(CLI::Range(1u, 8u))
          ->capture_default_str();
  sub->add_flag("--fp32-weights", o->model.fp32_weights, "Synthetic model with dense fp32 weights")
      ->excludes(bits);
  sub->add_option("--granularity", o->model.granularity, "Codebook per layer or per output channel")
      ->check(CLI::IsMember({"layer", "channel"}))
      ->capture_default_str();
  sub->add_option("--seed", o->model.seed, "Seed of the synthetic model")
      ->type_name("S")
      ->capture_default_str();
  sub->add_option("--batch", o->model.batch, "Images per submission the plan is made for")
      ->type_name("N")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
  sub->add_option("--conv", o->model.conv, "conv3x3 kernel, as for `repvk bench`")
      ->check(CLI::IsMember(conv_kernel_choices()))
      ->capture_default_str();
  sub->add_option("--igemm-split-k", o->model.igemm_split_k,
                  "igemm split-K slices on every conv layer, as for `repvk bench`; 0 = chooser")
      ->type_name("N")
      ->check(CLI::Range(0u, 4096u))
      ->capture_default_str();
  sub->add_option("--compute-units", o->model.compute_units,
                  "Plan igemm's split-K as for a GPU with N compute units (e.g. 132 for an "
                  "H100/H200, 46 for an RTX 4070, 72 for an RX 6800 XT); 0 = the device's count")
      ->type_name("N")
      ->check(CLI::Range(0u, 65536u))
      ->capture_default_str();
  sub->add_flag("--json", o->model.json, "Print machine-readable JSON on stdout");
  sub->add_flag("--fail-on-spill", o->fail_on_spill,
                "Exit 1 when any statistic whose name contains \"spill\" is non-zero (CI)");
  sub->add_option("--isa-dir", o->isa_dir, "Also write each pipeline's ISA text into DIR")
      ->type_name("DIR")
      ->check(CLI::ExistingDirectory);
  add_gpu_options(*sub, o->model.gpu);
  return {sub, [o, bits] { return run(*o, bits->count() > 0); }};
}

}  // namespace repvk::cli
