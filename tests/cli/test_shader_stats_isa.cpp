// SPDX-License-Identifier: MIT
// The ISA reader behind `repvk shader-stats`: loop nesting, instruction classes,
// and refusing text that is not AMD ISA.
#include <gtest/gtest.h>

#include "shader_stats_isa.h"

using repvk::cli::profile_hottest_loop;

namespace {

// Shaped like RADV/ACO disassembly: labels, encodings in comments, an outer loop
// (BB1..BB6) around an inner one (BB3..BB4), and a second, shallower loop.
const char* kNested = R"(BB0:
	s_load_dwordx4 s[0:3], s[4:5], 0x0                          ; f4080002 fa000000
	v_mov_b32_e32 v0, 0                                         ; 7e000280
BB1:
	buffer_load_dword v1, v2, s[0:3], 0 offen                   ; e0301000 80000102
BB3:
	ds_read_b128 v[4:7], v3                                     ; d9fe0000 04000003
	global_load_dword v8, v[10:11], off                         ; dc308000 087d000a
	v_fmac_f32_e32 v0, v4, v5                                   ; 56000b04
	v_fma_f32 v0, v6, v7, v0                                    ; d54b0000 04020f06
	v_add_nc_u32_e32 v3, 16, v3                                 ; 4a060690
	s_cmp_lg_u32 s6, 0                                          ; bf078006
	s_cbranch_scc1 BB3                                          ; bf85fff8
BB4:
	v_cndmask_b32_e32 v1, v1, v0, vcc_lo                        ; 02020101
	s_cbranch_scc0 BB1                                          ; bf84fff0
BB6:
	v_mul_f32_e32 v9, v9, v9                                    ; 10121309
	v_mul_f32_e32 v9, v9, v9                                    ; 10121309
	v_mul_f32_e32 v9, v9, v9                                    ; 10121309
	v_mul_f32_e32 v9, v9, v9                                    ; 10121309
	s_cbranch_vccnz BB6                                         ; bf87fffb
	s_endpgm                                                    ; bf810000
)";

TEST(ShaderStatsIsa, PicksTheDeepestLoopAndCountsItsInstructions) {
  const auto p = profile_hottest_loop(kNested);
  ASSERT_TRUE(p.parsed);
  ASSERT_TRUE(p.has_loop);
  EXPECT_EQ(p.depth, 2u);          // BB3 inside BB1, though BB6 has more VALU
  EXPECT_EQ(p.instructions, 7u);   // ds_read .. s_cbranch_scc1
  EXPECT_EQ(p.valu, 3u);
  EXPECT_EQ(p.fma, 2u);
  EXPECT_EQ(p.vmem_loads, 1u);
  EXPECT_EQ(p.lds_loads, 1u);
  EXPECT_EQ(p.smem_loads, 0u);
  EXPECT_NEAR(p.fma_share(), 2.0 / 3.0, 1e-12);
}

TEST(ShaderStatsIsa, PackedAndMixedFp16FmasCount) {
  // RDNA fp16 math: packed FMAs (2 multiply-adds per lane), mixed-precision FMAs and
  // dot products are FMAs; the conversions and the fp16 multiply alone are not.
  const auto p = profile_hottest_loop(
      "BB0:\n\tv_pk_fma_f16 v0, v1, v2, v0\n\tv_fma_f16 v3, v4, v5, v3\n"
      "\tv_fmac_f16_e32 v6, v7, v8\n\tv_fma_mix_f32 v9, v1, v2, v9 op_sel_hi:[1,1,0]\n"
      "\tv_dot2_f32_f16 v10, v1, v2, v10\n\tv_pk_mul_f16 v11, v1, v2\n"
      "\tv_cvt_f32_f16_e32 v12, v0\n\ts_cbranch_scc1 BB0\n\ts_endpgm\n");
  ASSERT_TRUE(p.has_loop);
  EXPECT_EQ(p.valu, 7u);
  EXPECT_EQ(p.fma, 5u);
  EXPECT_EQ(p.multiply_adds, 2u + 1u + 1u + 1u + 2u);
}

TEST(ShaderStatsIsa, StraightLineCodeHasNoLoop) {
  const auto p = profile_hottest_loop("BB0:\n\tv_fma_f32 v0, v1, v2, v0\n\ts_branch BB1\nBB1:\n\ts_endpgm\n");
  EXPECT_TRUE(p.parsed);
  EXPECT_FALSE(p.has_loop);  // a forward branch is not a loop
}

TEST(ShaderStatsIsa, OtherIsaIsNotGuessedAt) {
  // Intel-style assembly: no s_endpgm, no s_/v_ mnemonics.
  const auto p = profile_hottest_loop("START:\nmad(8) g10<1>F g2<8,8,1>F g3<8,8,1>F g4<8,8,1>F\n"
                                      "send(8) g12UD g14UD 0x04115e10 0x00000000\njmpi START\n");
  EXPECT_FALSE(p.parsed);
  EXPECT_FALSE(p.has_loop);
  EXPECT_FALSE(profile_hottest_loop("").parsed);
}

}  // namespace
