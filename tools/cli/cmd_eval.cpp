// SPDX-License-Identifier: MIT
// `repvk eval`: accuracy of a model on Fashion-MNIST, read straight from the
// dataset's .gz files, with per-class accuracy and the most common confusions.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <tuple>

#include "common.h"
#include "idx.h"
#include "progress_bar.h"
#include "repvk/cpu_reference.h"
#include "repvk/error.h"

namespace repvk::cli {
namespace {

using tools::Dataset;
using tools::ProgressBar;
using tools::load_fashion_mnist;

struct EvalOptions {
  std::string model;
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string split = "test";
  uint32_t limit = 0;
  uint32_t batch = 64;
  bool cpu = false;
  bool json = false;
  bool predictions = false;
  bool progress = false;
  GpuOptions gpu;
};

// Runs one batch and returns probabilities, either on the GPU or on the CPU.
using Backend = std::function<std::vector<float>(const float*, uint32_t)>;

struct Confusion {
  uint32_t truth, predicted;
  uint64_t count;
};

int run(const EvalOptions& o) {
  parse_precision(o.gpu);  // flag contradictions are usage errors, whatever else fails
  const LoadedModel lm = load_model_or_default(o.model);
  const Model& m = lm.model;
  const InputSpec& in = m.input;
  // A Fashion-MNIST-shaped model must get Fashion-MNIST-shaped data as is: silently
  // resizing other data would hide a wrong --data. Any other model input is fed
  // through preprocess(), which resizes and replicates gray to RGB.
  const bool native = in.channels == 1 && in.height == 28 && in.width == 28;
  Dataset d = load_fashion_mnist(o.data, o.split, o.limit, native ? 28 : 0, native ? 28 : 0);
  const uint32_t n = d.images.count;
  const uint32_t classes = m.num_classes();
  for (uint32_t i = 0; i < n; ++i)
    if (d.labels.labels[i] >= classes)
      throw Error("'" + d.labels_path + "' item " + std::to_string(i) + " has label " +
                  std::to_string(d.labels.labels[i]) + " but the model has only " +
                  std::to_string(classes) + " classes");

  std::unique_ptr<GpuSession> session;
  std::unique_ptr<Network> net;
  Backend backend;
  std::string device = "CPU reference", precision = "fp32";
  if (o.cpu) {
    backend = [&m](const float* x, uint32_t b) { return cpu::forward(m, x, b); };
  } else {
    session = std::make_unique<GpuSession>(o.gpu);
    net = std::make_unique<Network>(session->device(), m, session->network_options(o.batch));
    backend = [&net](const float* x, uint32_t b) {
      return net->infer(x, size_t(b) * net->input_size(), b);
    };
    device = session->device_name();
    precision = precision_name(net->precision());
  }

  std::vector<uint64_t> matrix(size_t(classes) * classes, 0);
  std::vector<uint32_t> predictions(n);
  const size_t pixels_per_image = size_t(d.images.rows) * d.images.cols;
  const size_t floats_per_image = size_t(in.channels) * in.height * in.width;
  std::vector<float> input;
  ProgressBar bar(n, o.progress || ProgressBar::stderr_is_tty());
  const auto start = std::chrono::steady_clock::now();
  for (uint32_t first = 0; first < n; first += o.batch) {
    const uint32_t b = std::min(o.batch, n - first);
    input.resize(size_t(b) * floats_per_image);
    Image img;
    img.width = d.images.cols;
    img.height = d.images.rows;
    img.channels = 1;
    for (uint32_t i = 0; i < b; ++i) {
      const uint8_t* src = d.images.pixels.data() + size_t(first + i) * pixels_per_image;
      img.pixels.assign(src, src + pixels_per_image);
      const auto t = preprocess(img, in);
      std::copy(t.begin(), t.end(), input.begin() + ptrdiff_t(size_t(i) * floats_per_image));
    }
    const auto probs = backend(input.data(), b);
    if (probs.size() != size_t(b) * classes)
      throw Error("inference returned " + std::to_string(probs.size()) + " values, expected " +
                  std::to_string(size_t(b) * classes));
    for (uint32_t i = 0; i < b; ++i) {
      const uint32_t predicted = top_k(&probs[size_t(i) * classes], classes, 1).at(0).label;
      ++matrix[size_t(d.labels.labels[first + i]) * classes + predicted];
      predictions[first + i] = predicted;
    }
    bar.update(first + b);
  }
  bar.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  net.reset();
  if (session) session->finish();

  uint64_t correct = 0;
  std::vector<uint64_t> per_total(classes, 0), per_correct(classes, 0);
  std::vector<Confusion> confusions;
  for (uint32_t t = 0; t < classes; ++t)
    for (uint32_t p = 0; p < classes; ++p) {
      const uint64_t c = matrix[size_t(t) * classes + p];
      per_total[t] += c;
      if (t == p) {
        per_correct[t] += c;
        correct += c;
      } else if (c) {
        confusions.push_back({t, p, c});
      }
    }
  std::sort(confusions.begin(), confusions.end(), [](const Confusion& a, const Confusion& b) {
    return std::tie(b.count, a.truth, a.predicted) < std::tie(a.count, b.truth, b.predicted);
  });
  const double accuracy = n ? double(correct) / n : 0.0;
  const double rate = seconds > 0 ? n / seconds : 0.0;

  if (o.json) {
    nlohmann::json j = run_json_header(lm, device, precision);
    j["dataset"] = {{"images", d.images_path}, {"labels", d.labels_path}, {"split", o.split}};
    j["images"] = n;
    j["correct"] = correct;
    j["accuracy"] = accuracy;
    j["seconds"] = seconds;
    j["images_per_second"] = rate;
    j["batch"] = o.batch;
    j["per_class"] = nlohmann::json::array();
    for (uint32_t c = 0; c < classes; ++c)
      j["per_class"].push_back(
          {{"label", c}, {"name", class_name(m, c)}, {"images", per_total[c]},
           {"correct", per_correct[c]},
           {"accuracy", per_total[c] ? double(per_correct[c]) / per_total[c] : 0.0}});
    j["confusions"] = nlohmann::json::array();
    for (const auto& c : confusions)
      j["confusions"].push_back({{"true", c.truth}, {"true_name", class_name(m, c.truth)},
                                 {"predicted", c.predicted},
                                 {"predicted_name", class_name(m, c.predicted)},
                                 {"count", c.count}});
    nlohmann::json rows = nlohmann::json::array();
    for (uint32_t t = 0; t < classes; ++t)
      rows.push_back(std::vector<uint64_t>(matrix.begin() + ptrdiff_t(size_t(t) * classes),
                                           matrix.begin() + ptrdiff_t(size_t(t + 1) * classes)));
    j["confusion_matrix"] = rows;
    if (o.predictions) j["predictions"] = predictions;
    print_json(j);
    return 0;
  }

  std::printf("model:      %s (%s)\n", m.name.c_str(), lm.source.c_str());
  std::printf("device:     %s, precision %s\n", device.c_str(), precision.c_str());
  std::printf("data:       %s (%s split, %u of %u images)\n", d.images_path.c_str(),
              o.split.c_str(), n, d.images.total);
  std::printf("accuracy:   %s%% (%llu/%u)\n", fixed(accuracy * 100, 2).c_str(),
              (unsigned long long)correct, n);
  std::printf("throughput: %s images/s (%s s, batch %u, preprocessing included)\n",
              fixed(rate, 1).c_str(), fixed(seconds, 2).c_str(), o.batch);
  std::printf("\nper-class accuracy:\n");
  for (uint32_t c = 0; c < classes; ++c) {
    if (!per_total[c]) continue;
    std::printf("  %3u %-24s %6s%%  (%llu/%llu)\n", c, class_name(m, c).c_str(),
                fixed(100.0 * per_correct[c] / per_total[c], 1).c_str(),
                (unsigned long long)per_correct[c], (unsigned long long)per_total[c]);
  }
  std::printf("\ntop confusions (true -> predicted):\n");
  if (confusions.empty()) std::printf("  none\n");
  for (size_t i = 0; i < std::min<size_t>(confusions.size(), 5); ++i) {
    const auto& c = confusions[i];
    std::printf("  %-24s -> %-24s %llu\n", class_name(m, c.truth).c_str(),
                class_name(m, c.predicted).c_str(), (unsigned long long)c.count);
  }
  return 0;
}

}  // namespace

Command register_eval(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* sub = app.add_subcommand("eval", "Measure a model's accuracy on Fashion-MNIST");
  sub->footer(
      "Reads the .gz idx files of Debian's dataset-fashion-mnist package directly.\n"
      "A 1x28x28 model needs 28x28 images; other model inputs get the images resized.\n"
      "Prints accuracy, per-class accuracy, the most frequent confusions and images/s.");
  CLI::Option* pos =
      sub->add_option("MODEL", o->model, "Model file (.rpvk); default: the bundled model");
  sub->add_option("--model", o->model, "Same as MODEL")->type_name("PATH")->excludes(pos);
  sub->add_option("--data", o->data, "Folder holding the Fashion-MNIST .gz files")
      ->type_name("DIR")
      ->capture_default_str();
  sub->add_option("--split", o->split, "Which half of the dataset to use")
      ->check(CLI::IsMember({"test", "train"}))
      ->capture_default_str();
  sub->add_option("--limit", o->limit, "Use only the first N images (0 = all)")
      ->type_name("N")
      ->capture_default_str();
  sub->add_option("--batch", o->batch, "Images per inference call")
      ->type_name("B")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
  sub->add_flag("--cpu", o->cpu, "Run the CPU reference implementation instead of the GPU");
  CLI::Option* json = sub->add_flag("--json", o->json, "Print machine-readable JSON on stdout");
  sub->add_flag("--predictions", o->predictions,
                "With --json: also the top-1 label of every image, in dataset order")
      ->needs(json);
  sub->add_flag("--progress", o->progress,
                "Show the progress bar even when stderr is not a terminal");
  add_gpu_options(*sub, o->gpu);
  return {sub, [o] { return run(*o); }};
}

}  // namespace repvk::cli
