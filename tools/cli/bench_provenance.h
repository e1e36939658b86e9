// SPDX-License-Identifier: MIT
// Result provenance for `repvk bench`: what a timing needs next to it to be
// reproduced or compared (docs/benchmarks.md, "Submitting a result"): the device
// and its driver, the Vulkan API, repvk's version and commit, the OS, the model's
// hash, and the choices the engine made. Also the one-row Markdown report of
// `bench --report FILE.md`.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common.h"

namespace repvk::cli {

// Version of the layout of `bench --json` (docs/versioning.md). Raise it when a
// field is removed or changes meaning; adding a field does not.
constexpr int kBenchSchemaVersion = kJsonSchemaVersion;

// "<major>.<minor>.<patch>" decoded the way the vendor packs VkPhysicalDeviceProperties::
// driverVersion (NVIDIA and Intel-on-Windows differ from VK_MAKE_API_VERSION).
std::string decode_driver_version(uint32_t vendor_id, const std::string& driver_name,
                                  uint32_t driver_version);

// "sha256:<hex>" of the model file, or "synthetic:<description>" for a generated one.
std::string model_hash(const LoadedModel& lm);

// The commit repvk was configured from ("unknown" outside a git checkout).
std::string repvk_commit();

// "Debian GNU/Linux 12 (bookworm), Linux 6.1.0-18-amd64 x86_64" or what is known.
std::string os_description();

// The fields above as a JSON object, merged into the top level of `bench --json`.
nlohmann::json bench_provenance(const Device& device, const LoadedModel& lm);

struct ReportRow {
  std::string precision, kernel;
  uint32_t batch = 0;
  double gpu_ms = 0, images_per_second = 0;
};
// The results table's header and separator, then one row; `provenance` is
// bench_provenance()'s object.
std::string report_markdown(const nlohmann::json& provenance, const ReportRow& row);
// Writes report_markdown() to `path` atomically (engine/util/atomic_file.h).
void write_report(const std::string& path, const nlohmann::json& provenance, const ReportRow& row);

}  // namespace repvk::cli
