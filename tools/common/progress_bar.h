// SPDX-License-Identifier: MIT
// A one-line progress bar on stderr for long runs (`repvk eval`, `repvk-train`). On
// a terminal it is redrawn in place with '\r' (at most ~10 times a second); anywhere
// else (a log file, nohup, CI) it writes a plain line at every tenth of the way, so
// logs stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace repvk::tools {

class ProgressBar {
 public:
  // enabled=false (or total 0) makes every call a no-op. `label` starts the line
  // ("epoch 2/10"); `unit` names what is counted, for the rate ("img" -> "img/s").
  ProgressBar(uint64_t total, bool enabled, std::string label = "", std::string unit = "img",
              std::FILE* out = stderr);
  ~ProgressBar();  // finishes the line if it was drawn
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // `detail` follows the counts (the trainer's running loss and accuracy).
  void update(uint64_t done, const std::string& detail = "");
  void finish();

  // True when stderr is a terminal.
  static bool stderr_is_tty();

  // The text of one bar (exposed for tests): e.g.
  // "[########                ] 3200/10000  812.5 img/s  ETA 0:08"
  static std::string render(uint64_t done, uint64_t total, double seconds, unsigned width = 24,
                            const std::string& unit = "img");

 private:
  void draw(uint64_t done, bool force);

  uint64_t total_;
  bool enabled_;
  std::string label_, unit_;
  std::FILE* out_;
  bool tty_;
  bool drawn_ = false;
  bool finished_ = false;
  int drawn_tenth_ = -1;
  uint64_t last_done_ = 0;
  uint64_t drawn_done_ = 0;
  std::string detail_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace repvk::tools
