// SPDX-License-Identifier: MIT
// Mixed bit widths under a budget (tools/train/quant/{knapsack,file_size,sensitivity,
// bit_allocation}): the knapsack against brute force, the file-size model against
// real exported files, the allocator's constraints and errors, and an end-to-end run
// of `repvk-train quantize --budget-kib` on Fashion-MNIST.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "export.h"
#include "quant/bit_allocation.h"
#include "quant/knapsack.h"
#include "util.h"

namespace fs = std::filesystem;
using namespace repvk::train;

namespace {

// Smallest value over every choice within the capacity (ties: smaller cost), or
// infeasible; enumerates all combinations.
KnapsackSolution brute_force(const std::vector<std::vector<KnapsackOption>>& g, int64_t cap) {
  KnapsackSolution best;
  std::vector<size_t> pick(g.size(), 0);
  for (;;) {
    int64_t c = 0;
    double v = 0;
    for (size_t i = 0; i < g.size(); ++i) {
      c += g[i][pick[i]].cost;
      v += g[i][pick[i]].value;
    }
    if (c <= cap && (!best.feasible || v < best.value - 1e-12 ||
                     (std::abs(v - best.value) <= 1e-12 && c < best.cost))) {
      best.feasible = true;
      best.value = v;
      best.cost = c;
      best.choice = pick;
    }
    size_t i = 0;
    while (i < g.size() && ++pick[i] == g[i].size()) pick[i++] = 0;
    if (i == g.size()) break;
  }
  return best;
}

TEST(Knapsack, MatchesBruteForceOnRandomInstances) {
  std::mt19937_64 rng(7);
  int feasible = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const size_t groups = 1 + rng() % 5;
    const int64_t unit = 1 + int64_t(rng() % 4);  // shared factor: exercises the gcd scaling
    std::vector<std::vector<KnapsackOption>> g(groups);
    int64_t max_total = 0;
    for (auto& opts : g) {
      const size_t n = 1 + rng() % 4;
      int64_t hi = 0;
      for (size_t k = 0; k < n; ++k) {
        // Values include negatives and exact ties.
        const KnapsackOption o{unit * int64_t(rng() % 12), double(int64_t(rng() % 9) - 2) * 0.5};
        hi = std::max(hi, o.cost);
        opts.push_back(o);
      }
      max_total += hi;
    }
    const int64_t cap = int64_t(rng() % uint64_t(max_total + 3));
    const KnapsackSolution dp = solve_multiple_choice_knapsack(g, cap);
    const KnapsackSolution bf = brute_force(g, cap);
    ASSERT_EQ(dp.feasible, bf.feasible) << "trial " << trial;
    if (!bf.feasible) {
      int64_t lo = 0;
      for (auto& opts : g) {
        int64_t m = opts[0].cost;
        for (auto& o : opts) m = std::min(m, o.cost);
        lo += m;
      }
      EXPECT_EQ(dp.min_cost, lo);
      EXPECT_GT(dp.min_cost, cap);
      continue;
    }
    ++feasible;
    ASSERT_NEAR(dp.value, bf.value, 1e-9) << "trial " << trial;
    EXPECT_EQ(dp.cost, bf.cost) << "trial " << trial;
    EXPECT_LE(dp.cost, cap);
    // The reported totals are those of the reported choice.
    int64_t c = 0;
    double v = 0;
    for (size_t i = 0; i < groups; ++i) {
      c += g[i][dp.choice[i]].cost;
      v += g[i][dp.choice[i]].value;
    }
    EXPECT_EQ(c, dp.cost);
    EXPECT_NEAR(v, dp.value, 1e-12);
  }
  EXPECT_GT(feasible, 200);  // both branches were exercised
}

TEST(Knapsack, RejectsEmptyGroupsAndNegativeCosts) {
  EXPECT_THROW(solve_multiple_choice_knapsack({{}}, 10), std::invalid_argument);
  EXPECT_THROW(solve_multiple_choice_knapsack({{{-1, 0}}}, 10), std::invalid_argument);
}

// A merged network with a 1-input-channel first conv (row length 9, fewer weights than
// an 8-bit codebook has entries), a stride-2 conv and an fc.
DeployNet small_net(uint64_t seed) {
  torch::manual_seed(seed);
  DeployNet net;
  net->add_conv(torch::randn({6, 1, 3, 3}), torch::randn({6}), 1);
  net->add_conv(torch::randn({8, 6, 3, 3}), torch::randn({8}), 2);
  net->add_conv(torch::randn({12, 8, 3, 3}), torch::randn({12}), 1);
  net->set_fc(torch::randn({5, 12}), torch::randn({5}));
  return net;
}

ExportSpec small_spec() {
  return {"mixed-test", 1, 8, 8, Normalization{{0.5f}, {0.25f}}, {"a", "b", "c", "d", "e"}};
}

TEST(FileSize, PredictionEqualsTheExportedFileForRandomWidths) {
  const fs::path dir = fs::temp_directory_path() / ("repvk-mixed-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::mt19937_64 rng(3);
  for (Granularity gran : {Granularity::Channel, Granularity::Layer}) {
    DeployNet net = small_net(11);
    std::vector<LayerEncoding> fp32(net->num_layers(), LayerEncoding{0, gran});
    const FileSizeModel sizes = codebook_file_size_model(build_model(*net, small_spec(), fp32), gran);
    for (int trial = 0; trial < 6; ++trial) {
      std::vector<int> bits;
      for (size_t l = 0; l < net->num_layers(); ++l) bits.push_back(1 + int(rng() % 8));
      if (trial == 0) bits.assign(net->num_layers(), 8);  // every codebook larger than some rows
      ClusterOptions co;
      co.granularity = gran;
      co.kmeans_iters = 5;
      ClusterQAT cq(*net, bits, co);
      net->hook = [&](size_t l, const torch::Tensor& w) { return cq.forward_weight(l, w); };
      std::vector<LayerEncoding> enc;
      for (int b : bits) enc.push_back({b, gran});
      const fs::path file = dir / "m.rpvk";
      export_model(*net, small_spec(), enc, file.string());
      net->hook = nullptr;
      EXPECT_EQ(fs::file_size(file), sizes.file_bytes(bits)) << "trial " << trial;
      // Per layer too, as `repvk info` reports it.
      const repvk::Model m = repvk::read_model(file.string());
      const auto stats = repvk::model_stats(m);
      size_t k = 0;
      for (size_t i = 0; i < m.layers.size(); ++i) {
        if (!m.layers[i].has_weights()) continue;
        EXPECT_EQ(stats[i].weight_bytes, sizes.layer_bytes[k][size_t(bits[k] - 1)]) << "layer " << k;
        EXPECT_EQ(m.layers[i].weights.bits, uint32_t(bits[k]));
        ++k;
      }
    }
  }
  fs::remove_all(dir);
}

SensitivityTable table_for(size_t layers, uint64_t seed) {
  std::mt19937_64 rng(seed);
  SensitivityTable t;
  for (size_t l = 0; l < layers; ++l) {
    t.layers.push_back("L" + std::to_string(l));
    std::array<double, 8> r{};
    double v = 1.0 + double(rng() % 100) / 50;
    for (size_t b = 0; b < 8; ++b, v *= 0.3) r[b] = v;  // falls with the width
    t.loss_increase.push_back(r);
    t.accuracy.push_back({});
    t.fisher_proxy.push_back(r);
  }
  return t;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const TrainError& e) {
    return e.what();
  }
  return "";
}

TEST(BitAllocation, MeetsTheBudgetAndThePinnedWidths) {
  DeployNet net = small_net(5);
  std::vector<LayerEncoding> fp32(net->num_layers(), LayerEncoding{0, Granularity::Channel});
  const FileSizeModel sizes =
      codebook_file_size_model(build_model(*net, small_spec(), fp32), Granularity::Channel);
  const SensitivityTable t = table_for(net->num_layers(), 9);
  const uint64_t smallest = sizes.file_bytes(std::vector<int>(net->num_layers(), 1));
  const uint64_t largest = sizes.file_bytes(std::vector<int>(net->num_layers(), 8));
  for (double kib : {double(smallest) / 1024, double(smallest + largest) / 2048, double(largest) / 1024 + 1}) {
    BudgetOptions o;
    o.kib = kib;
    const BitAllocation a = allocate_bits(t, sizes, o);
    EXPECT_LE(a.predicted_bytes, uint64_t(std::floor(kib * 1024)));
    EXPECT_EQ(a.predicted_bytes, sizes.file_bytes(a.bits));
  }
  BudgetOptions wide;
  wide.kib = double(largest) / 1024 + 1;
  EXPECT_EQ(allocate_bits(t, sizes, wide).bits, std::vector<int>(net->num_layers(), 8));
  BudgetOptions pinned = wide;
  pinned.first_last_bits = 3;
  pinned.min_bits = 2;
  pinned.max_bits = 5;
  const BitAllocation p = allocate_bits(t, sizes, pinned);
  EXPECT_EQ(p.bits.front(), 3);
  EXPECT_EQ(p.bits.back(), 3);
  for (size_t l = 1; l + 1 < p.bits.size(); ++l) EXPECT_EQ(p.bits[l], 5);
  BudgetOptions bpw;
  bpw.bits_per_weight = 2.5;
  const BitAllocation b = allocate_bits(t, sizes, bpw);
  EXPECT_LE(b.mean_bits, 2.5 + 1e-12);
  EXPECT_GT(b.mean_bits, 1.5);  // a falling sensitivity spends the budget
}

TEST(BitAllocation, ImpossibleBudgetNamesTheSmallestSize) {
  DeployNet net = small_net(5);
  std::vector<LayerEncoding> fp32(net->num_layers(), LayerEncoding{0, Granularity::Channel});
  const FileSizeModel sizes =
      codebook_file_size_model(build_model(*net, small_spec(), fp32), Granularity::Channel);
  const SensitivityTable t = table_for(net->num_layers(), 1);
  BudgetOptions o;
  o.kib = 0.1;
  o.first_last_bits = 8;
  std::vector<int> min_bits(net->num_layers(), 1);
  min_bits.front() = min_bits.back() = 8;
  const std::string e = error_of([&] { allocate_bits(t, sizes, o); });
  EXPECT_NE(e.find("--budget-kib 0.1"), std::string::npos) << e;
  EXPECT_NE(e.find("(" + std::to_string(sizes.file_bytes(min_bits)) + " bytes)"), std::string::npos) << e;
  EXPECT_NE(e.find("first conv and fc at 8 bits"), std::string::npos) << e;
  BudgetOptions w;
  w.bits_per_weight = 0.5;
  EXPECT_NE(error_of([&] { allocate_bits(t, sizes, w); }).find("1.0000 bits per weight"), std::string::npos);
}

TEST(BitAllocation, BadOptionsAreNamed) {
  auto err = [](BudgetOptions o) { return error_of([&] { check_budget_options(o); }); };
  BudgetOptions both;
  both.kib = 10;
  both.bits_per_weight = 2;
  EXPECT_NE(err(both).find("exclude each other"), std::string::npos);
  BudgetOptions neg;
  neg.kib = -3;
  EXPECT_NE(err(neg).find("--budget-kib"), std::string::npos);
  BudgetOptions order;
  order.kib = 10;
  order.min_bits = 5;
  order.max_bits = 3;
  EXPECT_NE(err(order).find("--min-bits 5 is above --max-bits 3"), std::string::npos);
  BudgetOptions range;
  range.kib = 10;
  range.max_bits = 9;
  EXPECT_NE(err(range).find("--max-bits"), std::string::npos);
}

TEST(Sensitivity, JsonRoundTripAndBadFiles) {
  SensitivityTable t = table_for(3, 4);
  t.key = {{"checkpoint_crc32", 5}};
  t.images = 100;
  const SensitivityTable r = sensitivity_from_json(sensitivity_to_json(t), "x.json");
  EXPECT_EQ(r.key, t.key);
  EXPECT_EQ(r.layers, t.layers);
  EXPECT_EQ(r.loss_increase, t.loss_increase);
  nlohmann::json bad = sensitivity_to_json(t);
  bad["layers"][1]["loss_increase"] = {1, 2};
  EXPECT_NE(error_of([&] { sensitivity_from_json(bad, "x.json"); }).find("x.json: L1.loss_increase"),
            std::string::npos);
  EXPECT_NE(error_of([&] { sensitivity_from_json(nlohmann::json::object(), "y.json"); }).find("y.json"),
            std::string::npos);
}

TEST(Sensitivity, SpearmanCorrelation) {
  EXPECT_DOUBLE_EQ(spearman_correlation({1, 2, 3, 4}, {10, 20, 30, 400}), 1.0);
  EXPECT_DOUBLE_EQ(spearman_correlation({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
  // Ties take the mean rank: ranks (0.5,0.5,2) against (0,1,2).
  EXPECT_NEAR(spearman_correlation({1, 1, 2}, {1, 2, 3}), 0.8660254037844386, 1e-12);
}

// ---- End to end, through the repvk-train binary ----------------------------------

int run_trainer(const std::vector<std::string>& args, const fs::path& log) {
  std::string cmd = std::string("'") + REPVK_TRAIN_BIN + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " >'" + log.string() + "' 2>&1";
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(MixedEndToEnd, BudgetRunOnFashionMnist) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist"))
    GTEST_SKIP() << "needs Fashion-MNIST in /usr/share/datasets/fashion-mnist";
  const fs::path dir = fs::temp_directory_path() / ("repvk-mixed-e2e-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string base = (dir / "base").string();
  ASSERT_EQ(run_trainer({"train", "--depths", "1,1", "--base-widths", "8,16", "--strides", "2,2",
                         "--epochs", "1", "--steps-per-epoch", "3", "--val", "300", "--threads", "1",
                         "--no-progress", "--out", base, "--export", base + "/model.rpvk"},
                        dir / "train.log"), 0)
      << slurp(dir / "train.log");
  const std::string ckpt = base + "/checkpoint.pt";
  const std::vector<std::string> q = {"quantize", "--checkpoint", ckpt, "--method", "cluster",
                                      "--epochs", "1", "--steps-per-epoch", "2", "--lr", "0.001",
                                      "--threads", "1", "--no-progress"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = q;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  // An impossible budget fails before anything is measured and names the minimum.
  ASSERT_EQ(run_trainer(with({"--budget-kib", "0.5", "--out", (dir / "none").string()}), dir / "e.log"), 2);
  const std::string e = slurp(dir / "e.log");
  const size_t at = e.find("KiB (");
  ASSERT_NE(at, std::string::npos) << e;
  const uint64_t smallest = std::stoull(e.substr(at + 5));
  EXPECT_FALSE(fs::exists(dir / "none")) << "an impossible budget created --out";

  const fs::path out = dir / "q";
  const double kib = double(smallest + 1500) / 1024;
  ASSERT_EQ(run_trainer(with({"--budget-kib", std::to_string(kib), "--out", out.string(), "--export",
                              (out / "model.rpvk").string()}),
                        dir / "q.log"), 0)
      << slurp(dir / "q.log");
  const nlohmann::json r = nlohmann::json::parse(slurp(out / "result.json"));
  const nlohmann::json& mixed = r.at("mixed");
  const uint64_t file = fs::file_size(out / "model.rpvk");
  EXPECT_EQ(mixed.at("real_bytes").get<uint64_t>(), file);
  EXPECT_EQ(mixed.at("predicted_bytes").get<uint64_t>(), file);
  EXPECT_LE(file, uint64_t(std::floor(kib * 1024)));
  EXPECT_EQ(r.at("layer_bits").size(), 3u);
  EXPECT_TRUE(r.at("val_accuracy").is_number());
  const repvk::Model m = repvk::read_model((out / "model.rpvk").string());
  size_t k = 0;
  for (const auto& l : m.layers)
    if (l.has_weights()) {
      EXPECT_EQ(int(l.weights.bits), r["layer_bits"][k++].get<int>());
    }
  EXPECT_TRUE(fs::exists(out / "sensitivity.json"));

  // A second budget reuses the table; pinned first/last widths are kept.
  const fs::path out2 = dir / "q2";
  ASSERT_EQ(run_trainer(with({"--budget-bits-per-weight", "3", "--first-last-bits", "4", "--sensitivity",
                              (out / "sensitivity.json").string(), "--out", out2.string()}),
                        dir / "q2.log"), 0)
      << slurp(dir / "q2.log");
  EXPECT_NE(slurp(dir / "q2.log").find("sensitivity: reusing"), std::string::npos);
  const nlohmann::json r2 = nlohmann::json::parse(slurp(out2 / "result.json"));
  EXPECT_EQ(r2["layer_bits"].front(), 4);
  EXPECT_EQ(r2["layer_bits"].back(), 4);
  EXPECT_LE(r2["mixed"]["mean_bits"].get<double>(), 3.0);
  EXPECT_FALSE(fs::exists(out2 / "sensitivity.json"));

  // Resuming with a budget that gives other widths is refused, naming both.
  ASSERT_NE(run_trainer(with({"--budget-bits-per-weight", "1", "--sensitivity", (out / "sensitivity.json").string(),
                              "--out", out2.string(), "--resume"}),
                        dir / "r.log"), 0);
  EXPECT_NE(slurp(dir / "r.log").find("was fine-tuned with widths [4,"), std::string::npos) << slurp(dir / "r.log");

  // A model file as the source: the sensitivity table is keyed to its bytes, so the
  // checkpoint's table is measured again, not reused.
  const fs::path out3 = dir / "q3";
  ASSERT_EQ(run_trainer({"quantize", "--model", base + "/model.rpvk", "--method", "cluster", "--budget-kib",
                         std::to_string(kib), "--epochs", "0", "--val", "300", "--dataset", "fashion-mnist",
                         "--sensitivity", (out / "sensitivity.json").string(), "--threads", "1",
                         "--no-progress", "--out", out3.string()},
                        dir / "q3.log"), 0)
      << slurp(dir / "q3.log");
  EXPECT_NE(slurp(dir / "q3.log").find("measuring again"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(slurp(out3 / "result.json"))["source"], base + "/model.rpvk");
  EXPECT_NE(run_trainer({"quantize", "--model", base + "/model.rpvk", "--checkpoint", ckpt, "--out",
                         (dir / "bad").string()},
                        dir / "bad.log"), 0);
  EXPECT_NE(slurp(dir / "bad.log").find("excludes"), std::string::npos);
  EXPECT_NE(run_trainer({"quantize", "--out", (dir / "bad").string()}, dir / "bad.log"), 0);
  EXPECT_NE(slurp(dir / "bad.log").find("needs --checkpoint"), std::string::npos) << slurp(dir / "bad.log");

  // Flag errors, each named.
  struct Bad {
    std::vector<std::string> args;
    const char* says;
  };
  const std::vector<Bad> bad = {
      {{"--budget-kib", "100", "--method=qat"}, "needs --method cluster"},
      {{"--budget-kib", "100", "--min-bits", "6", "--max-bits", "2"}, "--min-bits 6 is above --max-bits 2"},
      {{"--budget-kib", "0"}, "--budget-kib must be > 0"},
      {{"--min-bits", "2"}, "apply only with --budget-kib"},
      {{"--budget-kib", "100", "--bits", "3"}, "excludes"},
      {{"--budget-kib", "100", "--budget-bits-per-weight", "2"}, "excludes"},
      {{"--budget-kib", "100", "--dataset", "fashion-mnist", "--val", "0"}, "--val must be > 0"},
      // Without a dataset flag, --val replaces the checkpoint's hold-out (it was ignored).
      {{"--budget-kib", "100", "--val", "0"}, "--val must be > 0"},
      {{"--val", "999999"}, "--val 999999: must be between 0 and"},
  };
  for (const auto& b : bad) {
    std::vector<std::string> args = b.args;
    args.insert(args.end(), {"--out", (dir / "bad").string()});
    std::vector<std::string> all = with(args);
    if (b.args.back() == "--method=qat") all.erase(all.begin() + 3, all.begin() + 5);  // drop --method cluster
    EXPECT_NE(run_trainer(all, dir / "bad.log"), 0) << b.says;
    EXPECT_NE(slurp(dir / "bad.log").find(b.says), std::string::npos) << slurp(dir / "bad.log");
    EXPECT_FALSE(fs::exists(dir / "bad")) << b.says << ": a rejected run created --out";
  }
  fs::remove_all(dir);
}

}  // namespace
