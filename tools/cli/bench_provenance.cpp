// SPDX-License-Identifier: MIT
#include "bench_provenance.h"

#include <sys/utsname.h>

#include <fstream>

#include "repvk/util/atomic_file.h"
#include "sha256.h"

#ifndef REPVK_GIT_COMMIT
#define REPVK_GIT_COMMIT "unknown"
#endif
#ifndef REPVK_VERSION
#define REPVK_VERSION "unknown"
#endif

namespace repvk::cli {
namespace {

constexpr uint32_t kVendorNvidia = 0x10de;
constexpr uint32_t kVendorIntel = 0x8086;

std::string os_release_name() {
  std::ifstream f("/etc/os-release");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("PRETTY_NAME=", 0) != 0) continue;
    std::string v = line.substr(12);
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'')) v = v.substr(1, v.size() - 2);
    return v;
  }
  return "";
}

// A table cell: '|' would end the cell early.
std::string cell(std::string s) {
  for (char& c : s)
    if (c == '|' || c == '\n') c = '/';
  return s;
}

}  // namespace

std::string decode_driver_version(uint32_t vendor_id, const std::string& driver_name, uint32_t v) {
  auto join = [](uint32_t a, uint32_t b, uint32_t c) {
    return std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c);
  };
  if (vendor_id == kVendorNvidia)
    return join(v >> 22, (v >> 14) & 0xff, (v >> 6) & 0xff) + "." + std::to_string(v & 0x3f);
  // Intel's own (Windows) driver packs 18.14 bits; Mesa's ANV uses the standard packing.
  // Decided by the driver, not by the OS repvk was built for.
  if (vendor_id == kVendorIntel && driver_name.find("Mesa") == std::string::npos)
    return std::to_string(v >> 14) + "." + std::to_string(v & 0x3fff);
  return join(VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
}

std::string model_hash(const LoadedModel& lm) {
  // The description names preset, bits, granularity and seed: all that makes the model.
  if (lm.synthetic) return "synthetic:" + lm.source.substr(lm.source.rfind("synthetic ", 0) == 0 ? 10 : 0);
  return "sha256:" + sha256_file_hex(lm.source);
}

std::string repvk_commit() { return REPVK_GIT_COMMIT; }

std::string os_description() {
  std::string s = os_release_name();
  utsname u{};
  if (uname(&u) == 0) {
    if (!s.empty()) s += ", ";
    s += std::string(u.sysname) + " " + u.release + " " + u.machine;
  }
  return s.empty() ? "unknown" : s;
}

nlohmann::json bench_provenance(const Device& device, const LoadedModel& lm) {
  const PhysicalDeviceInfo& d = device.info();
  VkPhysicalDeviceProperties props{};
  vkGetPhysicalDeviceProperties(device.physical_device(), &props);
  nlohmann::json j;
  j["schema_version"] = kBenchSchemaVersion;
  j["repvk"] = {{"version", REPVK_VERSION}, {"commit", repvk_commit()}};
  j["os"] = os_description();
  j["device_info"] = {{"name", d.name},
                      {"type", device_type_name(d.type)},
                      {"vendor_id", d.vendor_id},
                      {"device_id", d.device_id},
                      {"vulkan_api", format_api_version(d.api_version)}};
  j["driver"] = {{"name", d.driver_name},
                 {"info", d.driver_info},
                 {"version", decode_driver_version(d.vendor_id, d.driver_name, props.driverVersion)},
                 {"version_raw", props.driverVersion}};
  j["model"] = lm.model.name;
  j["model_file"] = lm.synthetic ? nlohmann::json() : nlohmann::json(lm.source);
  j["model_hash"] = model_hash(lm);
  return j;
}

std::string report_markdown(const nlohmann::json& p, const ReportRow& r) {
  const auto& dev = p.at("device_info");
  const auto& drv = p.at("driver");
  const std::string driver = drv.at("name").get<std::string>() + " " +
                             drv.at("info").get<std::string>() + " (" +
                             drv.at("version").get<std::string>() + ")";
  // A file: its name and enough of its hash to tell files apart; a synthetic model:
  // its description.
  const std::string hash = p.at("model_hash").get<std::string>();
  const std::string model =
      hash.rfind("sha256:", 0) == 0
          ? p.at("model").get<std::string>() + " `" + hash.substr(0, 7 + 12) + "`"
          : hash;
  std::string s =
      "| device | driver | OS | commit | model | batch | precision | kernel | GPU ms | images/s |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n";
  s += "| " + cell(dev.at("name").get<std::string>()) + " | " + cell(driver) + " | " +
       cell(p.at("os").get<std::string>()) + " | `" +
       cell(p.at("repvk").at("commit").get<std::string>()) + "` | " +
       cell(model) + " | " +
       std::to_string(r.batch) + " | " + cell(r.precision) + " | " + cell(r.kernel) + " | " +
       (r.gpu_ms > 0 ? fixed(r.gpu_ms, 2) : std::string("-")) + " | " +
       fixed(r.images_per_second, 1) + " |\n";
  return s;
}

void write_report(const std::string& path, const nlohmann::json& provenance, const ReportRow& row) {
  write_file_atomically(path, report_markdown(provenance, row));
}

}  // namespace repvk::cli
