// SPDX-License-Identifier: MIT
#include "progress_bar.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <unistd.h>

namespace repvk::tools {

ProgressBar::ProgressBar(uint64_t total, bool enabled, std::string label, std::string unit,
                         std::FILE* out)
    : total_(total),
      enabled_(enabled && total > 0),
      label_(std::move(label)),
      unit_(std::move(unit)),
      out_(out),
      tty_(isatty(fileno(out)) == 1) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

ProgressBar::~ProgressBar() { finish(); }

bool ProgressBar::stderr_is_tty() { return isatty(STDERR_FILENO) == 1; }

std::string ProgressBar::render(uint64_t done, uint64_t total, double seconds, unsigned width,
                                const std::string& unit) {
  done = std::min(done, total);
  const double frac = total ? double(done) / double(total) : 1.0;
  const unsigned filled = unsigned(std::lround(frac * width));
  std::string s = "[" + std::string(filled, '#') + std::string(width - filled, ' ') + "] ";
  s += std::to_string(done) + "/" + std::to_string(total);
  char buf[96];
  const double rate = seconds > 0 ? double(done) / seconds : 0.0;
  std::snprintf(buf, sizeof buf, "  %.1f %s/s", rate, unit.c_str());
  s += buf;
  if (rate > 0 && done < total) {
    const uint64_t eta = uint64_t(std::ceil(double(total - done) / rate));
    std::snprintf(buf, sizeof buf, "  ETA %llu:%02llu", (unsigned long long)(eta / 60),
                  (unsigned long long)(eta % 60));
    s += buf;
  }
  return s;
}

void ProgressBar::update(uint64_t done, const std::string& detail) {
  if (!enabled_ || finished_) return;
  last_done_ = done;
  detail_ = detail;
  draw(done, false);
}

void ProgressBar::draw(uint64_t done, bool force) {
  const auto now = std::chrono::steady_clock::now();
  const int tenth = int(10 * std::min(done, total_) / total_);
  if (!force) {
    // A terminal: redrawing more than ~10 times a second only costs bandwidth.
    // Elsewhere: one line per tenth of the way.
    if (tty_ && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    if (!tty_ && tenth == drawn_tenth_) return;
  }
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  std::string line = render(done, total_, seconds, 24, unit_);
  if (!label_.empty()) line = label_ + " " + line;
  if (!detail_.empty()) line += "  " + detail_;
  if (tty_)  // trailing spaces wipe leftovers of a longer previous line (e.g. the ETA)
    std::fprintf(out_, "\r%s      ", line.c_str());
  else
    std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
  drawn_ = true;
  drawn_tenth_ = tenth;
  drawn_done_ = done;
}

void ProgressBar::finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  if (!drawn_) return;
  // The last update may have been skipped by the rate limit; show the final count.
  if (drawn_done_ != last_done_) draw(last_done_, true);
  if (tty_) std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace repvk::tools
