// SPDX-License-Identifier: MIT
#include "import/repvgg_import.h"

#include <map>
#include <regex>
#include <set>

#include "model/config.h"
#include "model/repvgg.h"

namespace repvk::train {
namespace {

std::string shape_str(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + "]";
}

std::string list_str(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

const std::set<std::string> kTrainSuffixes = {
    "rbr_dense.conv.weight", "rbr_dense.bn.weight", "rbr_dense.bn.bias", "rbr_dense.bn.running_mean",
    "rbr_dense.bn.running_var", "rbr_1x1.conv.weight", "rbr_1x1.bn.weight", "rbr_1x1.bn.bias",
    "rbr_1x1.bn.running_mean", "rbr_1x1.bn.running_var", "rbr_identity.weight", "rbr_identity.bias",
    "rbr_identity.running_mean", "rbr_identity.running_var"};
const std::set<std::string> kDeploySuffixes = {"rbr_reparam.weight", "rbr_reparam.bias"};

struct BlockTensors {
  std::string prefix;  // "stage2.1."
  std::map<std::string, torch::Tensor> t;
};

}  // namespace

std::vector<std::string> repvgg_arch_names() { return {"small", "A0", "A1", "A2", "B0", "B1", "B2", "B3"}; }

RepvggArch repvgg_arch(const std::string& name) {
  // Width multipliers (a, b) and depths from the RepVGG paper, Table 2; stage widths
  // via the trainer's ModelConfig::widths (64a capped at 64, 64a, 128a, 256a, 512b).
  static const std::map<std::string, std::pair<double, double>> mult = {
      {"A0", {0.75, 2.5}}, {"A1", {1, 2.5}}, {"A2", {1.5, 2.75}}, {"B0", {1, 2.5}},
      {"B1", {2, 4}},      {"B2", {2.5, 5}}, {"B3", {3, 5}}};
  RepvggArch a;
  a.name = name;
  if (name == "small") {
    const ModelConfig c = model_preset("small");
    a.depths = c.depths;
    a.widths = c.widths();
    a.strides = c.strides;
    return a;
  }
  auto it = mult.find(name);
  if (it == mult.end()) {
    std::string known;
    for (const auto& n : repvgg_arch_names()) known += (known.empty() ? "" : ", ") + n;
    throw TrainError("--arch '" + name + "' unknown (known: " + known + "; grouped g2/g4 variants are not supported)");
  }
  ModelConfig c;
  c.base_widths = {64, 64, 128, 256, 512};
  c.width_a = it->second.first;
  c.width_b = it->second.second;
  a.depths = name[0] == 'A' ? std::vector<int64_t>{1, 2, 4, 14, 1} : std::vector<int64_t>{1, 4, 6, 16, 1};
  a.widths = c.widths();
  a.strides = {2, 2, 2, 2, 2};
  return a;
}

ImportedRepvgg import_repvgg(const CheckpointTensors& ckpt, const RepvggImportOptions& opt,
                             const std::string& source) {
  auto fail = [&](const std::string& why) { return TrainError(source + ": " + why); };
  ImportedRepvgg out;
  static const std::regex stage_key(R"(^stage([0-9]{1,3})\.(?:([0-9]{1,4})\.)?(.+)$)");
  std::map<std::pair<int64_t, int64_t>, BlockTensors> blocks;
  std::map<std::string, torch::Tensor> linear;
  std::vector<std::string> others;
  std::string a_train, a_deploy;
  for (const auto& [stored, tensor] : ckpt.tensors) {
    std::string name = stored;
    if (name.rfind("module.", 0) == 0) {  // DataParallel / DDP: only a leading prefix
      name = name.substr(7);
      out.stripped_module_prefix = true;
    }
    const size_t dot = name.rfind('.');
    if (dot != std::string::npos && name.substr(dot + 1) == "num_batches_tracked") {
      ++out.ignored;
      continue;
    }
    if (!tensor.is_floating_point())
      throw fail("tensor '" + stored + "' has dtype " + std::string(c10::toString(tensor.scalar_type())) +
                 ", expected floating point");
    if (name == "linear.weight" || name == "linear.bias") {
      linear[name] = tensor.to(torch::kFloat32);
      continue;
    }
    std::smatch m;
    if (!std::regex_match(name, m, stage_key)) {
      others.push_back(stored);
      continue;
    }
    const int64_t stage = std::stoll(m[1]);
    const bool has_index = m[2].matched;
    const std::string suffix = m[3];
    const bool train = kTrainSuffixes.count(suffix) > 0, deploy = kDeploySuffixes.count(suffix) > 0;
    if ((stage == 0) == has_index || (!train && !deploy)) {
      const bool se = suffix.find("se.") != std::string::npos || suffix.find("post_se") != std::string::npos;
      throw fail("unexpected tensor '" + stored + "'" +
                 (se ? ": squeeze-excitation (SE) blocks are not supported"
                     : ": not part of a RepVGG block (expected stageN.M.rbr_dense.*, rbr_1x1.*, "
                       "rbr_identity.* or rbr_reparam.*)"));
    }
    (train ? a_train : a_deploy) = stored;
    const int64_t index = has_index ? std::stoll(m[2]) : 0;
    BlockTensors& b = blocks[{stage, index}];
    b.prefix = "stage" + std::to_string(stage) + "." + (has_index ? std::to_string(index) + "." : "");
    b.t[suffix] = tensor.to(torch::kFloat32);
  }
  if (blocks.empty()) {
    std::string first;
    for (size_t i = 0; i < others.size() && i < 4; ++i) first += (i ? ", " : "") + others[i];
    throw fail("not a RepVGG state dict: no stageN.* tensors (first tensors: " +
               (first.empty() ? std::string("none") : first) + ")");
  }
  if (!others.empty())
    throw fail("unexpected tensor '" + others.front() + "': not part of a RepVGG network");
  if (!a_train.empty() && !a_deploy.empty())
    throw fail("mixes training-form tensors ('" + a_train + "') and deploy-form tensors ('" + a_deploy +
               "'): a checkpoint holds one form");
  const bool training = !a_train.empty();
  out.form = training ? "training" : "deploy";

  // Stages and blocks must be numbered without gaps.
  std::vector<std::vector<BlockTensors*>> stages;
  for (auto& [key, b] : blocks) {
    const auto [stage, index] = key;
    if (stage != int64_t(stages.size()) - 1) {
      if (stage != int64_t(stages.size()))
        throw fail("missing tensors of stage" + std::to_string(stages.size()) + " (found stage" +
                   std::to_string(stage) + ")");
      stages.emplace_back();
    }
    if (index != int64_t(stages.back().size()))
      throw fail("missing tensors of block stage" + std::to_string(stage) + "." +
                 std::to_string(stages.back().size()) + " (found stage" + std::to_string(stage) + "." +
                 std::to_string(index) + ")");
    stages.back().push_back(&b);
  }
  std::vector<int64_t> strides = opt.strides;
  RepvggArch arch;
  if (!opt.arch.empty()) arch = repvgg_arch(opt.arch);
  if (strides.empty()) strides = !opt.arch.empty() ? arch.strides : std::vector<int64_t>(stages.size(), 2);
  if (strides.size() != stages.size())
    throw fail("the checkpoint has " + std::to_string(stages.size()) + " stages but " +
               std::to_string(strides.size()) + " strides were given");
  for (int64_t s : strides)
    if (s != 1 && s != 2) throw fail("stride " + std::to_string(s) + " given; the engine runs stride 1 or 2");

  auto get = [&](BlockTensors& b, const std::string& suffix) -> torch::Tensor& {
    auto it = b.t.find(suffix);
    if (it == b.t.end()) throw fail("missing tensor '" + b.prefix + suffix + "'");
    return it->second;
  };
  auto expect = [&](BlockTensors& b, const std::string& suffix, std::vector<int64_t> shape,
                    const std::string& why) -> torch::Tensor& {
    torch::Tensor& t = get(b, suffix);
    if (t.sizes().vec() != shape) {
      std::string want = "[";
      for (size_t d = 0; d < shape.size(); ++d) want += (d ? ", " : "") + std::to_string(shape[d]);
      throw fail("tensor '" + b.prefix + suffix + "' has shape " + shape_str(t) + ", expected " + want + "]" +
                 (why.empty() ? "" : " (" + why + ")"));
    }
    return t;
  };

  int64_t channels = -1;
  for (size_t s = 0; s < stages.size(); ++s) {
    out.depths.push_back(int64_t(stages[s].size()));
    for (size_t i = 0; i < stages[s].size(); ++i) {
      BlockTensors& b = *stages[s][i];
      const std::string kernel = training ? "rbr_dense.conv.weight" : "rbr_reparam.weight";
      const torch::Tensor& k = get(b, kernel);
      if (k.dim() != 4 || k.size(2) != 3 || k.size(3) != 3)
        throw fail("tensor '" + b.prefix + kernel + "' has shape " + shape_str(k) + ", expected [out, in, 3, 3]");
      const int64_t out_ch = k.size(0);
      if (channels < 0) {
        channels = k.size(1);
        out.in_channels = channels;
        if (channels < 1 || channels > 4)
          throw fail("tensor '" + b.prefix + kernel + "' has " + std::to_string(channels) +
                     " input channels; the engine takes 1 to 4");
      }
      if (k.size(1) != channels) {
        if (k.size(1) > 0 && channels % k.size(1) == 0)
          throw fail("tensor '" + b.prefix + kernel + "' has shape " + shape_str(k) + ": a grouped convolution (groups = " +
                     std::to_string(channels / k.size(1)) + ", RepVGG g2/g4), which is not supported");
        throw fail("tensor '" + b.prefix + kernel + "' has shape " + shape_str(k) + " but the previous block produces " +
                   std::to_string(channels) + " channels");
      }
      const std::string why = std::to_string(channels) + " channels in, " + std::to_string(out_ch) + " out";
      const int64_t stride = i == 0 ? strides[s] : 1;
      if (training) {
        const bool identity = b.t.count("rbr_identity.weight") + b.t.count("rbr_identity.bias") +
                                  b.t.count("rbr_identity.running_mean") + b.t.count("rbr_identity.running_var") > 0;
        if (identity && (out_ch != channels || stride != 1))
          throw fail("block " + b.prefix.substr(0, b.prefix.size() - 1) + " has an identity branch, so it needs stride 1 and " +
                     "in == out, but it has stride " + std::to_string(stride) + " (from --strides/--arch) and " + why);
        if (!identity && out_ch == channels && stride == 1)
          throw fail("block " + b.prefix.substr(0, b.prefix.size() - 1) + " has no identity branch although in == out: " +
                     "its stride must be 2, not the 1 given by --strides/--arch (missing tensor '" + b.prefix +
                     "rbr_identity.weight'?)");
        RepBlock blk(channels, out_ch, stride, NormKind::Bn, OabnParams{});
        torch::NoGradGuard ng;
        blk->conv3->weight.copy_(k);
        blk->conv1->weight.copy_(expect(b, "rbr_1x1.conv.weight", {out_ch, channels, 1, 1}, why));
        auto load_bn = [&](BranchNorm& bn, const std::string& p, int64_t n) {
          bn->weight.copy_(expect(b, p + "weight", {n}, why));
          bn->bias.copy_(expect(b, p + "bias", {n}, why));
          bn->running_mean.copy_(expect(b, p + "running_mean", {n}, why));
          bn->running_var.copy_(expect(b, p + "running_var", {n}, why));
          if (!(bn->running_var.min().item<double>() + opt.bn_eps > 0))
            throw fail("tensor '" + b.prefix + p + "running_var' has values <= -eps");
          bn->eps = opt.bn_eps;
        };
        load_bn(blk->bn3, "rbr_dense.bn.", out_ch);
        load_bn(blk->bn1, "rbr_1x1.bn.", out_ch);
        if (identity) load_bn(blk->bnid, "rbr_identity.", out_ch);
        blk->eval();
        auto [w, bias] = blk->merge();
        out.net->add_conv(w, bias, stride);
      } else {
        out.net->add_conv(k, expect(b, "rbr_reparam.bias", {out_ch}, why), stride);
      }
      channels = out_ch;
    }
    out.widths.push_back(channels);
  }
  out.strides = strides;
  auto lin = [&](const std::string& n) -> torch::Tensor& {
    auto it = linear.find(n);
    if (it == linear.end()) throw fail("missing tensor '" + n + "' (the classifier)");
    return it->second;
  };
  const torch::Tensor& fw = lin("linear.weight");
  if (fw.dim() != 2 || fw.size(1) != channels)
    throw fail("tensor 'linear.weight' has shape " + shape_str(fw) + ", expected [classes, " +
               std::to_string(channels) + "]");
  out.classes = fw.size(0);
  const torch::Tensor& fb = lin("linear.bias");
  if (fb.sizes().vec() != std::vector<int64_t>{out.classes})
    throw fail("tensor 'linear.bias' has shape " + shape_str(fb) + ", expected [" + std::to_string(out.classes) + "]");
  out.net->set_fc(fw, fb);
  match_repvgg_arch(out, opt.arch, false, source);
  return out;
}

void match_repvgg_arch(ImportedRepvgg& out, const std::string& arch_name, bool check_strides,
                       const std::string& source) {
  for (const auto& n : repvgg_arch_names()) {
    const RepvggArch a = repvgg_arch(n);
    if (a.depths == out.depths && a.widths == out.widths) out.matched_arch = n;
  }
  if (arch_name.empty()) return;
  const RepvggArch arch = repvgg_arch(arch_name);
  if (arch.depths != out.depths || arch.widths != out.widths)
    throw TrainError(source + ": the checkpoint has depths " + list_str(out.depths) + " and widths " +
                     list_str(out.widths) + " but --arch " + arch_name + " has depths " + list_str(arch.depths) +
                     " and widths " + list_str(arch.widths));
  if (check_strides && arch.strides != out.strides)
    throw TrainError(source + ": the checkpoint has strides " + list_str(out.strides) + " but --arch " + arch_name +
                     " has strides " + list_str(arch.strides));
}

}  // namespace repvk::train
