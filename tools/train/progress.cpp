// SPDX-License-Identifier: MIT
#include "progress.h"

#include <cstdio>
#include <ctime>
#include <iostream>

#include "common.h"

namespace repvk::train {

std::string format_duration(double s) {
  char b[32];
  const long t = long(s + 0.5);
  if (t >= 3600)
    std::snprintf(b, sizeof b, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else
    std::snprintf(b, sizeof b, "%ldm%02lds", t / 60, t % 60);
  return b;
}

std::string progress_detail(double loss, double acc, double images_per_s) {
  char line[128];
  std::snprintf(line, sizeof line, "loss %.4f acc %5.2f%% %6.0f img/s", loss, 100 * acc,
                images_per_s);
  return line;
}

Logger::Logger(const std::string& path) : file_(path, std::ios::app) {
  if (!file_) throw TrainError(path + ": cannot open log file for writing");
}

void Logger::log(const std::string& line) {
  (stderr_ ? std::cerr : std::cout) << line << std::endl;
  if (!file_.is_open()) return;
  char ts[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
  file_ << ts << "  " << line << std::endl;
}

}  // namespace repvk::train
