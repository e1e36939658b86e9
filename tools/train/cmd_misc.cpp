// SPDX-License-Identifier: MIT
// `repvk-train report` (outlier statistics of a checkpoint's merged weights) and
// `repvk-train bench` (training throughput on random data, for the Python comparison).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <iostream>

#include "commands.h"
#include "export.h"
#include "report.h"

namespace repvk::train {

int run_infer_bench(const InferBenchCommand& c) {
  if (c.batch < 1 || c.runs < 1 || c.warmup < 0)
    throw TrainError("--batch and --runs must be >= 1 and --warmup >= 0");
  Logger log;
  if (c.json) log.to_stderr();
  const torch::Device dev = pick_device(c.common.threads, log);
  repvk::Model model;
  try {
    model = repvk::read_model(c.model_path);
  } catch (const std::exception& e) {
    throw TrainError(e.what());
  }
  DeployNet net = deploy_from_model(model, c.model_path);
  net->to(dev);
  net->eval();
  const bool softmax = model.layers.back().type == repvk::LayerType::Softmax;
  torch::manual_seed(12345);
  const torch::Tensor x =
      torch::randn({c.batch, int64_t(model.input.channels), int64_t(model.input.height),
                    int64_t(model.input.width)})
          .to(dev);
  torch::InferenceMode guard;
  auto once = [&] {
    torch::Tensor y = net->forward(x);
    if (softmax) y = torch::softmax(y, 1);
    return y.sum().item<double>();  // forces the work to finish
  };
  for (int64_t i = 0; i < c.warmup; ++i) once();
  std::vector<double> ms;
  for (int64_t i = 0; i < c.runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    once();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  const double med = ms[ms.size() / 2];
  const double ips = double(c.batch) * 1000.0 / med;
  if (c.json) {
    std::cout << nlohmann::json{{"model", c.model_path},
                                {"engine", "libtorch " + std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR)},
                                {"device", dev.is_cuda() ? "cuda" : "cpu"},
                                {"threads", at::get_num_threads()},
                                {"batch", c.batch},
                                {"runs", c.runs},
                                {"ms_median", med},
                                {"ms_min", ms.front()},
                                {"ms_max", ms.back()},
                                {"images_per_second", ips}}
                     .dump(2)
              << "\n";
  } else {
    std::printf("libtorch %d.%d on %s, %d thread(s), batch %lld: median %.3f ms, min %.3f, "
                "max %.3f; %.1f images/s\n",
                TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, dev.is_cuda() ? "cuda" : "cpu", at::get_num_threads(),
                static_cast<long long>(c.batch), med, ms.front(), ms.back(), ips);
  }
  return 0;
}

int run_report(const ReportCommand& c) {
  Logger log;
  const torch::Device dev = pick_device(c.common.threads, log);
  Trained tr = load_trained(c.checkpoint, dev);
  DeployNet deploy = tr.net->merge();
  const auto stats = outlier_stats(effective_weights(*deploy));
  std::cout << "norm: " << (tr.config.norm == NormKind::Oabn ? "oabn" : "bn") << "\n"
            << outlier_table(stats);
  if (!c.json_path.empty()) write_json_atomic(c.json_path, outlier_json(stats));
  if (!c.histogram_path.empty()) {
    size_t layer = worst_layer(stats);
    if (!c.histogram_layer.empty()) {
      layer = stats.size();
      for (size_t i = 0; i < stats.size(); ++i)
        if (stats[i].name == c.histogram_layer) layer = i;
      if (layer == stats.size())
        throw TrainError("--layer '" + c.histogram_layer + "': no such layer (" + stats.front().name +
                         " .. " + stats.back().name + ")");
    }
    // Bins of a quarter standard deviation: wide enough to be smooth at the centre,
    // narrow enough that a single outlier tap shows up as its own bar.
    const torch::Tensor w = effective_weights(*deploy)[layer].flatten().to(torch::kFloat64);
    const torch::Tensor z = (w - w.mean()) / w.std(false).clamp_min(1e-30);
    const double width = 0.25;
    const int64_t half = int64_t(std::ceil(z.abs().max().item<double>() / width)) + 1;
    const torch::Tensor bin = (z / width).floor().to(torch::kLong).clamp(-half, half - 1) + half;
    const torch::Tensor counts = torch::bincount(bin, {}, 2 * half);
    std::string tsv = "# " + stats[layer].name + ": (w - mean)/std, bin centre and count\n";
    for (int64_t i = 0; i < 2 * half; ++i)
      tsv += std::to_string((double(i - half) + 0.5) * width) + "\t" +
             std::to_string(counts[i].item<int64_t>()) + "\n";
    write_text_atomic(c.histogram_path, tsv);
  }
  return 0;
}

int run_bench(const BenchCommand& c) {
  Logger log;
  const torch::Device dev = pick_device(c.common.threads, log);
  if (c.batch < 1 || c.steps < 1) throw TrainError("--batch and --steps must be >= 1");
  validate_config(c.model);
  torch::manual_seed(c.seed);
  RepVGG net(c.model);
  net->to(dev);
  net->train();
  torch::optim::SGD opt(net->parameters(),
                        torch::optim::SGDOptions(0.01).momentum(0.9).nesterov(true).weight_decay(1e-4));
  torch::Tensor x = torch::randn({c.batch, c.model.in_channels, c.model.height, c.model.width}).to(dev);
  torch::Tensor y = torch::randint(0, c.model.num_classes, {c.batch}, torch::kInt64).to(dev);
  auto step = [&] {
    opt.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(x), y);
    loss.backward();
    opt.step();
    return loss.item<double>();
  };
  for (int64_t i = 0; i < c.warmup; ++i) step();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < c.steps; ++i) step();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "model: " << c.model.describe() << "\n"
            << "threads " << at::get_num_threads() << ", batch " << c.batch << ", " << c.steps
            << " steps: " << double(c.batch * c.steps) / s << " images/s (train step: forward, "
            << "backward, SGD)\n";
  return 0;
}

}  // namespace repvk::train
