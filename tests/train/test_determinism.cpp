// SPDX-License-Identifier: MIT
// Same seed, same weights; a run interrupted and resumed from its checkpoint ends
// with exactly the weights of an uninterrupted run.
#include <csignal>
#include <filesystem>

#include "trainer.h"
#include "util.h"

namespace repvk::train {
namespace {

using namespace testing;

struct Outcome {
  std::vector<torch::Tensor> params;
};

Outcome train_tiny(uint64_t seed, int64_t epochs, const std::string& ckpt, bool resume,
               int interrupt_at = -1) {
  const Dataset train = synthetic_dataset(96, 3, 8, 5, 100);
  const Normalization norm = compute_normalization(train);
  torch::manual_seed(seed);
  RepVGG net(tiny_config(NormKind::Oabn));
  TrainTarget t;
  t.module = net.ptr().get();
  t.forward = [&](const torch::Tensor& x) { return net->forward(x); };
  t.meta = {{"stage", "test"}};
  int steps = 0;
  // Ctrl-C in the middle of epoch 2 (3 steps per epoch).
  t.after_step = [&] {
    if (++steps == interrupt_at) std::raise(SIGINT);
  };
  TrainOptions opt;
  opt.epochs = epochs;
  opt.batch = 32;
  opt.lr = 0.05;
  opt.seed = seed;
  opt.aug.crop_padding = 1;
  opt.aug.hflip = true;
  opt.progress = false;
  opt.checkpoint = ckpt;
  Logger log;
  Trainer trainer(t, train, nullptr, norm, opt, torch::kCPU, log);
  trainer.run(resume ? ckpt : "");
  Outcome r;
  for (const auto& p : net->parameters()) r.params.push_back(p.detach().clone());
  for (const auto& b : net->buffers()) r.params.push_back(b.detach().clone());
  return r;
}

bool same(const Outcome& a, const Outcome& b) {
  if (a.params.size() != b.params.size()) return false;
  for (size_t i = 0; i < a.params.size(); ++i)
    if (!a.params[i].equal(b.params[i])) return false;
  return true;
}

TEST(Determinism, SameSeedSameWeights) {
  const Outcome a = train_tiny(5, 2, "", false), b = train_tiny(5, 2, "", false);
  EXPECT_TRUE(same(a, b));
  EXPECT_FALSE(same(a, train_tiny(6, 2, "", false)));
}

TEST(Determinism, CtrlCThenResumeContinuesTheSameRun) {
  const std::string ckpt = (std::filesystem::temp_directory_path() / "repvk_train_resume.pt").string();
  std::filesystem::remove(ckpt);
  const Outcome full = train_tiny(7, 3, "", false);
  EXPECT_THROW(train_tiny(7, 3, ckpt, false, 5), Interrupted);
  const auto meta = read_checkpoint_meta(ckpt);
  EXPECT_EQ(meta.at("epoch"), 1);
  EXPECT_EQ(meta.at("step"), 2);
  const Outcome resumed = train_tiny(7, 3, ckpt, true);
  std::filesystem::remove(ckpt);
  EXPECT_TRUE(same(full, resumed));
}

}  // namespace
}  // namespace repvk::train
