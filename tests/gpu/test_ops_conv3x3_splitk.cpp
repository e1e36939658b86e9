// SPDX-License-Identifier: MIT
// conv3x3_igemm's split-K path (K slices of input channels summed into fp32 partials,
// shaders/conv3x3_splitk_reduce.comp adding them up with bias and ReLU) against the CPU
// reference on fresh random data, output and workspace poisoned first: forced slice
// counts 2, 3 and Cin with Cin not a multiple of them, batch 1 and 17, 1x1 and 14x14
// planes, stride 1 and 2, bits 0/1/4/8 per layer and per channel, fp32 and fp16
// storage, ReLU on and off, both register blocks. The chooser is tested without a
// device, and a whole A0-like network with the chooser splitting (as for 132 compute
// units) against the CPU reference. CI runs the gpu label at lavapipe subgroup sizes 4,
// 8 and 16.
#include <gtest/gtest.h>

#include <sstream>

#include "gpu_fixture.h"
#include "ops/conv3x3_igemm.h"
#include "ops/conv3x3_splitk.h"
#include "repvk/cpu_reference.h"
#include "repvk/synthetic.h"
#include "repvk_internal/network_tuning.h"
#include "fp16_bounds.h"
#include "test_ops_util.h"

namespace repvk {
namespace {

using test::GpuTest;

struct SplitCase {
  uint32_t n, cin, h, w, cout, stride;
  bool relu;
  uint32_t slices;  // forced; 0 = Cin
  uint32_t bits;
  CodebookGranularity granularity;
  bool fp16;
  uint32_t block;
  uint32_t expect_slices;  // after split_k_slices()
};

constexpr auto kLayer = CodebookGranularity::PerLayer;
constexpr auto kChannel = CodebookGranularity::PerOutputChannel;

// Each case is three pipelines on lavapipe (unsplit and split igemm, the reduction),
// so the dimensions are spread over few cases rather than crossed.
constexpr SplitCase kCases[] = {
    // A slice's channel count is rounded up to the index chunk's R (14, 7, 4, 3, 2, 2, 2, 3
    // input channels for 1..8 bits), so every slice opens a chunk.
    {1, 10, 14, 14, 70, 1, true, 3, 4, kLayer, false, 8, 2},      // 6+4 channels (R 3), 2 channel tiles
    {17, 7, 1, 1, 9, 1, false, 2, 0, kLayer, false, 8, 2},        // dense, 1x1, batch 17
    {1, 30, 14, 14, 20, 2, true, 0, 1, kChannel, false, 8, 3},    // S = Cin asked: 14+14+2 (R 14), stride 2
    {17, 9, 14, 14, 16, 2, false, 2, 8, kChannel, true, 8, 2},    // fp16, codebooks from memory, 6+3
    {1, 11, 1, 1, 130, 2, true, 3, 8, kLayer, true, 8, 2},        // 1x1 plane, 3 channel tiles, 6+5
    {17, 13, 14, 14, 8, 1, true, 0, 4, kChannel, true, 8, 5},     // S = Cin asked: 3+3+3+3+1, batch 17
    {1, 3, 14, 14, 5, 1, false, 2, 0, kLayer, false, 8, 2},       // dense: 2+1 channels
    {1, 9, 6, 6, 12, 1, true, 4, 2, kLayer, false, 8, 2},         // 7+2 channels (R 7)
    {17, 10, 14, 14, 20, 1, false, 3, 4, kChannel, false, 4, 2},  // the 4x4 block
};

void check(Device& device, std::mt19937_64& rng, const SplitCase& s) {
  std::ostringstream what;
  what << "split-K " << (s.slices ? s.slices : s.cin) << " block " << s.block << " n=" << s.n
       << " cin=" << s.cin << " " << s.h << "x" << s.w << " cout=" << s.cout
       << " stride=" << s.stride << (s.relu ? " relu" : "") << " bits=" << s.bits
       << (s.bits ? (s.granularity == kChannel ? " per-channel" : " per-layer") : "")
       << (s.fp16 ? " fp16" : " fp32") << "; " << test::seed_note();
  if (s.fp16 && !device.enabled().storage_16bit) {
    test::skip_case("no storageBuffer16BitAccess: " + what.str());
    return;
  }
  const Layer layer = test::random_layer(rng, LayerType::Conv3x3, s.cin, s.cout, s.stride,
                                         s.relu, s.bits, s.granularity);
  std::vector<float> input = test::random_floats(rng, size_t(s.n) * s.cin * s.h * s.w, 1.0f);
  if (s.fp16) input = test::round_to_half(input);
  Conv3x3Args args{device, VK_NULL_HANDLE, layer, TensorShape{s.cin, s.h, s.w}, s.fp16, s.n};
  args.tuning.igemm_split_k = s.slices ? s.slices : s.cin;
  Conv3x3IgemmOp op(args, s.block);
  ASSERT_EQ(op.split_k(s.n), s.expect_slices) << what.str();
  ASSERT_NE(op.reduce_pipeline(), nullptr) << what.str();
  const TensorShape out = op.output_shape();
  EXPECT_EQ(op.workspace_bytes(),
            uint64_t(s.expect_slices) * s.n * out.h * out.w * out.c * sizeof(float))
      << what.str();
  const IgemmConvConfig& c = op.config();
  EXPECT_EQ(op.workgroups(s.n), uint64_t((s.n * out.h * out.w + c.tile_m() - 1) / c.tile_m()) *
                                    ((out.c + c.tile_n() - 1) / c.tile_n()) * s.expect_slices);
  std::vector<float> ref(size_t(s.n) * out.elements());
  const std::vector<float> dense = decode_weights(layer);
  cpu::conv3x3(input.data(), s.n, s.cin, s.h, s.w, dense.data(), layer.bias.data(), s.cout,
               s.stride, s.relu, ref.data());
  const test::OpRun run = test::run_op(device, op, input, s.fp16, ref.size(), s.fp16, s.n);
  if (s.fp16) {
    test::expect_fp16_store({s.n, s.cin, s.h, s.w, s.cout, s.stride}, input, dense, layer.bias,
                            run.output, ref, s.expect_slices, what.str());
  } else {
    const test::Comparison cmp = test::compare(run.output, ref, 1e-4);
    EXPECT_EQ(cmp.bad, 0u) << what.str() << "; max rel err " << cmp.max_rel << " at " << cmp.worst
                           << " (gpu " << run.output[cmp.worst] << ", ref " << ref[cmp.worst] << ")";
  }
  EXPECT_TRUE(run.guard_intact) << what.str() << ": wrote past the end of the output";
}

TEST_F(GpuTest, Conv3x3SplitKMatchesCpuReference) {
  std::mt19937_64 r(test::test_seed() * 4241u);
  for (const SplitCase& s : kCases) check(device(), r, s);
}

// Forcing one slice, or a layer of one input channel, is the unsplit kernel: no
// workspace, no reduction.
TEST_F(GpuTest, Conv3x3SplitKOfOneIsTheFusedKernel) {
  std::mt19937_64 r(test::test_seed() * 31u);
  for (uint32_t cin : {1u, 6u}) {
    const Layer layer = test::random_layer(r, LayerType::Conv3x3, cin, 4, 1, true, 4, kLayer);
    Conv3x3Args args{device(), VK_NULL_HANDLE, layer, TensorShape{cin, 5, 5}, false, 2};
    args.tuning.igemm_split_k = cin == 1 ? 4 : 1;
    Conv3x3IgemmOp op(args, 8);
    EXPECT_EQ(op.split_k(2), 1u) << "cin " << cin;
    EXPECT_EQ(op.workspace_bytes(), 0u) << "cin " << cin;
    EXPECT_EQ(op.reduce_pipeline(), nullptr) << "cin " << cin;
  }
}

// The unsplit grid of conv3x3_igemm's 128x64 tile (the desktop block).
SplitKProblem igemm_problem(uint32_t batch, uint32_t cin, uint32_t oh, uint32_t ow, uint32_t cout) {
  const uint64_t m = uint64_t(batch) * oh * ow;
  return {((m + 127) / 128) * ((cout + 63) / 64), cin, m * cout * 4};
}

TEST(Conv3x3SplitKChooser, SmallLayersOnBigGpusSplit) {
  // A0's 14x14 layers (192 channels) at batch 1: 6 workgroups against 132 SMs.
  const SplitKProblem a0_14 = igemm_problem(1, 192, 14, 14, 192);
  EXPECT_EQ(a0_14.workgroups, 6u);
  const uint32_t s = choose_split_k(a0_14, 132, false);
  EXPECT_GT(s, 1u);
  EXPECT_GE(split_k_channels(192, s), kSplitKMinChannels);
  EXPECT_EQ(s, 24u) << "capped at 8 channels per slice";
  // The same layer on an RTX 4070 (46 SMs): the target 4 * 46 needs 31 slices, capped too.
  EXPECT_EQ(choose_split_k(a0_14, 46, false), 24u);
  // At batch 16 (75 workgroups): under 2 per unit on 132 and 46 SMs (ceil(4 * CUs / 75)
  // slices), enough on 32.
  const SplitKProblem a0_14_b16 = igemm_problem(16, 192, 14, 14, 192);
  EXPECT_EQ(a0_14_b16.workgroups, 75u);
  EXPECT_EQ(choose_split_k(a0_14_b16, 132, false), 8u);  // 8 x 24 channels
  EXPECT_EQ(choose_split_k(a0_14_b16, 46, false), 3u);   // 3 x 64 channels
  EXPECT_EQ(choose_split_k(a0_14_b16, 32, false), 1u);
}

TEST(Conv3x3SplitKChooser, LargeGridsCpusAndUnknownDevicesDoNotSplit) {
  // A0's 56x56 layer at batch 16: 392 workgroups, already 2.97 per SM of an H200.
  EXPECT_EQ(choose_split_k(igemm_problem(16, 48, 56, 56, 48), 132, false), 1u);
  const SplitKProblem small = igemm_problem(1, 192, 14, 14, 192);
  EXPECT_EQ(choose_split_k(small, 132, true), 1u) << "a CPU device";
  EXPECT_EQ(choose_split_k(small, 0, false), 1u) << "no compute units";
  EXPECT_EQ(choose_split_k(small, 1, false), 1u) << "6 workgroups fill one unit";
  // Fewer than 2 * 8 input channels leave nothing to split.
  EXPECT_EQ(choose_split_k(igemm_problem(1, 15, 7, 7, 16), 132, false), 1u);
  EXPECT_EQ(choose_split_k(igemm_problem(1, 16, 7, 7, 16), 132, false), 2u);
}

TEST(Conv3x3SplitKChooser, WorkspaceStaysBounded) {
  SplitKProblem p{1, 4096, kSplitKMaxWorkspaceBytes / 3};
  EXPECT_EQ(choose_split_k(p, 132, false), 3u);
  p.slice_bytes = kSplitKMaxWorkspaceBytes;
  EXPECT_EQ(choose_split_k(p, 132, false), 1u);
}

TEST(Conv3x3SplitKChooser, SlicesOpenIndexChunks) {
  // 4-bit indices: chunks of R = 3 input channels. A0's 14x14 layer at batch 1 on 132
  // SMs: at least 9 channels (8 rounded up to 3s) per slice, so 22 slices, not 24.
  SplitKProblem a0_14 = igemm_problem(1, 192, 14, 14, 192);
  a0_14.channel_granule = 3;
  const uint32_t s = choose_split_k(a0_14, 132, false);
  EXPECT_EQ(s, 22u);
  EXPECT_EQ(split_k_channels(192, s, 3), 9u);
  // 1-bit indices (R = 14): Cin under 28 cannot split at all; 30 gives 14+14+2.
  SplitKProblem narrow = igemm_problem(1, 27, 7, 7, 16);
  narrow.channel_granule = 14;
  EXPECT_EQ(choose_split_k(narrow, 132, false), 1u);
  EXPECT_EQ(split_k_slices(30, 30, 14), 3u);
  EXPECT_EQ(split_k_slices(10, 3, 3), 2u);  // 6+4
  for (uint32_t cin = 1; cin <= 64; ++cin)
    for (uint32_t asked = 1; asked <= cin; ++asked)
      for (uint32_t g : {1u, 2u, 3u, 4u, 7u, 14u}) {
        const uint32_t n = split_k_slices(cin, asked, g);
        const uint32_t per = split_k_channels(cin, n, g);
        EXPECT_EQ(per % g, 0u) << cin << " " << asked << " " << g;
        EXPECT_LT(uint64_t(n - 1) * per, cin) << "an empty slice: " << cin << " " << asked << " " << g;
        EXPECT_GE(uint64_t(n) * per, cin) << cin << " " << asked << " " << g;
      }
}

TEST(Conv3x3SplitKChooser, SlicesAreNeverEmpty) {
  EXPECT_EQ(split_k_slices(10, 4), 4u);  // 3+3+3+1
  EXPECT_EQ(split_k_slices(5, 4), 3u);   // 2+2+1
  EXPECT_EQ(split_k_slices(7, 100), 7u);
  EXPECT_EQ(split_k_slices(1, 8), 1u);
  EXPECT_EQ(split_k_slices(9, 1), 1u);
  for (uint32_t cin = 1; cin <= 64; ++cin)
    for (uint32_t asked = 1; asked <= cin + 2; ++asked) {
      const uint32_t s = split_k_slices(cin, asked);
      const uint32_t per = split_k_channels(cin, s);
      EXPECT_LE(s, std::min(asked, cin));
      EXPECT_LT(uint64_t(per) * (s - 1), cin) << cin << " / " << asked << ": empty last slice";
      EXPECT_GE(uint64_t(per) * s, cin) << cin << " / " << asked << ": channels left out";
    }
}

// A whole A0-shaped network (16 channels, 3 stages, at 56x56 input) with the chooser
// planning as for 132 compute units: its later layers split, and the logits match the
// CPU reference; the shared workspace serves every split layer. The Network reports
// (LayerPipelines::split_k) that those layers split.
TEST_F(GpuTest, NetworkWithChooserSplitMatchesCpuReference) {
  SyntheticConfig cfg;
  cfg.name = "a0-like";
  cfg.in_channels = 3;
  cfg.height = cfg.width = 56;
  cfg.num_classes = 10;
  cfg.stage_depths = {1, 2, 2};
  cfg.stage_widths = {16, 24, 40};
  cfg.stage_strides = {2, 2, 2};
  cfg.bits = 4;
  cfg.seed = test::test_seed();
  const Model model = make_synthetic_model(cfg);
  std::mt19937_64 rng(test::test_seed() * 13u);
  const uint32_t batch = 2;
  // What the chooser makes of it (the premise of this test): 16->24 s2 at 14x14 outputs
  // into 2 slices, the 24- and 40-channel 7x7 layers into 3 and 5.
  EXPECT_EQ(choose_split_k(igemm_problem(batch, 16, 14, 14, 24), 132, false), 2u);
  EXPECT_EQ(choose_split_k(igemm_problem(batch, 24, 7, 7, 40), 132, false), 3u);
  EXPECT_EQ(choose_split_k(igemm_problem(batch, 40, 7, 7, 40), 132, false), 5u);
  const std::vector<float> input =
      test::random_floats(rng, size_t(3) * 56 * 56 * batch, 1.0f);
  const auto ref = cpu::forward(model, input.data(), batch, true);
  NetworkOptions opts;
  opts.max_batch = batch;
  tuning(opts).compute_units = 132;
  opts.pipeline_cache_path = "none";
  tuning(opts).conv_algorithm = ConvAlgorithm::Igemm;
  // fp32 arithmetic, as the 1e-4 tolerance assumes: under `auto` the fp16-math probe
  // decides by timing, and on a loaded machine lavapipe's emulated fp16 can win it.
  opts.fp16_math = Fp16Math::Off;
  Network net(device(), model, opts);
  ASSERT_FALSE(net.fp16_math());
  // The Network really split those layers, and dispatches the reduction after them.
  const std::vector<LayerPipelines> layers = net.pipelines();
  ASSERT_EQ(layers.size(), model.layers.size());
  uint32_t split_layers = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = model.layers[i];
    if (l.type != LayerType::Conv3x3) continue;
    uint32_t want = 1;
    if (l.in_channels == 16 && l.out_channels == 24) want = 2;
    if (l.in_channels == 24 && l.out_channels == 40) want = 3;
    if (l.in_channels == 40 && l.out_channels == 40) want = 5;
    if (want > 1) {
      EXPECT_EQ(layers[i].split_k, want) << layers[i].layer;
    }
    if (layers[i].split_k < 2) continue;
    ++split_layers;
    bool reduce = false;
    for (const CreatedPipeline& p : layers[i].pipelines)
      reduce |= p.shader.rfind("conv3x3_splitk_reduce", 0) == 0;
    EXPECT_TRUE(reduce) << layers[i].layer << " splits K but lists no reduction";
  }
  EXPECT_GE(split_layers, 3u) << "16->24, 24->40 and 40->40 split";
  const std::vector<float> logits = net.infer_logits(input, batch);
  ASSERT_EQ(logits.size(), ref.size());
  const test::Comparison cmp = test::compare(logits, ref, 1e-4);
  EXPECT_EQ(cmp.bad, 0u) << test::seed_note() << "; max rel err " << cmp.max_rel;
  // A smaller batch than planned re-chooses per layer within the same workspace.
  const std::vector<float> one(input.begin(), input.begin() + long(input.size() / batch));
  const std::vector<float> logits1 = net.infer_logits(one, 1);
  const auto ref1 = cpu::forward(model, one.data(), 1, true);
  const test::Comparison cmp1 = test::compare(logits1, ref1, 1e-4);
  EXPECT_EQ(cmp1.bad, 0u) << test::seed_note() << "; batch 1: max rel err " << cmp1.max_rel;
}

}  // namespace
}  // namespace repvk
