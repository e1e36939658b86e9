// SPDX-License-Identifier: MIT
// The run's log file, and what the trainer shows after the shared progress bar
// (tools/common/progress_bar.h).
#pragma once

#include <fstream>
#include <string>

#include "progress_bar.h"

namespace repvk::train {

// "loss 0.1234 acc 91.20%   512 img/s": the running figures of one epoch.
std::string progress_detail(double loss, double acc, double images_per_s);

// Appends timestamped lines to a file and echoes them to stdout.
class Logger {
 public:
  Logger() = default;
  explicit Logger(const std::string& path);
  void log(const std::string& line);
  // Console lines go to stderr instead of stdout (when stdout carries JSON).
  void to_stderr() { stderr_ = true; }

 private:
  std::ofstream file_;
  bool stderr_ = false;
};

std::string format_duration(double seconds);

}  // namespace repvk::train
