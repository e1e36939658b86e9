// SPDX-License-Identifier: MIT
// Flags of `repvk-train import` (kept out of main.cpp).
#include <CLI/CLI.hpp>

#include "import/import_command.h"
#include "import/repvgg_import.h"

namespace repvk::train {

CLI::App* add_import_subcommand(CLI::App& app, ImportCommand& c) {
  auto* im = app.add_subcommand("import", "convert a PyTorch RepVGG checkpoint (.pth) or ONNX graph to a .rpvk model");
  im->footer(
      "Reads torch.save files of the public RepVGG code (DingXiaoH/RepVGG), training form\n"
      "(rbr_dense/rbr_1x1/rbr_identity, merged here) or deploy form (rbr_reparam): a state\n"
      "dict, or a dict holding one under 'state_dict' or 'model'; a leading 'module.' is\n"
      "stripped. Depths, widths and classes come from the tensors; strides from --arch or\n"
      "--strides (default 2 for every stage's first block, as in the public code).\n"
      "ONNX graphs (--onnx): Conv/BatchNormalization branches, Add, Relu; then pooling and Gemm\n"
      "or MatMul+Add; strides and (when static) the input size come from the graph. See docs/import.md.\n"
      "Example: repvk-train import --pytorch RepVGG-A0-train.pth --arch A0 --labels imagenet.txt --out a0.rpvk");
  auto* pytorch =
      im->add_option("--pytorch", c.pytorch_path, "checkpoint written by torch.save (zip format, torch >= 1.6)");
  im->add_option("--onnx", c.onnx_path, "ONNX graph of a RepVGG (training or deploy form), e.g. from torch.onnx.export")
      ->excludes(pytorch);
  im->add_option("--out", c.out, "model file to write (.rpvk)")->required();
  std::string known;
  for (const auto& n : repvgg_arch_names()) known += (known.empty() ? "" : "|") + n;
  im->add_option("--arch", c.arch, known + ": cross-check depths/widths and take its strides");
  im->add_option("--strides", c.strides, "stride of each stage's first block, e.g. 2,2,2,2,2");
  im->add_option("--input", c.input, "CxHxW input (default 3x224x224 for 3-channel models, 1x28x28 for small)");
  im->add_option("--mean", c.mean, "per-channel mean on the [0,1] scale (default ImageNet for 3 channels)");
  im->add_option("--std", c.std, "per-channel std on the [0,1] scale (default ImageNet for 3 channels)");
  im->add_option("--resize", c.resize,
                 "SHORTER|none: resize a photo's shorter side to SHORTER pixels, then centre-crop "
                 "the model's HxW (default for 3 channels: max(H,W)/0.875, i.e. 256 for 224); "
                 "none: stretch the whole photo to HxW")
      ->type_name("PIXELS|none");
  im->add_option("--labels", c.labels, "class names, one per line (default 'class N')");
  im->add_option("--name", c.name, "model name stored in the file");
  im->add_option("--storage", c.storage, "fp32 | fp16: dense weights, or codebook values with --bits")
      ->capture_default_str();
  im->add_option("--bits", c.bits, "0: dense; 1..8: k-means codebooks without data (PTQ)")->capture_default_str();
  im->add_option("--first-last-bits", c.first_last_bits, "bits of the first conv and the fc (0: --bits)");
  im->add_option("--granularity", c.granularity, "codebooks per layer or per output channel")
      ->transform(CLI::CheckedTransformer(std::map<std::string, Granularity>{{"layer", Granularity::Layer},
                                                                               {"channel", Granularity::Channel}}))
      ->option_text("layer|channel (default: channel)");
  im->add_option("--bn-eps", c.bn_eps, "BatchNorm epsilon of every branch (state dicts do not store it)")
      ->capture_default_str();
  im->add_option("--seed", c.seed, "k-means seed")->capture_default_str();
  im->add_option("--threads", c.threads, "CPU threads (default: all cores)");
  return im;
}

}  // namespace repvk::train
