// SPDX-License-Identifier: MIT
// The library's messages: repvk never writes to stdout or stderr. What it has to say
// (a pipeline cache it could not save, a validation message nobody else receives, the
// notes of a Network without NetworkOptions::on_note) goes to the log callback of the
// Device it concerns (DeviceOptions::on_log; the C API's repvk_device_options.on_log).
// Without a callback, messages are discarded.
// Thread-safety: the callback may run on any thread that uses the Device or its
// Networks, and on the driver's threads for validation messages; it must not call back
// into repvk.
#pragma once

#include <functional>
#include <string>

#include "repvk/export.h"

namespace repvk {

// In increasing severity; the C API's repvk_log_level has the same values.
enum class LogLevel {
  Debug = 0,    // detail for whoever is debugging repvk itself
  Info = 1,     // what the engine did that a user may want to know (--verbose)
  Warning = 2,  // something went wrong and repvk carried on (a cache file not written)
  Error = 3,    // something went wrong that the caller did not hear about otherwise
};
// "debug", "info", "warning", "error".
REPVK_API const char* log_level_name(LogLevel level);

// One message, one line, no trailing newline.
using LogCallback = std::function<void(LogLevel level, const std::string& message)>;

}  // namespace repvk
