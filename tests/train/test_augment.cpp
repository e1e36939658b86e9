// SPDX-License-Identifier: MIT
// Batch assembly (data/augment.h) on ramp images whose every pixel value is unique
// within its image and nonzero, so each output image can be traced back to the one
// crop offset and flip that produced it, and zero marks the padding.
#include <utility>

#include "data/augment.h"
#include "util.h"

namespace repvk::train {
namespace {

using namespace testing;

constexpr int64_t kC = 2, kH = 5, kW = 6;  // not square: a transpose changes the shape

// value(n, c, y, x) = 1 + 30c + 6y + x + 60(n mod 4): 1..240, unique per image.
Dataset ramp_dataset(int64_t n) {
  Dataset d;
  d.name = "ramp";
  d.images = torch::empty({n, kC, kH, kW}, torch::kUInt8);
  auto a = d.images.accessor<uint8_t, 4>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < kC; ++c)
      for (int64_t y = 0; y < kH; ++y)
        for (int64_t x = 0; x < kW; ++x) a[i][c][y][x] = uint8_t(1 + 30 * c + 6 * y + x + 60 * (i % 4));
  d.labels = torch::zeros({n}, torch::kInt64);
  d.class_names = {"only"};
  return d;
}

const Normalization kIdentity{{0, 0}, {1, 1}};

// Image `i` as float in [0,1], cropped: output (y, x) is input (y + dy - p, x + dx - p),
// 0 outside the image; then mirrored left-right when `flip`.
torch::Tensor expected(const Dataset& d, int64_t i, int64_t p, int64_t dy, int64_t dx, bool flip) {
  torch::Tensor out = torch::zeros({kC, kH, kW});
  auto o = out.accessor<float, 3>();
  auto a = d.images.accessor<uint8_t, 4>();
  for (int64_t c = 0; c < kC; ++c)
    for (int64_t y = 0; y < kH; ++y)
      for (int64_t x = 0; x < kW; ++x) {
        const int64_t sy = y + dy - p, sx = (flip ? kW - 1 - x : x) + dx - p;
        if (sy >= 0 && sy < kH && sx >= 0 && sx < kW) o[c][y][x] = float(a[i][c][sy][sx]) / 255.0f;
      }
  return out;
}

struct Traced {
  int64_t dy = -1, dx = -1;
  bool flip = false;
  int matches = 0;
};

// The crop offsets (0..2p each) and flip that turn input `i` into `out`; matches
// counts how many candidates fit (exactly one for these ramps).
Traced trace(const Dataset& d, int64_t i, const torch::Tensor& out, int64_t p, bool may_flip) {
  Traced t;
  for (int64_t dy = 0; dy <= 2 * p; ++dy)
    for (int64_t dx = 0; dx <= 2 * p; ++dx)
      for (bool flip : {false, true}) {
        if (flip && !may_flip) continue;
        if (out.equal(expected(d, i, p, dy, dx, flip))) {
          t = {dy, dx, flip, t.matches + 1};
        }
      }
  return t;
}

// Every output is a crop of its zero-padded input at an offset within the padding,
// optionally mirrored left-right; over 200 images every offset and both flip states
// occur.
void check_augmentation(int64_t p, bool hflip) {
  SCOPED_TRACE("padding " + std::to_string(p) + (hflip ? ", flips" : ", no flips"));
  const int64_t n = 200;
  const Dataset d = ramp_dataset(n);
  const torch::Tensor idx = torch::arange(n);
  const torch::Tensor batch = make_batch(d, idx, kIdentity, Augmentation{p, hflip}, 1234);
  ASSERT_EQ(batch.sizes(), (std::vector<int64_t>{n, kC, kH, kW}));
  std::vector<int> dy_seen(size_t(2 * p + 1)), dx_seen(size_t(2 * p + 1));
  int flips = 0;
  for (int64_t i = 0; i < n; ++i) {
    const Traced t = trace(d, i, batch[i], p, hflip);
    ASSERT_EQ(t.matches, 1) << "image " << i << " is no crop" << (hflip ? " or mirrored crop" : "")
                            << " of its zero-padded input:\n" << batch[i] * 255;
    ++dy_seen[size_t(t.dy)];
    ++dx_seen[size_t(t.dx)];
    flips += t.flip;
  }
  for (int64_t o = 0; o <= 2 * p; ++o) {
    EXPECT_GT(dy_seen[size_t(o)], 0) << "vertical offset " << o << " never drawn";
    EXPECT_GT(dx_seen[size_t(o)], 0) << "horizontal offset " << o << " never drawn";
  }
  if (hflip) {
    EXPECT_GT(flips, 60);
    EXPECT_LT(flips, 140);
  }
}

TEST(Augment, CropIsAWindowOfTheZeroPaddedImage) { check_augmentation(2, false); }
TEST(Augment, FlipMirrorsColumns) { check_augmentation(0, true); }
TEST(Augment, CropThenFlip) { check_augmentation(1, true); }

// Known coordinates, no tracing: with offset (0, 0) the top p rows and left p columns
// are padding and input (0, 0) lands at (p, p).
TEST(Augment, PaddingIsBlackAndShiftsTheImage) {
  const int64_t p = 2;
  const Dataset d = ramp_dataset(200);
  const torch::Tensor batch = make_batch(d, torch::arange(200), kIdentity, Augmentation{p, false}, 99);
  int found = 0;
  for (int64_t i = 0; i < 200; ++i) {
    const torch::Tensor b = batch[i] * 255;
    // Offset (0, 0) and only it: row p-1 and column p-1 all padding, (p, p) not.
    if (b[0][p - 1].abs().max().item<float>() != 0 || b[0].select(1, p - 1).abs().max().item<float>() != 0 ||
        b[0][p][p].item<float>() == 0)
      continue;
    ++found;
    const float base = float(60 * (i % 4));
    EXPECT_FLOAT_EQ(b[0][p][p].item<float>(), 1 + base) << "image " << i;
    EXPECT_FLOAT_EQ(b[1][p][p + 1].item<float>(), 1 + 30 + 1 + base) << "image " << i;
    EXPECT_FLOAT_EQ(b[1][kH - 1][kW - 1].item<float>(), 1 + 30 + 6 * (kH - 1 - p) + (kW - 1 - p) + base);
    EXPECT_EQ(b.narrow(1, 0, p).abs().max().item<float>(), 0.0f) << "top rows are padding";
    EXPECT_EQ(b.narrow(2, 0, p).abs().max().item<float>(), 0.0f) << "left columns are padding";
  }
  EXPECT_GT(found, 0) << "no image drew offset (0, 0) in 200";
}

// Without augmentation: the indexed images, in index order, normalized per channel.
TEST(Augment, PlainBatchIsIndexedAndNormalized) {
  const Dataset d = ramp_dataset(8);
  const Normalization norm{{0.25f, 0.5f}, {0.5f, 0.25f}};
  const torch::Tensor idx = torch::tensor({5, 2, 7}, torch::kInt64);
  const torch::Tensor b = make_batch(d, idx, norm, {}, 0);
  ASSERT_EQ(b.sizes(), (std::vector<int64_t>{3, kC, kH, kW}));
  const std::pair<int64_t, int64_t> coords[] = {{0, 0}, {1, 4}, {4, 5}};
  for (int64_t k = 0; k < 3; ++k) {
    const int64_t i = idx[k].item<int64_t>();
    for (int64_t c = 0; c < kC; ++c)
      for (const auto& [y, x] : coords) {
        const double v = (1 + 30 * c + 6 * y + x + 60 * (i % 4)) / 255.0;
        EXPECT_NEAR(b[k][c][y][x].item<double>(), (v - norm.mean[size_t(c)]) / norm.std[size_t(c)], 1e-5)
            << "batch item " << k << " channel " << c << " (" << y << ", " << x << ")";
      }
  }
}

TEST(Augment, ReproducibleFromTheBatchSeed) {
  const Dataset d = synthetic_dataset(16, 3, 8, 4, 1);
  const Normalization n = compute_normalization(d);
  const Augmentation aug{2, true};
  torch::Tensor idx = torch::arange(16);
  torch::Tensor a = make_batch(d, idx, n, aug, 77), b = make_batch(d, idx, n, aug, 77);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{16, 3, 8, 8}));
  EXPECT_TRUE(a.equal(b));
  EXPECT_FALSE(a.equal(make_batch(d, idx, n, aug, 78)));
  // Without augmentation and with the data's own statistics the batch has mean 0.
  torch::Tensor plain = make_batch(d, idx, n, {}, 0);
  EXPECT_NEAR(plain.mean().item<double>(), 0.0, 1e-4);
  EXPECT_TRUE(std::get<0>(epoch_permutation(100, 3, 1).sort()).equal(torch::arange(100)));
  EXPECT_TRUE(epoch_permutation(100, 3, 1).equal(epoch_permutation(100, 3, 1)));
}

}  // namespace
}  // namespace repvk::train
