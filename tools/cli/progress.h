// A one-line progress bar on stderr for long runs (eval). Redrawn in place with
// '\r', so it is only shown on a terminal unless forced: a log file would get
// one line per redraw.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace repvk::cli {

class ProgressBar {
 public:
  // enabled=false makes every call a no-op.
  ProgressBar(uint64_t total, bool enabled, std::FILE* out = stderr);
  ~ProgressBar();  // finishes the line if it was drawn

  void update(uint64_t done);
  void finish();

  // True when stderr is a terminal.
  static bool stderr_is_tty();

  // The text of one bar (exposed for tests): e.g.
  // "[########                ] 3200/10000  812.5 img/s  ETA 0:08"
  static std::string render(uint64_t done, uint64_t total, double seconds, unsigned width = 24);

 private:
  void draw(uint64_t done, bool force);

  uint64_t total_;
  bool enabled_;
  std::FILE* out_;
  bool drawn_ = false;
  bool finished_ = false;
  uint64_t last_done_ = 0;
  uint64_t drawn_done_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace repvk::cli
