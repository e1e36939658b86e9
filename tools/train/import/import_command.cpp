// SPDX-License-Identifier: MIT
#include "import/import_command.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "export.h"
#include "import/onnx_reader.h"
#include "import/repvgg_import.h"

namespace repvk::train {
namespace {

template <typename T>
std::vector<T> parse_numbers(const std::string& s, const std::string& flag) {
  std::vector<T> v;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    std::istringstream is(item);
    T x{};
    if (!(is >> x) || !(is >> std::ws).eof())
      throw TrainError(flag + ": '" + item + "' is not a number");
    v.push_back(x);
  }
  return v;
}

std::vector<std::string> read_labels(const std::string& path, int64_t classes) {
  std::ifstream f(path);
  if (!f) throw TrainError("--labels: cannot open '" + path + "'");
  std::vector<std::string> names;
  for (std::string line; std::getline(f, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    names.push_back(line);
  }
  while (!names.empty() && names.back().empty()) names.pop_back();  // trailing blank lines
  if (int64_t(names.size()) != classes)
    throw TrainError("--labels: '" + path + "' has " + std::to_string(names.size()) +
                     " lines but the checkpoint has " + std::to_string(classes) + " classes");
  return names;
}

std::string list_str(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

void check_import_flags(const ImportCommand& cmd) {
  if (cmd.storage != "fp32" && cmd.storage != "fp16")
    throw TrainError("--storage must be fp32 or fp16, got '" + cmd.storage + "'");
  if (cmd.bits < 0 || cmd.bits > 8) throw TrainError("--bits must be 0 (dense) or 1..8");
  if (cmd.first_last_bits < 0 || cmd.first_last_bits > 8) throw TrainError("--first-last-bits must be 0..8");
  if (cmd.first_last_bits && !cmd.bits) throw TrainError("--first-last-bits needs --bits");
  if (!(cmd.bn_eps > 0)) throw TrainError("--bn-eps must be > 0");
  if (cmd.pytorch_path.empty() == cmd.onnx_path.empty())
    throw TrainError("give one of --pytorch FILE.pth and --onnx FILE.onnx");
  if (!cmd.onnx_path.empty() && !cmd.strides.empty())
    throw TrainError("--strides is for --pytorch checkpoints; " + cmd.onnx_path + " states its strides in the graph");
}

// The network from the ONNX graph or the PyTorch checkpoint; `summary` gets the
// first line of the log (what was read).
ImportedRepvgg read_network(const ImportCommand& cmd, std::ostringstream& summary) {
  RepvggImportOptions opt;
  opt.arch = cmd.arch;
  if (!cmd.strides.empty()) opt.strides = parse_numbers<int64_t>(cmd.strides, "--strides");
  opt.bn_eps = cmd.bn_eps;
  if (!cmd.arch.empty()) (void)repvgg_arch(cmd.arch);  // unknown names fail before reading

  ImportedRepvgg net;
  if (!cmd.onnx_path.empty()) {
    OnnxImport g = import_onnx(cmd.onnx_path, cmd.arch);
    net = std::move(g.net);
    summary << "onnx        " << cmd.onnx_path << ": " << g.nodes << " nodes, opset " << g.opset
            << (g.producer.empty() ? "" : ", from " + g.producer) << ", " << net.form << " form"
            << (g.batchnorm_nodes ? " (" + std::to_string(g.batchnorm_nodes) + " BatchNormalization merged)" : "")
            << (g.softmax ? ", ends in Softmax" : "") << "\n";
  } else {
    const CheckpointTensors ckpt = read_checkpoint_tensors(cmd.pytorch_path);
    net = import_repvgg(ckpt, opt, cmd.pytorch_path);
    summary << "checkpoint  " << cmd.pytorch_path << ": " << ckpt.tensors.size() << " tensors"
            << (ckpt.wrapper_key.empty() ? "" : " under '" + ckpt.wrapper_key + "'")
            << (net.stripped_module_prefix ? ", leading 'module.' stripped" : "") << ", " << net.form
            << " form\n";
  }
  return net;
}

// --input, else what the file states, else the defaults of the known shapes.
void set_input_size(const ImportCommand& cmd, const ImportedRepvgg& net, ExportSpec& spec) {
  if (!cmd.input.empty()) {
    int64_t c = 0, h = 0, w = 0;
    char x1 = 0, x2 = 0;
    std::stringstream ss(cmd.input);
    if (!(ss >> c >> x1 >> h >> x2 >> w) || x1 != 'x' || x2 != 'x' || !(ss >> std::ws).eof())
      throw TrainError("--input must look like 3x224x224, got '" + cmd.input + "'");
    if (c != net.in_channels)
      throw TrainError("--input has " + std::to_string(c) + " channels but the checkpoint's first conv takes " +
                       std::to_string(net.in_channels));
    if (h < 1 || w < 1 || h > 4096 || w > 4096) throw TrainError("--input: height and width must be 1..4096");
    spec.height = h;
    spec.width = w;
  } else if (net.input_height > 0 && net.input_width > 0) {  // stated by the file
    spec.height = net.input_height;
    spec.width = net.input_width;
  } else if (net.matched_arch == "small") {
    spec.height = spec.width = 28;
  } else if (net.in_channels == 3) {
    spec.height = spec.width = 224;
  } else {
    throw TrainError("give --input CxHxW: no default for a " + std::to_string(net.in_channels) + "-channel model");
  }
}

// --mean/--std, else ImageNet's for RGB and Fashion-MNIST's for the small preset.
void set_normalization(const ImportCommand& cmd, const ImportedRepvgg& net, ExportSpec& spec) {
  if (!cmd.mean.empty()) spec.norm.mean = parse_numbers<float>(cmd.mean, "--mean");
  if (!cmd.std.empty()) spec.norm.std = parse_numbers<float>(cmd.std, "--std");
  if (cmd.mean.empty() != cmd.std.empty()) throw TrainError("give both --mean and --std, or neither");
  if (cmd.mean.empty()) {
    if (net.in_channels == 3) {
      spec.norm.mean = {0.485f, 0.456f, 0.406f};  // ImageNet, on the [0, 1] scale
      spec.norm.std = {0.229f, 0.224f, 0.225f};
    } else if (net.matched_arch == "small") {
      spec.norm.mean = {0.2860f};  // Fashion-MNIST, what `train --preset small` uses
      spec.norm.std = {0.3530f};
    } else {
      throw TrainError("give --mean and --std: no default for a " + std::to_string(net.in_channels) +
                       "-channel model");
    }
  }
  if (int64_t(spec.norm.mean.size()) != net.in_channels || int64_t(spec.norm.std.size()) != net.in_channels)
    throw TrainError("--mean and --std need " + std::to_string(net.in_channels) + " values each (one per channel)");
  for (float s : spec.norm.std)
    if (!(s > 0) || !std::isfinite(s)) throw TrainError("--std values must be > 0");
  for (float m : spec.norm.mean)
    if (!std::isfinite(m)) throw TrainError("--mean values must be finite");
}

// The shorter side images are resized to before the centre crop; 0: stretched.
uint32_t resize_shorter_side(const ImportCommand& cmd, const ImportedRepvgg& net, const ExportSpec& spec) {
  uint32_t shorter_side = 0;
  if (cmd.resize.empty() ? net.in_channels == 3 : cmd.resize != "none") {
    // torchvision's evaluation transform: Resize(crop / 0.875) then CenterCrop(crop).
    const int64_t crop = std::max(spec.height, spec.width);
    shorter_side = uint32_t(std::lround(double(crop) / 0.875));
    if (!cmd.resize.empty()) {
      const std::vector<int64_t> v = parse_numbers<int64_t>(cmd.resize, "--resize");
      if (v.size() != 1 || v[0] < crop || v[0] > 4096)
        throw TrainError("--resize must be 'none' or one shorter-side length from " + std::to_string(crop) +
                         " (the crop) to 4096, got '" + cmd.resize + "'");
      shorter_side = uint32_t(v[0]);
    }
  }
  return shorter_side;
}

// Per-layer encodings; with --bits, post-training k-means (the trainer's ClusterQAT
// with no fine-tuning steps) installed as the network's weight hook.
std::vector<LayerEncoding> cluster_weights(const ImportCommand& cmd, ImportedRepvgg& net) {
  const size_t layers = net.net->num_layers();
  std::vector<LayerEncoding> enc(layers);
  if (cmd.bits > 0) {
    std::vector<int> bits(layers, cmd.bits);
    if (cmd.first_last_bits) bits.front() = bits.back() = cmd.first_last_bits;
    ClusterOptions co;
    co.granularity = cmd.granularity;
    co.seed = cmd.seed;
    for (size_t l = 0; l < layers; ++l) enc[l] = {bits[l], cmd.granularity};
    auto cq = std::make_shared<ClusterQAT>(*net.net, bits, co);
    cq->finalize(*net.net);
    net.net->hook = [cq](size_t l, const torch::Tensor& w) { return cq->forward_weight(l, w); };
  }
  return enc;
}

// --storage fp16: out-of-range values are reported (naming the layer) before every
// stored value is rounded to what the file will hold.
void store_fp16(repvk::Model& model, const std::string& source) {
  for (repvk::Layer& l : model.layers) {
    if (!l.has_weights()) continue;
    repvk::Weights& w = l.weights;
    if (w.encoding == repvk::WeightEncoding::Fp32)
      w.dense_storage = repvk::ValueStorage::Fp16;
    else
      w.codebook_storage = repvk::ValueStorage::Fp16;
  }
  try {
    repvk::validate_model(model, source);
  } catch (const repvk::ModelError& e) {
    throw TrainError(std::string(e.what()) + " (use --storage fp32)");
  }
  for (repvk::Layer& l : model.layers) {
    if (!l.has_weights()) continue;
    repvk::Weights& w = l.weights;
    for (float& v : w.encoding == repvk::WeightEncoding::Fp32 ? w.dense : w.codebooks)
      v = repvk::half_to_float(repvk::float_to_half(v));
  }
}

void log_import(std::ostream& log, const ImportCommand& cmd, const ImportedRepvgg& net,
                const ExportSpec& spec, const repvk::Model& model, const std::string& read_summary) {
  const bool onnx = !cmd.onnx_path.empty();
  uint64_t macs = 0;
  for (const auto& s : repvk::model_stats(model)) macs += s.flops / 2;
  log << read_summary << "network     RepVGG " << (net.matched_arch.empty() ? "(custom)" : net.matched_arch) << ": depths "
      << list_str(net.depths) << ", widths " << list_str(net.widths) << ", strides " << list_str(net.strides)
      << (cmd.arch.empty() && cmd.strides.empty() && !onnx ? " (default; set --arch or --strides)" : "") << ", "
      << net.classes << " classes\n"
      << "input       " << spec.channels << "x" << spec.height << "x" << spec.width << ", pixels scaled to [0,1], mean";
  for (float v : spec.norm.mean) log << " " << v;
  log << ", std";
  for (float v : spec.norm.std) log << " " << v;
  log << "\n            channel order as the checkpoint was trained (RGB for torchvision-style ImageNet models)\n"
      << "resize      "
      << (model.input.resize == repvk::InputResize::ShorterSideCrop
              ? "shorter side to " + std::to_string(model.input.resize_shorter) + " px (bilinear), centre crop " +
                    std::to_string(spec.height) + "x" + std::to_string(spec.width)
              : "whole image stretched to " + std::to_string(spec.height) + "x" + std::to_string(spec.width) +
                    " (bilinear, no crop)")
      << "\n"
      << "classes     " << spec.class_names.size() << (cmd.labels.empty() ? " (named 'class N'; give --labels)" : " from " + cmd.labels)
      << ": " << spec.class_names.front() << (spec.class_names.size() > 1 ? ", " + spec.class_names[1] : "")
      << (spec.class_names.size() > 2 ? ", ..." : "") << "\n"
      << "weights     " << (cmd.bits ? std::to_string(cmd.bits) + "-bit k-means codebooks per " +
                                           std::string(cmd.granularity == Granularity::Layer ? "layer" : "channel") +
                                           (cmd.first_last_bits ? " (first/last " + std::to_string(cmd.first_last_bits) + "-bit)" : "") +
                                           ", values " + cmd.storage
                                     : cmd.storage + " dense")
      << ", " << std::fixed << std::setprecision(2) << double(macs) / (macs >= 1e9 ? 1e9 : 1e6)
      << (macs >= 1e9 ? " G" : " M") << " multiply-adds per image\n";
}

}  // namespace

repvk::Model build_imported_model(const ImportCommand& cmd, std::ostream& log) {
  check_import_flags(cmd);
  const std::string& source = cmd.onnx_path.empty() ? cmd.pytorch_path : cmd.onnx_path;
  std::ostringstream read_summary;
  ImportedRepvgg net = read_network(cmd, read_summary);

  ExportSpec spec;
  spec.channels = net.in_channels;
  set_input_size(cmd, net, spec);
  set_normalization(cmd, net, spec);
  const uint32_t shorter_side = resize_shorter_side(cmd, net, spec);
  if (!cmd.labels.empty()) {
    spec.class_names = read_labels(cmd.labels, net.classes);
  } else {
    for (int64_t k = 0; k < net.classes; ++k) spec.class_names.push_back("class " + std::to_string(k));
  }
  spec.name = !cmd.name.empty() ? cmd.name
                                : "repvgg-" + (net.matched_arch.empty() ? std::string("custom") : net.matched_arch) +
                                      "-imported";

  const std::vector<LayerEncoding> enc = cluster_weights(cmd, net);
  repvk::Model model = build_model(*net.net, spec, enc);
  model.input.resize = shorter_side ? repvk::InputResize::ShorterSideCrop : repvk::InputResize::Stretch;
  model.input.resize_shorter = shorter_side;
  if (cmd.storage == "fp16") store_fp16(model, source);
  try {
    repvk::validate_model(model, source);
  } catch (const repvk::ModelError& e) {
    throw TrainError(e.what());
  }
  log_import(log, cmd, net, spec, model, read_summary.str());
  return model;
}

int run_import(const ImportCommand& cmd) {
  if (cmd.threads > 0) torch::set_num_threads(cmd.threads);
  const repvk::Model model = build_imported_model(cmd, std::cout);
  try {
    repvk::write_model(model, cmd.out);
  } catch (const repvk::ModelError& e) {
    throw TrainError(std::string("writing the model failed: ") + e.what());
  }
  std::cout << "wrote       " << cmd.out << "\n";
  return 0;
}

}  // namespace repvk::train
