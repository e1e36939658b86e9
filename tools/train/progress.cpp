#include "progress.h"

#include <unistd.h>

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

ProgressBar::ProgressBar(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled), tty_(isatty(2) != 0),
      start_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(int64_t done, double loss, double acc, double ips) {
  if (!enabled_ || total_ <= 0) return;
  const double frac = double(done) / double(total_);
  const int decile = int(frac * 10);
  if (!tty_ && decile == last_decile_) return;
  last_decile_ = decile;
  const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double eta = done > 0 ? el * double(total_ - done) / double(done) : 0;
  constexpr int kWidth = 24;
  std::string bar(size_t(kWidth), '.');
  for (int i = 0; i < int(frac * kWidth); ++i) bar[size_t(i)] = '#';
  char line[256];
  std::snprintf(line, sizeof line, "%s [%s] %3d%% loss %.4f acc %5.2f%% %6.0f img/s ETA %s",
                label_.c_str(), bar.c_str(), int(frac * 100), loss, 100 * acc, ips,
                format_duration(eta).c_str());
  std::fprintf(stderr, tty_ ? "\r%s\033[K" : "%s\n", line);
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (enabled_ && tty_) std::fprintf(stderr, "\n");
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
