// SPDX-License-Identifier: MIT
#include "shader_stats_isa.h"

#include <algorithm>
#include <map>
#include <sstream>
#include <vector>

namespace repvk::cli {
namespace {

struct Line {
  std::string label;     // "BB3" for a "BB3:" line
  std::string mnemonic;  // first token of an instruction line
  std::string target;    // branch target label, if any
};

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// Splits the text into labels and instructions; comments (";" or "//") are dropped.
std::vector<Line> tokenize(const std::string& text) {
  std::vector<Line> lines;
  std::istringstream in(text);
  std::string raw;
  while (std::getline(in, raw)) {
    const size_t comment = std::min(raw.find(';'), raw.find("//"));
    std::string s = raw.substr(0, comment);
    const size_t b = s.find_first_not_of(" \t");
    if (b == std::string::npos) continue;
    s = s.substr(b);
    s.erase(s.find_last_not_of(" \t\r") + 1);
    Line line;
    if (s.back() == ':' && s.find(' ') == std::string::npos) {
      line.label = s.substr(0, s.size() - 1);
      lines.push_back(line);
      continue;
    }
    std::istringstream words(s);
    words >> line.mnemonic;
    if (starts_with(line.mnemonic, "s_cbranch") || line.mnemonic == "s_branch") {
      std::string t;
      words >> t;
      line.target = t;
    }
    lines.push_back(line);
  }
  return lines;
}

bool is_fma(const std::string& m) {
  return starts_with(m, "v_fma") || starts_with(m, "v_fmac") || starts_with(m, "v_mac_") ||
         starts_with(m, "v_mad") || starts_with(m, "v_pk_fma") || starts_with(m, "v_dot");
}

// Multiply-adds per lane of one FMA-class instruction.
uint32_t multiply_adds_of(const std::string& m) {
  if (starts_with(m, "v_pk_fma") || starts_with(m, "v_dot2")) return 2;
  if (starts_with(m, "v_dot4")) return 4;
  if (starts_with(m, "v_dot8")) return 8;
  return 1;
}

bool is_vmem_load(const std::string& m) {
  return starts_with(m, "buffer_load") || starts_with(m, "global_load") ||
         starts_with(m, "flat_load") || starts_with(m, "tbuffer_load") ||
         starts_with(m, "image_load") || starts_with(m, "image_sample") ||
         starts_with(m, "scratch_load");
}

}  // namespace

LoopProfile profile_hottest_loop(const std::string& text) {
  LoopProfile p;
  const std::vector<Line> lines = tokenize(text);
  uint32_t amd_like = 0;
  std::map<std::string, size_t> label_at;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& m = lines[i].mnemonic;
    if (starts_with(m, "s_") || starts_with(m, "v_")) ++amd_like;
    if (!lines[i].label.empty()) label_at[lines[i].label] = i;
  }
  // Every AMD shader ends in s_endpgm and is mostly s_/v_ instructions.
  p.parsed = amd_like > 0 && std::any_of(lines.begin(), lines.end(), [](const Line& l) {
               return l.mnemonic == "s_endpgm";
             });
  if (!p.parsed) return p;

  struct Loop {
    size_t begin, end;
    uint32_t depth = 0;
  };
  std::vector<Loop> loops;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].target.empty()) continue;
    const auto it = label_at.find(lines[i].target);
    if (it != label_at.end() && it->second < i) loops.push_back({it->second, i});
  }
  if (loops.empty()) return p;
  for (Loop& l : loops)
    for (const Loop& o : loops)
      if (o.begin <= l.begin && l.end <= o.end) ++l.depth;  // counts itself: depth >= 1

  auto count = [&](const Loop& l) {
    LoopProfile c;
    c.parsed = c.has_loop = true;
    c.depth = l.depth;
    for (size_t i = l.begin; i <= l.end; ++i) {
      const std::string& m = lines[i].mnemonic;
      if (m.empty()) continue;
      ++c.instructions;
      if (starts_with(m, "v_")) {
        ++c.valu;
        if (is_fma(m)) {
          ++c.fma;
          c.multiply_adds += multiply_adds_of(m);
        }
      }
      if (is_vmem_load(m)) ++c.vmem_loads;
      if (starts_with(m, "s_load") || starts_with(m, "s_buffer_load")) ++c.smem_loads;
      if (starts_with(m, "ds_read") || starts_with(m, "ds_load")) ++c.lds_loads;
    }
    return c;
  };
  LoopProfile best;
  for (const Loop& l : loops) {
    const LoopProfile c = count(l);
    if (!best.has_loop || c.depth > best.depth || (c.depth == best.depth && c.valu > best.valu))
      best = c;
  }
  return best;
}

}  // namespace repvk::cli
