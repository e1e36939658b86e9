// `repvk-train train`: trains the RepVGG training form, then checks the merge and
// reports the merged weights' outliers.
#include <filesystem>

#include "commands.h"
#include "export.h"
#include "report.h"

namespace repvk::train {

int run_train(const TrainCommand& cmd) {
  if (cmd.out_dir.empty()) throw TrainError("--out is required");
  std::filesystem::create_directories(cmd.out_dir);
  const std::string ckpt = cmd.out_dir + "/checkpoint.pt";
  if (cmd.resume && !std::filesystem::exists(ckpt))
    throw TrainError("--resume: no checkpoint at " + ckpt);
  if (!cmd.resume && std::filesystem::exists(ckpt))
    throw TrainError(ckpt + " exists; pass --resume to continue it or choose another --out");
  Logger log(cmd.out_dir + "/train.log");
  const torch::Device dev = pick_device(cmd.common.threads, log);

  TrainCommand c = cmd;
  if (c.resume) {
    // The checkpoint's own settings win, so a resumed run is the run it continues.
    const auto meta = read_checkpoint_meta(ckpt);
    c.model = config_from_json(meta.at("config"));
    c.data = data_from_json(meta.at("data"));
    c.train.seed = meta.at("seed");
    c.train.epochs = meta.at("epochs");
  }
  log.log("loading " + c.data.kind + " from " + (c.data.dir.empty() ? default_data_dir(c.data.kind) : c.data.dir));
  DatasetPair data = load_dataset(c.data.kind, c.data.dir, c.data.image_size, c.data.channels);
  fit_config_to_data(c.model, data.train, c.input_fixed && !c.resume);
  validate_config(c.model);
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
  Trainer trainer(t, data.train, &data.test, norm, opt, dev, log);
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
  const double acc_train = evaluate(*net, [&](const torch::Tensor& x) { return net->forward(x); },
                                    data.test, norm, 1000, dev);
  const double acc_deploy = evaluate(*deploy, [&](const torch::Tensor& x) { return deploy->forward(x); },
                                     data.test, norm, 1000, dev);
  log.log("test accuracy: training form " + std::to_string(100 * acc_train) + "%, merged " +
          std::to_string(100 * acc_deploy) + "%");
  const auto stats = outlier_stats(effective_weights(*deploy));
  log.log("merged-weight outliers:\n" + outlier_table(stats));
  nlohmann::json j = outlier_json(stats);
  j["norm"] = c.model.norm == NormKind::Oabn ? "oabn" : "bn";
  j["test_accuracy_fp32"] = acc_deploy;
  std::ofstream(cmd.out_dir + "/outliers.json") << j.dump(2) << "\n";
  if (!cmd.export_path.empty()) {
    ExportSpec spec{"repvgg-" + c.model.preset, c.model.in_channels, c.model.height, c.model.width,
                    norm, data.train.class_names};
    export_model(*deploy, spec, std::vector<LayerEncoding>(deploy->num_layers()), cmd.export_path);
    log.log("exported fp32 model to " + cmd.export_path);
  }
  return 0;
}

}  // namespace repvk::train
