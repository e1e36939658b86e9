// Merge equivalence: the deploy form (one 3x3 conv + bias per block) computes the
// training form's eval-mode logits, for plain BN and OABN alike.
#include "util.h"

namespace repvk::train {
namespace {

using namespace testing;

class MergeTest : public ::testing::TestWithParam<NormKind> {};

TEST_P(MergeTest, MergedLogitsMatchTrainingForm) {
  torch::manual_seed(3);
  RepVGG net(tiny_config(GetParam()));
  randomize_norms(*net, 4);
  net->eval();
  DeployNet deploy = net->merge();
  ASSERT_EQ(deploy->num_layers(), net->blocks.size() + 1);
  torch::NoGradGuard ng;
  torch::Tensor x = torch::randn({16, 3, 8, 8});
  const double rel = max_rel_diff(net->forward(x), deploy->forward(x));
  EXPECT_LT(rel, 1e-4);
}

TEST_P(MergeTest, MergeAfterTrainingStepsWithBatchStatistics) {
  torch::manual_seed(5);
  RepVGG net(tiny_config(GetParam()));
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  net->train();
  for (int i = 0; i < 10; ++i) {
    torch::Tensor x = torch::randn({32, 3, 8, 8}) * 2 + 0.5;
    torch::Tensor y = torch::randint(0, 5, {32}, torch::kInt64);
    opt.zero_grad();
    torch::nn::functional::cross_entropy(net->forward(x), y).backward();
    opt.step();
  }
  net->eval();
  DeployNet deploy = net->merge();
  torch::NoGradGuard ng;
  torch::Tensor x = torch::randn({16, 3, 8, 8});
  EXPECT_LT(max_rel_diff(net->forward(x), deploy->forward(x)), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Norms, MergeTest, ::testing::Values(NormKind::Bn, NormKind::Oabn),
                         [](const auto& info) { return info.param == NormKind::Bn ? "bn" : "oabn"; });

}  // namespace
}  // namespace repvk::train
