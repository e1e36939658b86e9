// SPDX-License-Identifier: MIT
// Reads a driver's ISA text (VK_KHR_pipeline_executable_properties internal
// representation) for `repvk shader-stats`: finds the hottest loop and counts its
// instruction classes. Understands AMD GCN/RDNA disassembly (RADV's ACO and the
// AMDGPU LLVM backend); any other text is reported as not parsed, never guessed.
#pragma once

#include <cstdint>
#include <string>

namespace repvk::cli {

struct LoopProfile {
  bool parsed = false;        // the text was recognized as AMD ISA
  bool has_loop = false;      // a backward branch was found
  uint32_t depth = 0;         // nesting depth of the chosen loop (1 = outermost)
  uint32_t instructions = 0;  // in the loop body
  uint32_t valu = 0;          // vector ALU (v_*) instructions
  uint32_t fma = 0;           // of which multiply-adds (v_fma*, v_fmac*, v_mac*, v_mad*, v_pk_fma*, v_dot*)
  // The multiply-adds those instructions do per lane: a packed v_pk_fma_f16 or a
  // v_dot2_* counts 2, v_dot4_* 4, v_dot8_* 8, every other one 1 (v_fma_mix_* too).
  uint32_t multiply_adds = 0;
  uint32_t vmem_loads = 0;    // buffer/global/flat/tbuffer/image loads
  uint32_t smem_loads = 0;    // s_load*/s_buffer_load*
  uint32_t lds_loads = 0;     // ds_read*/ds_load*
  double fma_share() const { return valu ? double(fma) / valu : 0.0; }
};

// The hottest loop is the most deeply nested one (a loop nest's innermost body runs
// most often); among equals, the one with the most vector ALU instructions.
LoopProfile profile_hottest_loop(const std::string& isa_text);

}  // namespace repvk::cli
