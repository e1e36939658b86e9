// Terminal progress bar and the run's log file.
#pragma once

#include <chrono>
#include <fstream>
#include <string>

namespace repvk::train {

// One line on stderr, redrawn in place on a terminal; elsewhere (nohup, CI) a plain
// line every 10% so log files stay readable.
class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total, bool enabled);
  void update(int64_t done, double loss, double acc, double images_per_s);
  void finish();

 private:
  std::string label_;
  int64_t total_;
  bool enabled_, tty_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_;
};

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
