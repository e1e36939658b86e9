// SPDX-License-Identifier: MIT
// `repvk devices`: what every Vulkan device offers, and which one repvk would use.
#include <cstdio>
#include <iostream>
#include <memory>

#include "common.h"
#include "repvk/error.h"

namespace repvk::cli {
namespace {

struct DevicesOptions {
  std::string device;
  bool json = false;
};

const char* yes_no(bool b) { return b ? "yes" : "no"; }

nlohmann::json device_json(const PhysicalDeviceInfo& d, bool selected) {
  const auto& l = d.limits;
  const auto& f = d.features;
  nlohmann::json j;
  j["index"] = d.index;
  j["name"] = d.name;
  j["selected"] = selected;
  j["driver_name"] = d.driver_name;
  j["driver_info"] = d.driver_info;
  j["type"] = device_type_name(d.type);
  j["api_version"] = format_api_version(d.api_version);
  j["vendor_id"] = d.vendor_id;
  j["device_id"] = d.device_id;
  j["compute_queue_family"] = d.compute_queue_family;
  j["runnable"] = d.runnable;
  if (!d.runnable) j["not_runnable_reason"] = d.not_runnable_reason;
  j["limits"] = {
      {"max_storage_buffer_range", l.max_storage_buffer_range},
      {"max_memory_allocation_size", l.max_memory_allocation_size},
      {"max_shared_memory", l.max_shared_memory},
      {"max_workgroup_invocations", l.max_workgroup_invocations},
      {"max_workgroup_size",
       {l.max_workgroup_size[0], l.max_workgroup_size[1], l.max_workgroup_size[2]}},
      {"max_workgroup_count",
       {l.max_workgroup_count[0], l.max_workgroup_count[1], l.max_workgroup_count[2]}},
      {"max_push_constants", l.max_push_constants},
      {"timestamp_period_ns", l.timestamp_period_ns},
      {"timestamp_valid_bits", l.timestamp_valid_bits},
      {"device_local_bytes", l.device_local_bytes},
      {"unified_memory", l.unified_memory},
      {"compute_units", l.compute_units},
      {"compute_units_estimate", estimate_compute_units(d)},
  };
  j["features"] = {
      {"storage_16bit", f.storage_16bit},
      {"float16", f.float16},
      {"subgroup_basic", f.subgroup_basic},
      {"subgroup_arithmetic", f.subgroup_arithmetic},
      {"subgroup_shuffle", f.subgroup_shuffle},
      {"subgroup_size", f.subgroup_size},
      {"integer_dot_product", f.integer_dot_product},
      {"timestamps", f.timestamps},
      {"pipeline_executable_info", f.pipeline_executable_info},
  };
  return j;
}

void print_device(const PhysicalDeviceInfo& d, bool selected) {
  const auto& l = d.limits;
  const auto& f = d.features;
  std::printf("%s %u: %s%s\n", selected ? "*" : " ", d.index, d.name.c_str(),
              d.runnable ? "" : "  [NOT RUNNABLE: compiles pipelines only]");
  if (!d.runnable)
    std::printf("    not runnable: %s; only `repvk shader-stats` can use it\n",
                d.not_runnable_reason.c_str());
  std::printf("    type %s, Vulkan %s, vendor 0x%04x device 0x%04x\n", device_type_name(d.type),
              format_api_version(d.api_version).c_str(), d.vendor_id, d.device_id);
  std::printf("    driver: %s%s%s\n", d.driver_name.c_str(), d.driver_info.empty() ? "" : ", ",
              d.driver_info.c_str());
  std::printf("    memory: largest device-local heap %s, "
              "unified (device-local + host-visible) %s\n",
              format_bytes(l.device_local_bytes).c_str(), yes_no(l.unified_memory));
  std::printf("    limits: storage buffer range %s, allocation %s, shared memory %s, "
              "push constants %u B\n",
              format_bytes(l.max_storage_buffer_range).c_str(),
              format_bytes(l.max_memory_allocation_size).c_str(),
              format_bytes(l.max_shared_memory).c_str(), l.max_push_constants);
  std::printf("            workgroup %u invocations, size %u x %u x %u, count %u x %u x %u\n",
              l.max_workgroup_invocations, l.max_workgroup_size[0], l.max_workgroup_size[1],
              l.max_workgroup_size[2], l.max_workgroup_count[0], l.max_workgroup_count[1],
              l.max_workgroup_count[2]);
  std::printf("            timestamp period %g ns, %u valid bits\n", double(l.timestamp_period_ns),
              l.timestamp_valid_bits);
  if (l.compute_units)
    std::printf("            compute units %u (reported by the driver)\n", l.compute_units);
  else
    std::printf("            compute units not reported; estimated %u from the device type\n",
                estimate_compute_units(d));
  std::printf("    features: 16-bit storage %s, float16 %s, integer dot product %s, "
              "timestamps %s\n",
              yes_no(f.storage_16bit), yes_no(f.float16), yes_no(f.integer_dot_product),
              yes_no(f.timestamps));
  std::printf("              subgroups: basic %s, arithmetic %s, shuffle %s, size %u\n",
              yes_no(f.subgroup_basic), yes_no(f.subgroup_arithmetic), yes_no(f.subgroup_shuffle),
              f.subgroup_size);
  std::printf("              pipeline statistics (VK_KHR_pipeline_executable_properties) %s\n",
              yes_no(f.pipeline_executable_info));
}

int run(const DevicesOptions& o) {
  const auto devices = enumerate_devices();
  const std::string selector = effective_device_selector(o.device);
  int64_t chosen = -1;
  std::string choose_error;
  if (!devices.empty()) {
    try {
      chosen = choose_device(devices, selector);
    } catch (const Error& e) {
      // Still list the devices: that is what the user needs to fix the selector.
      choose_error = e.what();
    }
  }
  if (o.json) {
    nlohmann::json j;
    j["selector"] = selector;
    j["selected"] = chosen >= 0 ? nlohmann::json(chosen) : nlohmann::json(nullptr);
    if (!choose_error.empty()) j["selector_error"] = choose_error;
    j["devices"] = nlohmann::json::array();
    for (size_t i = 0; i < devices.size(); ++i)
      j["devices"].push_back(device_json(devices[i], int64_t(i) == chosen));
    print_json(j);
  } else if (devices.empty()) {
    std::printf("no Vulkan devices found "
                "(is a Vulkan driver, e.g. mesa-vulkan-drivers, installed?)\n");
  } else {
    for (size_t i = 0; i < devices.size(); ++i) print_device(devices[i], int64_t(i) == chosen);
    if (chosen >= 0)
      std::printf("\n* = the device repvk uses%s%s\n",
                  selector.empty() ? " by default" : " for selector '",
                  selector.empty() ? "" : (selector + "'").c_str());
  }
  if (devices.empty()) return 1;
  if (!choose_error.empty()) throw Error(choose_error);
  return 0;
}

}  // namespace

Command register_devices(CLI::App& app) {
  auto o = std::make_shared<DevicesOptions>();
  CLI::App* sub =
      app.add_subcommand("devices", "List Vulkan devices with their limits and features");
  sub->footer("The device marked * is the one the other commands use with the same --device "
              "(or $REPVK_DEVICE).");
  add_device_option(*sub, o->device);
  sub->add_flag("--json", o->json, "Print machine-readable JSON on stdout");
  return {sub, [o] { return run(*o); }};
}

}  // namespace repvk::cli
