// SPDX-License-Identifier: MIT
// `repvk-train train`: trains the RepVGG training form, then checks the merge and
// reports the merged weights' outliers.
#include <filesystem>

#include "commands.h"
#include "export.h"
#include "report.h"

namespace repvk::train {

int run_train(const TrainCommand& cmd) {
  if (cmd.out_dir.empty()) throw TrainError("--out is required");
  const std::string ckpt = cmd.out_dir + "/checkpoint.pt";
  // Rendezvous first, so that a wrong world size or an unreachable master is
  // reported before any work; with one rank this is a no-op.
  const std::unique_ptr<Comm> comm = Comm::connect(resolve_dist_options(cmd.dist));
  const bool root = comm->rank() == 0;
  // Rank 0 decides whether a checkpoint exists, so every rank takes the same branch.
  const bool have_ckpt = comm->broadcast_int(root && std::filesystem::exists(ckpt), "checkpoint check") != 0;
  if (cmd.resume && !have_ckpt)
    throw TrainError("--resume: no checkpoint at " + ckpt);
  if (!cmd.resume && have_ckpt)
    throw TrainError(ckpt + " exists; pass --resume to continue it or choose another --out");

  TrainCommand c = cmd;
  if (c.resume) {
    // The checkpoint's own settings win, so a resumed run is the run it continues.
    const auto meta = read_checkpoint_meta(ckpt);
    c.model = config_from_json(meta.at("config"));
    c.data = data_from_json(meta.at("data"));
    c.train.seed = meta.at("seed");
    c.train.epochs = meta.at("epochs");
  }
  // Everything that can be refused is refused before --out is created or written.
  validate_config(c.model);
  DatasetPair data = load_data(c.data);
  fit_config_to_data(c.model, data.train, c.input_fixed && !c.resume);
  validate_config(c.model);
  if (c.train.epochs < 1) throw TrainError("--epochs must be >= 1");
  if (c.train.batch < 1) throw TrainError("--batch must be >= 1");
  if (!(c.train.lr > 0)) throw TrainError("--lr must be > 0");

  std::filesystem::create_directories(cmd.out_dir);
  Logger log(cmd.out_dir + (root ? "/train.log" : "/train.rank" + std::to_string(comm->rank()) + ".log"));
  if (comm->distributed()) log.log("distributed: " + comm->describe());
  const torch::Device dev = pick_device(worker_threads(cmd.common.threads), log);
  log.log("loaded " + c.data.kind + " from " + (c.data.dir.empty() ? default_data_dir(c.data.kind) : c.data.dir) +
          ": " + std::to_string(data.train.size()) + " training, " + std::to_string(data.val.size()) +
          " validation (held out of training), " + std::to_string(data.test.size()) + " test images");
  const Normalization norm = compute_normalization(data.train);
  log.log("model: " + c.model.describe());

  torch::manual_seed(c.train.seed);  // parameter initialization
  RepVGG net(c.model);
  net->to(dev);
  int64_t params = 0;
  for (const auto& p : net->parameters()) params += p.numel();
  log.log("parameters (training form): " + std::to_string(params));

  TrainTarget t;
  t.module = net.ptr().get();
  t.forward = [&](const torch::Tensor& x) { return net->forward(x); };
  t.meta = {{"stage", "train"},
            {"config", config_to_json(c.model)},
            {"norm", norm_to_json(norm)},
            {"classes", data.train.class_names},
            {"data", data_to_json(c.data)},
            {"seed", c.train.seed},
            {"batch", c.train.batch},
            {"lr", c.train.lr}};
  TrainOptions opt = c.train;
  opt.checkpoint = ckpt;
  opt.progress = c.common.progress;
  opt.comm = comm.get();
  opt.sync_bn = cmd.dist.sync_bn;
  Trainer trainer(t, data.train, data.val.size() ? &data.val : nullptr, norm, opt, dev, log);
  trainer.run(c.resume ? ckpt : "");

  // Merge, then confirm the deploy form computes what the training form does.
  net->eval();
  DeployNet deploy = net->merge();
  {
    torch::NoGradGuard ng;
    torch::Tensor x = make_batch(data.test, torch::arange(0, std::min<int64_t>(256, data.test.size())), norm,
                                 {}, 0).to(dev);
    torch::Tensor a = net->forward(x), b = deploy->forward(x);
    const double rel = ((a - b).abs().max() / a.abs().max().clamp_min(1e-12)).item<double>();
    log.log("merge check: max |train - deploy| / max|logit| = " + std::to_string(rel));
  }
  auto acc = [&](torch::nn::Module& m, auto& fwd, const Dataset& d) {
    return d.size() ? evaluate(m, [&](const torch::Tensor& x) { return fwd->forward(x); }, d, norm, 1000, dev, comm.get())
                    : -1.0;
  };
  const double acc_train = acc(*net, net, data.test);
  const double acc_deploy = acc(*deploy, deploy, data.test);
  const double val_deploy = acc(*deploy, deploy, data.val);
  log.log("test accuracy: training form " + std::to_string(100 * acc_train) + "%, merged " +
          std::to_string(100 * acc_deploy) + "%" +
          (data.val.size() ? "; validation (merged) " + std::to_string(100 * val_deploy) + "%" : ""));
  if (!root) return 0;  // rank 0 writes the outputs
  const auto stats = outlier_stats(effective_weights(*deploy));
  log.log("merged-weight outliers:\n" + outlier_table(stats));
  nlohmann::json j = outlier_json(stats);
  j["norm"] = c.model.norm == NormKind::Oabn ? "oabn" : "bn";
  j["test_accuracy_fp32"] = acc_deploy;
  write_json_atomic(cmd.out_dir + "/outliers.json", j);
  write_json_atomic(cmd.out_dir + "/result.json",
                    {{"stage", "train"},
                     {"norm", j["norm"]},
                     {"epochs", c.train.epochs},
                     {"seed", c.train.seed},
                     {"val_images", data.val.size()},
                     {"test_accuracy", acc_deploy},
                     {"test_accuracy_training_form", acc_train},
                     {"val_accuracy", data.val.size() ? nlohmann::json(val_deploy) : nlohmann::json()}});
  if (!cmd.export_path.empty()) {
    ExportSpec spec{"repvgg-" + c.model.preset, c.model.in_channels, c.model.height, c.model.width,
                    norm, data.train.class_names};
    export_model(*deploy, spec, std::vector<LayerEncoding>(deploy->num_layers()), cmd.export_path);
    log.log("exported fp32 model to " + cmd.export_path);
  }
  return 0;
}

}  // namespace repvk::train
