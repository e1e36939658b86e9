// SPDX-License-Identifier: MIT
// Data-parallel training (tools/train/dist): sharding in-process, and the rest end to
// end through the repvk-train binary on 127.0.0.1 with one thread per rank:
// N ranks × batch B/N ≡ 1 rank × batch B (and unsynchronised BN is not), resume
// across world sizes after an interrupt at a fixed step, a killed rank, a wrong world
// size, a port in use and an unreachable master.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "checkpoint.h"
#include "data/augment.h"
#include "dist/launcher.h"
#include "dist/sampler.h"
#include "util.h"

namespace fs = std::filesystem;
using namespace repvk::train;
using namespace repvk::train::testing;
using Clock = std::chrono::steady_clock;

namespace {

const char* kTrainer = REPVK_TRAIN_BIN;

struct Proc {
  pid_t pid = -1;
};

// Starts the trainer with `args`, `env` added, output to `log`.
Proc spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
           const std::string& log) {
  Proc p;
  p.pid = ::fork();
  if (p.pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv{const_cast<char*>(kTrainer)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(kTrainer, argv.data());
    ::_exit(127);
  }
  return p;
}

// Exit status (128+signal when killed), or -1 if still running after `limit`.
int wait_for(Proc p, std::chrono::seconds limit) {
  const auto end = Clock::now() + limit;
  for (;;) {
    int st = 0;
    if (::waitpid(p.pid, &st, WNOHANG) == p.pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (Clock::now() > end) {
      ::kill(p.pid, SIGKILL);
      ::waitpid(p.pid, &st, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

fs::path scratch(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("repvk-dist-" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A small network on Fashion-MNIST: every block shape, seconds per run on one core.
// The learning rate is low on purpose: at 0.01 and above this tiny network's training
// amplifies float32 rounding so much that one process with 1 and with 2 threads
// (different reduction orders, nothing distributed) already differ by 2e-2 after 14
// steps; at 0.003 they agree to about 1e-6 after 20 (OABN, more sensitive, needs 0.001), while a wrong gradient scale or
// unsynchronized BN statistics still moves the weights by far more than 1e-5.
std::vector<std::string> train_args(const fs::path& out, const std::string& norm) {
  return {"train", "--depths", "1,2,1", "--base-widths", "8,16,16", "--strides", "2,2,2",
          "--norm", norm, "--batch", "64", "--lr", "0.001", "--epochs", "1", "--steps-per-epoch", "20",
          "--crop-padding", "0", "--val", "0", "--threads", "1", "--no-progress", "--sync-bn",
          "--timeout", "20", "--out", out.string()};
}

int run(std::vector<std::string> args, int nproc, const fs::path& log, std::chrono::seconds limit = std::chrono::seconds(150)) {
  if (nproc > 1) {
    args.push_back("--nproc");
    args.push_back(std::to_string(nproc));
  }
  return wait_for(spawn(args, {}, log.string()), limit);
}

bool have_fashion_mnist() { return fs::exists("/usr/share/datasets/fashion-mnist"); }

// Every tensor of an archive and its sub-archives (submodules), by dotted name.
void read_group(torch::serialize::InputArchive& a, const std::string& prefix,
                std::map<std::string, torch::Tensor>& out) {
  for (const auto& k : a.keys()) {
    torch::Tensor t;
    torch::serialize::InputArchive sub;
    if (a.try_read(k, t)) out[prefix + k] = t;
    else if (a.try_read(k, sub)) read_group(sub, prefix + k + ".", out);
  }
}

// Module state (and extra tensors) of a checkpoint, flattened by name.
std::map<std::string, torch::Tensor> checkpoint_tensors(const fs::path& p) {
  torch::serialize::InputArchive a;
  a.load_from(p.string());
  std::map<std::string, torch::Tensor> out;
  for (const char* group : {"module", "extra"}) {
    torch::serialize::InputArchive g;
    if (a.try_read(group, g)) read_group(g, std::string(group) + ".", out);
  }
  return out;
}

// How far apart two states are as a whole: ‖a − b‖ / ‖a‖ over every floating-point
// tensor (parameters, running statistics, codebooks), concatenated; integer tensors
// (assignments, counters) must match exactly. Per-tensor ratios are not used: biases
// and BN shifts stay near zero, where the relative error of any float32 sum is large.
struct StateDistance {
  double relative = 0;      // ‖a − b‖ / ‖a‖
  double worst = 0;         // the largest per-tensor max|a−b|/max|a|, for messages
  std::string worst_key;
};

StateDistance state_distance(const fs::path& a, const fs::path& b) {
  const auto ta = checkpoint_tensors(a), tb = checkpoint_tensors(b);
  StateDistance r;
  EXPECT_EQ(ta.size(), tb.size());
  EXPECT_GT(ta.size(), 3u);
  double num = 0, den = 0;
  for (const auto& [k, v] : ta) {
    if (!tb.count(k) || v.sizes() != tb.at(k).sizes()) {
      ADD_FAILURE() << k << " missing or of another shape in " << b;
      continue;
    }
    if (!v.is_floating_point()) {
      EXPECT_TRUE(torch::equal(v, tb.at(k))) << k;
      continue;
    }
    const torch::Tensor x = v.to(torch::kDouble), y = tb.at(k).to(torch::kDouble);
    num += (x - y).square().sum().item<double>();
    den += x.square().sum().item<double>();
    const double d = max_rel_diff(x, y);
    if (d > r.worst) r.worst = d, r.worst_key = k;
  }
  r.relative = std::sqrt(num / std::max(den, 1e-300));
  return r;
}

void expect_same_state(const fs::path& a, const fs::path& b, double tol) {
  const StateDistance d = state_distance(a, b);
  EXPECT_LE(d.relative, tol) << "largest per-tensor max|a-b|/max|a|: " << d.worst << " (" << d.worst_key << ")";
}

}  // namespace

TEST(DistSampler, ShardsAreDisjointAndCoverTheEpoch) {
  for (int64_t n : {1, 7, 64, 127, 1001}) {
    for (int64_t batch : {1, 4, 32, 100}) {
      for (int world : {1, 2, 3}) {
        if (batch < world) continue;
        const int64_t steps = epoch_steps(n, batch, world, 0);
        std::vector<int64_t> seen;
        std::vector<int64_t> sizes;
        for (int r = 0; r < world; ++r) {
          torch::Tensor s = epoch_shard(n, 5, 3, batch, r, world);
          sizes.push_back(s.size(0));
          for (int64_t i = 0; i < s.size(0); ++i) seen.push_back(s[i].item<int64_t>());
        }
        const std::set<int64_t> uniq(seen.begin(), seen.end());
        EXPECT_EQ(uniq.size(), seen.size()) << "overlap n=" << n << " B=" << batch << " N=" << world;
        // Everything is used except a final batch too small to give every rank a sample.
        const int64_t dropped = n - std::min(n, steps * batch);
        EXPECT_EQ(int64_t(seen.size()), n - dropped) << "n=" << n << " B=" << batch << " N=" << world;
        EXPECT_LT(dropped, world);
        const auto [lo, hi] = std::minmax_element(sizes.begin(), sizes.end());
        EXPECT_LE(*hi - *lo, steps) << "shards differ by more than one sample per step";
        // The global order is the single-process order: concatenating the ranks'
        // slices of each step reproduces the one-process batches.
        const torch::Tensor one = epoch_shard(n, 5, 3, batch, 0, 1);
        const torch::Tensor perm = epoch_permutation(n, 5, 3);
        for (int64_t s = 0; s < steps; ++s) {
          std::vector<torch::Tensor> parts;
          for (int r = 0; r < world; ++r) parts.push_back(rank_batch(perm, s, batch, r, world));
          EXPECT_TRUE(torch::equal(torch::cat(parts), one.narrow(0, s * batch, std::min(batch, n - s * batch))));
        }
      }
    }
  }
  // Different epochs, different orders.
  EXPECT_FALSE(torch::equal(epoch_shard(100, 1, 0, 10, 0, 2), epoch_shard(100, 1, 1, 10, 0, 2)));
}

class DistRun : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_fashion_mnist()) GTEST_SKIP() << "needs Fashion-MNIST in /usr/share/datasets/fashion-mnist";
  }
};

// N ranks × B/N with --sync-bn follow one process × B step for step.
void equivalence(const std::string& norm) {
  const fs::path one = scratch(norm + "-1"), two = scratch(norm + "-2");
  ASSERT_EQ(run(train_args(one, norm), 1, one / "out.txt"), 0) << slurp(one / "out.txt");
  ASSERT_EQ(run(train_args(two, norm), 2, two / "out.txt"), 0) << slurp(two / "out.txt");
  const StateDistance same = state_distance(one / "checkpoint.pt", two / "checkpoint.pt");
  std::printf("%s, sync-bn: relative state distance %.3g from one process\n", norm.c_str(), same.relative);
  EXPECT_LE(same.relative, 1e-5) << "largest per-tensor max|a-b|/max|a|: " << same.worst << " (" << same.worst_key << ")";
  EXPECT_NE(slurp(two / "out.txt").find("[rank 1]"), std::string::npos);
  EXPECT_TRUE(fs::exists(two / "result.json"));
  EXPECT_FALSE(fs::exists(two / "result.json.tmp"));
  if (norm != "bn") return;
  // The negative control: the same two ranks without --sync-bn normalize each half
  // batch by its own statistics. That is a real difference, and the 1e-5 tolerance
  // must see it (by a wide margin), or the equivalence above proves nothing.
  const fs::path local = scratch(norm + "-2-local-bn");
  std::vector<std::string> args = train_args(local, norm);
  args.erase(std::find(args.begin(), args.end(), "--sync-bn"));
  ASSERT_EQ(run(args, 2, local / "out.txt"), 0) << slurp(local / "out.txt");
  EXPECT_EQ(slurp(local / "out.txt").find("sync-bn:"), std::string::npos) << slurp(local / "out.txt");
  const StateDistance d = state_distance(one / "checkpoint.pt", local / "checkpoint.pt");
  std::printf("unsynchronised BN: relative state distance %.3g from one process (tolerance 1e-5)\n", d.relative);
  EXPECT_GT(d.relative, 10 * 1e-5) << "unsynchronised BN is within the equivalence tolerance";
}

TEST_F(DistRun, TwoRanksEqualOneProcessBn) { equivalence("bn"); }
TEST_F(DistRun, TwoRanksEqualOneProcessOabn) { equivalence("oabn"); }

TEST_F(DistRun, TwoRanksEqualOneProcessClusterQat) {
  const fs::path base = scratch("cq-base");
  ASSERT_EQ(run(train_args(base, "oabn"), 1, base / "out.txt"), 0) << slurp(base / "out.txt");
  auto qargs = [&](const fs::path& out) {
    return std::vector<std::string>{"quantize", "--checkpoint", (base / "checkpoint.pt").string(),
                                    "--method", "cluster", "--bits", "3", "--reassign-every", "2",
                                    "--epochs", "1", "--steps-per-epoch", "5", "--batch", "64", "--val", "0",
                                    "--threads", "1", "--no-progress", "--timeout", "20",
                                    "--out", out.string()};
  };
  const fs::path one = scratch("cq-1"), two = scratch("cq-2");
  ASSERT_EQ(run(qargs(one), 1, one / "out.txt"), 0) << slurp(one / "out.txt");
  ASSERT_EQ(run(qargs(two), 2, two / "out.txt"), 0) << slurp(two / "out.txt");
  // Latent weights and the codebooks/assignments ("extra") of the 5-step checkpoint.
  expect_same_state(one / "quant-checkpoint.pt", two / "quant-checkpoint.pt", 1e-5);
  // Every rank checked its final codebooks against rank 0's.
  const std::string log = slurp(two / "out.txt");
  EXPECT_NE(log.find("[rank 0] ClusterQAT codebooks and assignments identical on all ranks"), std::string::npos) << log;
  EXPECT_NE(log.find("[rank 1] ClusterQAT codebooks and assignments identical on all ranks"), std::string::npos) << log;
}

// A checkpoint written mid-epoch by 2 ranks on Ctrl-C, resumed by 1 and by 2, ends
// where the uninterrupted run does. The interrupt comes at a fixed step (the hidden
// --interrupt-at-step: rank 0 alone raises its Ctrl-C flag there, so the flag's trip
// through the gradient all-reduce is tested too), never racing the end of the run.
TEST_F(DistRun, ResumeAcrossWorldSizes) {
  auto args = [](const fs::path& out) {
    auto a = train_args(out, "oabn");
    for (size_t i = 0; i + 1 < a.size(); ++i) {
      if (a[i] == "--epochs") a[i + 1] = "3";
      if (a[i] == "--steps-per-epoch") a[i + 1] = "6";
    }
    return a;
  };
  const fs::path ref = scratch("resume-ref");
  ASSERT_EQ(run(args(ref), 2, ref / "out.txt"), 0) << slurp(ref / "out.txt");
  // Global step 8 is step 2 of epoch 1 (from 0): both ranks finish it, rank 0 saves
  // (epoch 1, next step 3), and every process exits 130.
  const fs::path cut = scratch("resume-cut");
  auto a = args(cut);
  a.push_back("--interrupt-at-step");
  a.push_back("8");
  ASSERT_EQ(run(a, 2, cut / "out.txt"), 130) << slurp(cut / "out.txt");
  const std::string cut_log = slurp(cut / "out.txt");
  EXPECT_NE(cut_log.find("[rank 0] repvk-train: interrupted; checkpoint saved"), std::string::npos) << cut_log;
  EXPECT_NE(cut_log.find("[rank 1] repvk-train: interrupted"), std::string::npos) << cut_log;
  const auto meta = read_checkpoint_meta((cut / "checkpoint.pt").string());
  EXPECT_EQ(meta.value("epoch", int64_t(-1)), 1);
  EXPECT_EQ(meta.value("step", int64_t(-1)), 3);
  for (int resume_world : {1, 2}) {
    const fs::path d = scratch("resume-" + std::to_string(resume_world));
    fs::copy_file(cut / "checkpoint.pt", d / "checkpoint.pt");
    auto b = args(d);
    b.push_back("--resume");
    ASSERT_EQ(run(b, resume_world, d / "out.txt"), 0) << slurp(d / "out.txt");
    const std::string log = slurp(d / "out.txt");
    EXPECT_NE(log.find("resumed from " + (d / "checkpoint.pt").string() + " at epoch 2, step 3"), std::string::npos)
        << log;
    EXPECT_EQ(log.find("epoch 1/3"), std::string::npos) << "the resumed run repeated epoch 1\n" << log;
    expect_same_state(ref / "checkpoint.pt", d / "checkpoint.pt", 1e-5);
  }
}

namespace {
std::map<std::string, std::string> rank_env(int rank, int world, int port) {
  return {{"RANK", std::to_string(rank)}, {"WORLD_SIZE", std::to_string(world)},
          {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", std::to_string(port)}};
}
std::vector<std::string> long_run(const fs::path& out, const std::string& timeout) {
  auto a = train_args(out, "bn");
  for (size_t i = 0; i + 1 < a.size(); ++i) {
    if (a[i] == "--epochs") a[i + 1] = "50";
    if (a[i] == "--steps-per-epoch") a[i + 1] = "0";
    if (a[i] == "--timeout") a[i + 1] = timeout;
  }
  return a;
}
}  // namespace

TEST_F(DistRun, KilledRankMakesTheOtherExit) {
  const fs::path d0 = scratch("kill-0"), d1 = scratch("kill-1");
  const int port = pick_free_port();
  Proc r0 = spawn(long_run(d0, "5"), rank_env(0, 2, port), (d0 / "out.txt").string());
  Proc r1 = spawn(long_run(d1, "5"), rank_env(1, 2, port), (d1 / "out.txt").string());
  const auto end = Clock::now() + std::chrono::seconds(90);
  while (slurp(d0 / "out.txt").find("data parallel:") == std::string::npos && Clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_NE(slurp(d0 / "out.txt").find("data parallel:"), std::string::npos) << slurp(d0 / "out.txt");
  std::this_thread::sleep_for(std::chrono::seconds(1));  // mid-epoch
  ::kill(r1.pid, SIGKILL);
  const auto t0 = Clock::now();
  const int rc = wait_for(r0, std::chrono::seconds(20));
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  wait_for(r1, std::chrono::seconds(5));
  EXPECT_GT(rc, 0) << "rank 0 did not fail (or hung: -1)\n" << slurp(d0 / "out.txt");
  EXPECT_LT(took, 15.0);
  EXPECT_NE(slurp(d0 / "out.txt").find("distributed error"), std::string::npos) << slurp(d0 / "out.txt");
}

TEST_F(DistRun, WrongWorldSizeIsNamed) {
  const fs::path d0 = scratch("ws-0"), d1 = scratch("ws-1");
  const int port = pick_free_port();
  Proc r0 = spawn(long_run(d0, "5"), rank_env(0, 2, port), (d0 / "out.txt").string());
  Proc r1 = spawn(long_run(d1, "5"), rank_env(1, 3, port), (d1 / "out.txt").string());
  EXPECT_EQ(wait_for(r1, std::chrono::seconds(30)), 3);
  EXPECT_EQ(wait_for(r0, std::chrono::seconds(30)), 3);
  EXPECT_NE(slurp(d1 / "out.txt").find("world size 3 but rank 0 with 2"), std::string::npos) << slurp(d1 / "out.txt");
  EXPECT_NE(slurp(d0 / "out.txt").find("rank 1 was started with world size 3"), std::string::npos) << slurp(d0 / "out.txt");
}

TEST_F(DistRun, PortInUseAndUnreachableMasterAreNamed) {
  // A port someone else listens on.
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(s, 1), 0);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  const int busy = ntohs(a.sin_port);
  const fs::path d0 = scratch("port-0");
  EXPECT_EQ(wait_for(spawn(long_run(d0, "3"), rank_env(0, 2, busy), (d0 / "out.txt").string()),
                     std::chrono::seconds(30)), 3);
  EXPECT_NE(slurp(d0 / "out.txt").find("127.0.0.1:" + std::to_string(busy) + " (port in use?"), std::string::npos)
      << slurp(d0 / "out.txt");
  ::close(s);
  // Nobody listens on a fresh port: rank 1 gives up after --timeout.
  const fs::path d1 = scratch("port-1");
  const int free_port = pick_free_port();
  const auto t0 = Clock::now();
  EXPECT_EQ(wait_for(spawn(long_run(d1, "2"), rank_env(1, 2, free_port), (d1 / "out.txt").string()),
                     std::chrono::seconds(30)), 3);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 20.0);
  EXPECT_NE(slurp(d1 / "out.txt").find("cannot reach the master at 127.0.0.1:" + std::to_string(free_port)),
            std::string::npos) << slurp(d1 / "out.txt");
}
