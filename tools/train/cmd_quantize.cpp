// SPDX-License-Identifier: MIT
// `repvk-train quantize`: quantizes the merged network of a training checkpoint
// (uniform PTQ, uniform QAT, or ClusterQAT), reports accuracy and exports it.
#include <filesystem>

#include "commands.h"
#include "dist/grad_sync.h"
#include "export.h"
#include "quant/uniform.h"
#include "quantize_budget.h"
#include "quantize_source.h"

namespace repvk::train {
namespace {

// The data to fine-tune and validate on. A checkpoint brings its training run's data
// (same images, same hold-out split); --dataset/--data-dir replace it whole, and the
// other data flags replace their own field, so that `--checkpoint c.pt --val 0` means
// no hold-out rather than being ignored. A model file has no recorded data.
DataOptions quantize_data(const QuantizeCommand& cmd, const QuantSource& src) {
  if (cmd.data_given || !src.config) return cmd.data;
  DataOptions d = src.data;
  if (cmd.val_given) d.val = cmd.data.val;
  if (cmd.image_size_given) d.image_size = cmd.data.image_size;
  if (cmd.channels_given) d.channels = cmd.data.channels;
  return d;
}

// Refuses contradictory or out-of-range flags before anything is read.
void check_quantize_flags(const QuantizeCommand& cmd, bool mixed) {
  if (cmd.method != "ptq" && cmd.method != "qat" && cmd.method != "cluster")
    throw TrainError("--method '" + cmd.method + "' unknown (use ptq, qat or cluster)");
  if (mixed && cmd.method != "cluster")
    throw TrainError(std::string(cmd.sensitivity_only ? "--sensitivity-only" : cmd.budget.describe()) +
                     " chooses codebook widths: it needs --method cluster, not '" + cmd.method + "'");
  if (mixed) check_budget_options(cmd.budget);
  check_bits(cmd.bits, "--bits");
  if (cmd.first_last_bits != 0) check_bits(cmd.first_last_bits, "--first-last-bits");
  if (cmd.method != "ptq" && cmd.train.epochs < 0) throw TrainError("--epochs must be >= 0");
  if (cmd.method != "ptq" && cmd.train.epochs > 0 && cmd.train.batch < 1)
    throw TrainError("--batch must be >= 1");
  if (cmd.method != "ptq" && cmd.train.epochs > 0 && !(cmd.train.lr > 0))
    throw TrainError("--lr must be > 0");
}

// The weight hook of `cmd.method` on `deploy` (uniform fake quantization for ptq, its
// straight-through estimator for qat, ClusterQAT for cluster, which also fills the
// target's step and checkpoint callbacks). `bits`, `deploy` and `comm` must outlive
// the hook and the callbacks. Returns the ClusterQAT state (null unless cluster).
std::unique_ptr<ClusterQAT> install_weight_hook(const QuantizeCommand& cmd, DeployNet& deploy,
                                                const std::vector<int>& bits, Granularity gran,
                                                uint64_t seed, Comm& comm, TrainTarget& t) {
  if (cmd.method == "ptq") {
    deploy->hook = [&bits](size_t l, const torch::Tensor& w) { return uniform_quantize(w, bits[l]); };
    return nullptr;
  }
  if (cmd.method == "qat") {
    deploy->hook = [&bits](size_t l, const torch::Tensor& w) { return uniform_ste(w, bits[l]); };
    return nullptr;
  }
  ClusterOptions co = cmd.cluster;
  co.granularity = gran;
  co.seed = seed;
  auto cq = std::make_unique<ClusterQAT>(*deploy, bits, co);
  ClusterQAT* q = cq.get();
  const size_t layers = deploy->num_layers();
  const int64_t reassign_every = cmd.cluster.reassign_every;
  deploy->hook = [q](size_t l, const torch::Tensor& w) { return q->forward_weight(l, w); };
  // Every rank holds rank 0's codebooks: the latent weights are identical after the
  // gradient all-reduce, so the local M-step agrees anyway; the broadcast makes
  // that a guarantee (assignments only change on E-steps).
  broadcast_tensors(q->centroids, comm);
  broadcast_tensors(q->assign, comm);
  t.after_step = [q, &deploy, &comm, reassign_every] {
    q->after_step(*deploy);
    broadcast_tensors(q->centroids, comm);
    if (q->steps % reassign_every == 0) broadcast_tensors(q->assign, comm);
  };
  t.save_extra = [q, layers](torch::serialize::OutputArchive& a) {
    for (size_t l = 0; l < layers; ++l) {
      a.write("c" + std::to_string(l), q->centroids[l]);
      a.write("a" + std::to_string(l), q->assign[l]);
    }
    a.write("steps", torch::tensor(q->steps));
  };
  t.load_extra = [q, layers](torch::serialize::InputArchive& a) {
    for (size_t l = 0; l < layers; ++l) {
      a.read("c" + std::to_string(l), q->centroids[l]);
      a.read("a" + std::to_string(l), q->assign[l]);
    }
    torch::Tensor st;
    a.read("steps", st);
    q->steps = st.item<int64_t>();
  };
  return cq;
}

// What the accuracy log reports, for result.json.
struct QuantizeScores {
  double fp32 = 0, start = 0, test = 0, val = -1;
  bool has_val = false;
};

// Rank 0's outputs: the exported model (--export) and result.json.
void write_outputs(const QuantizeCommand& cmd, const std::string& source, DeployNetImpl& deploy,
                   const ExportSpec& spec, const std::vector<LayerEncoding>& enc,
                   const std::vector<int>& bits, Granularity gran, const TrainOptions& topt,
                   const QuantizeScores& sc, MixedPlan& plan, const std::string& out, Logger& log) {
  if (!cmd.export_path.empty()) {
    export_model(deploy, spec, enc, cmd.export_path);
    log.log("exported to " + cmd.export_path);
  }
  nlohmann::json result = {{"stage", "quantize"},
                     {"source", source},
                     {"method", cmd.method},
                     {"bits", cmd.budget.active() ? nlohmann::json() : nlohmann::json(cmd.bits)},
                     {"layer_bits", bits},
                     {"granularity", gran == Granularity::Layer ? "layer" : "channel"},
                     {"epochs", cmd.method == "ptq" ? 0 : topt.epochs},
                     {"seed", topt.seed},
                     {"test_accuracy", sc.test},
                     {"test_accuracy_before_fine_tuning", sc.start},
                     {"test_accuracy_fp32", sc.fp32},
                     {"val_accuracy", sc.has_val ? nlohmann::json(sc.val) : nlohmann::json()}};
  if (cmd.budget.active()) {
    // The real size: the exported file, or the bytes it would have.
    const uint64_t real = cmd.export_path.empty()
                              ? uint64_t(repvk::serialize_model(build_model(deploy, spec, enc)).size())
                              : uint64_t(std::filesystem::file_size(cmd.export_path));
    plan.report["real_bytes"] = real;
    result["mixed"] = plan.report;
    log.log("mixed widths " + nlohmann::json(bits).dump() + ": predicted " +
            std::to_string(plan.allocation.predicted_bytes) + " bytes, real " + std::to_string(real) +
            " bytes (" + std::to_string(double(real) / 1024.0) + " KiB); validation accuracy " +
            std::to_string(100 * sc.val) + "%");
  }
  write_json_atomic(out + "/result.json", result);
}

}  // namespace

int run_quantize(const QuantizeCommand& cmd) {
  const bool mixed = cmd.budget.active() || cmd.sensitivity_only;
  check_quantize_flags(cmd, mixed);
  const std::string out = cmd.out_dir.empty() ? "." : cmd.out_dir;
  const std::string qckpt = out + "/quant-checkpoint.pt";
  const std::unique_ptr<Comm> comm = Comm::connect(resolve_dist_options(cmd.dist));
  const bool root = comm->rank() == 0;
  Comm* cm = comm.get();
  const bool have_ckpt = comm->broadcast_int(root && std::filesystem::exists(qckpt), "checkpoint check") != 0;
  if (cmd.resume && !have_ckpt)
    throw TrainError("--resume: no fine-tuning checkpoint at " + qckpt);

  // Load and check everything before --out is created.
  QuantSource src = load_quant_source(cmd);
  const DataOptions dopt = quantize_data(cmd, src);
  DatasetPair data = load_data(dopt);
  check_source_data(src, data.train);
  const ExportSpec spec{"repvgg-" + src.preset + "-" + cmd.method +
                            (cmd.budget.active() ? std::string("-mixed") : std::to_string(cmd.bits)),
                        src.channels, src.height, src.width, src.norm, src.classes};
  if (mixed) {
    if (data.val.size() == 0)
      throw TrainError("mixed widths are chosen on held-out images: --val must be > 0");
    // An impossible budget fails now, not after minutes of measuring.
    if (cmd.budget.active()) {
      check_budget_feasible(mixed_file_size_model(*src.deploy, spec, cmd.granularity), cmd.budget);
    }
  }

  std::filesystem::create_directories(out);
  Logger log(out + (root ? "/quantize.log" : "/quantize.rank" + std::to_string(comm->rank()) + ".log"));
  if (comm->distributed()) log.log("distributed: " + comm->describe());
  const torch::Device dev = pick_device(worker_threads(cmd.common.threads), log);
  DeployNet deploy = src.deploy;
  deploy->to(dev);
  auto fwd = [&](const torch::Tensor& x) { return deploy->forward(x); };
  const double acc_fp32 = evaluate(*deploy, fwd, data.test, src.norm, 1000, dev, cm);
  log.log("merged fp32 test accuracy: " + std::to_string(100 * acc_fp32) + "%");

  const size_t layers = deploy->num_layers();
  std::vector<int> bits(layers, cmd.bits);
  if (cmd.first_last_bits > 0) bits.front() = bits.back() = cmd.first_last_bits;
  const Granularity gran = cmd.method == "cluster" ? cmd.granularity : Granularity::Channel;
  const std::string label = cmd.budget.active() ? std::string("mixed") : std::to_string(cmd.bits) + "-bit";
  MixedPlan plan;
  if (mixed) {
    plan = plan_mixed_bits(cmd, src.path, *deploy, spec, dopt, data.val, src.norm, dev, out, root, log);
    if (cmd.sensitivity_only) return 0;
    bits = plan.allocation.bits;
  }
  std::vector<LayerEncoding> enc;
  for (int b : bits) enc.push_back({b, gran});
  if (cmd.resume && root) {
    // A fine-tuning checkpoint holds codebooks for the widths it was started with.
    const nlohmann::json m = read_checkpoint_meta(qckpt);
    if (m.contains("bits") && m["bits"] != nlohmann::json(bits))
      throw TrainError("--resume: " + qckpt + " was fine-tuned with widths " + m["bits"].dump() +
                       " but this run chose " + nlohmann::json(bits).dump() +
                       "; give the same --bits or budget, or a new --out");
  }

  TrainOptions topt = cmd.train;
  topt.checkpoint = qckpt;
  topt.progress = cmd.common.progress;
  topt.comm = cm;
  topt.sync_bn = cmd.dist.sync_bn;  // the merged network has no BN: nothing to synchronize
  TrainTarget t;
  t.module = deploy.ptr().get();
  t.forward = fwd;
  t.meta = {{"stage", "quantize"}, {"source", src.path}, {"method", cmd.method},
            {"bits", bits}};

  std::unique_ptr<ClusterQAT> cq = install_weight_hook(cmd, deploy, bits, gran, topt.seed, *comm, t);
  const double acc_start = evaluate(*deploy, fwd, data.test, src.norm, 1000, dev, cm);
  log.log(cmd.method + " " + label + " before fine-tuning: " +
          std::to_string(100 * acc_start) + "%");
  if (cmd.method != "ptq" && topt.epochs > 0) {
    Trainer trainer(t, data.train, data.val.size() ? &data.val : nullptr, src.norm, topt, dev, log);
    trainer.run(cmd.resume ? topt.checkpoint : "");
  }
  if (cq) {
    cq->finalize(*deploy);
    std::vector<torch::Tensor> books = cq->centroids;
    books.insert(books.end(), cq->assign.begin(), cq->assign.end());
    comm->check_identical(books, "ClusterQAT codebooks");
    if (comm->distributed()) log.log("ClusterQAT codebooks and assignments identical on all ranks");
  }
  if (cmd.method == "qat")  // export the fake-quantized weights themselves
    deploy->hook = [&](size_t l, const torch::Tensor& w) { return uniform_quantize(w, bits[l]); };
  const double acc_q = evaluate(*deploy, fwd, data.test, src.norm, 1000, dev, cm);
  const double val_q = data.val.size() ? evaluate(*deploy, fwd, data.val, src.norm, 1000, dev, cm) : -1.0;
  log.log(cmd.method + " " + label + " test accuracy: " +
          std::to_string(100 * acc_q) + "% (fp32 merged " + std::to_string(100 * acc_fp32) + "%)" +
          (data.val.size() ? "; validation " + std::to_string(100 * val_q) + "%" : ""));
  if (!root) return 0;  // rank 0 writes the outputs
  write_outputs(cmd, src.path, *deploy, spec, enc, bits, gran, topt,
                {acc_fp32, acc_start, acc_q, val_q, data.val.size() > 0}, plan, out, log);
  return 0;
}

}  // namespace repvk::train
