// SPDX-License-Identifier: MIT
// Merge equivalence: the deploy form (one 3x3 conv + bias per block) computes the
// training form's eval-mode logits, for plain BN and OABN alike. Both norms run in
// one test because every ctest entry pays libtorch's ~1 s start-up.
#include "util.h"

namespace repvk::train {
namespace {

using namespace testing;

const char* name(NormKind n) { return n == NormKind::Bn ? "bn" : "oabn"; }

void expect_merge_matches(RepVGG& net) {
  net->eval();
  DeployNet deploy = net->merge();
  ASSERT_EQ(deploy->num_layers(), net->blocks.size() + 1);
  torch::NoGradGuard ng;
  torch::Tensor x = torch::randn({16, 3, 8, 8});
  EXPECT_LT(max_rel_diff(net->forward(x), deploy->forward(x)), 1e-4);
}

TEST(Merge, MergedLogitsMatchTrainingForm) {
  for (NormKind norm : {NormKind::Bn, NormKind::Oabn}) {
    SCOPED_TRACE(name(norm));
    torch::manual_seed(3);
    RepVGG net(tiny_config(norm));
    randomize_norms(*net, 4);
    expect_merge_matches(net);
  }
}

TEST(Merge, MergeAfterTrainingStepsWithBatchStatistics) {
  for (NormKind norm : {NormKind::Bn, NormKind::Oabn}) {
    SCOPED_TRACE(name(norm));
    torch::manual_seed(5);
    RepVGG net(tiny_config(norm));
    torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
    net->train();
    for (int i = 0; i < 10; ++i) {
      torch::Tensor x = torch::randn({32, 3, 8, 8}) * 2 + 0.5;
      torch::Tensor y = torch::randint(0, 5, {32}, torch::kInt64);
      opt.zero_grad();
      torch::nn::functional::cross_entropy(net->forward(x), y).backward();
      opt.step();
    }
    expect_merge_matches(net);
  }
}

}  // namespace
}  // namespace repvk::train
