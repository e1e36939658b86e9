// SPDX-License-Identifier: MIT
#include "import/onnx_reader.h"

#include <algorithm>
#include <fstream>

#include "import/onnx_graph.h"
#include "model/repvgg.h"

namespace repvk::train {
namespace {

// protobuf refuses messages of 2 GiB and more; larger models keep their weights in
// external files, which this reader does not follow.
constexpr uint64_t kMaxFileBytes = (uint64_t(1) << 31) - 1;
constexpr size_t kMaxBlocks = 4096;

// One branch of a block: a conv with an optional BatchNormalization after it, or an
// identity (a BatchNormalization of the block input, or the input itself).
struct Branch {
  const onnx::NodeProto* conv = nullptr;
  const onnx::NodeProto* bn = nullptr;
  std::string input;
};

struct Block {
  const onnx::NodeProto* relu = nullptr;
  std::vector<Branch> branches;
};

class Reader {
 public:
  Reader(const onnx::ModelProto& m, const std::string& path, const std::string& arch)
      : w_(m, path), path_(path), arch_(arch) {}

  OnnxImport run();

 private:
  TrainError fail(const std::string& why) const { return w_.fail(why); }

  std::vector<int64_t> ints(const onnx::NodeProto& n, const std::string& name, std::vector<int64_t> def) const {
    const onnx::AttributeProto* a = attr(n, name);
    if (!a) return def;
    if (a->type() != onnx::AttributeProto::INTS) throw fail(describe(n) + ": attribute '" + name + "' is not a list of ints");
    return {a->ints().begin(), a->ints().end()};
  }
  int64_t int_attr(const onnx::NodeProto& n, const std::string& name, int64_t def) const {
    const onnx::AttributeProto* a = attr(n, name);
    if (!a) return def;
    if (a->type() != onnx::AttributeProto::INT) throw fail(describe(n) + ": attribute '" + name + "' is not an int");
    return a->i();
  }
  float float_attr(const onnx::NodeProto& n, const std::string& name, float def) const {
    const onnx::AttributeProto* a = attr(n, name);
    if (!a) return def;
    if (a->type() != onnx::AttributeProto::FLOAT) throw fail(describe(n) + ": attribute '" + name + "' is not a float");
    return a->f();
  }
  const onnx::NodeProto& producer_of(const std::string& v, const std::string& expected) const {
    const onnx::NodeProto* p = w_.producer(v);
    if (!p) {
      if (w_.is_graph_input(v))
        throw fail("the graph input '" + v + "' is used where " + expected + " was expected");
      throw fail("value '" + v + "' is neither a graph input nor produced by a node (expected " + expected + ")");
    }
    return *p;
  }
  [[noreturn]] void unsupported(const onnx::NodeProto& n, const std::string& expected) const {
    throw fail(describe(n) + " is not supported here: expected " + expected);
  }

  std::string logits_value();
  std::string head(const std::string& logits);
  std::string pool(const std::string& features);
  Block block(const onnx::NodeProto& relu);
  Branch branch(const std::string& term, const onnx::NodeProto& relu);
  void conv_checks(const onnx::NodeProto& conv, int64_t kernel);
  void load_branch(BranchNorm& bn, torch::nn::Conv2d* conv, const Branch* b, int64_t out_ch, int64_t in_ch);

  OnnxGraph w_;
  std::string path_, arch_;
  OnnxImport out_;
  torch::Tensor fc_w_, fc_b_;
  const onnx::NodeProto* fc_node_ = nullptr;
};

// Follows every graph output back through Identity and Softmax to one logits value.
std::string Reader::logits_value() {
  if (w_.g_.output_size() == 0) throw fail("the graph has no output");
  std::string logits;
  for (const auto& o : w_.g_.output()) {
    std::string v = o.name();
    for (int hops = 0; hops < 8; ++hops) {
      const onnx::NodeProto* p = w_.producer(v);
      if (!p || (p->op_type() != "Identity" && p->op_type() != "Softmax")) break;
      if (p->op_type() == "Softmax") {
        const int64_t axis = int_attr(*p, "axis", -1);
        if (axis != 1 && axis != -1) throw fail(describe(*p) + " has axis " + std::to_string(axis) + "; expected 1 (classes)");
        out_.softmax = true;
      }
      if (!w_.used(*p)) w_.use(*p);
      v = p->input(0);
    }
    if (logits.empty()) logits = v;
    if (v != logits)
      throw fail("the graph outputs '" + w_.g_.output(0).name() + "' and '" + o.name() +
                 "' come from different values ('" + logits + "', '" + v + "'); expected one classifier output");
  }
  return logits;
}

// The classifier: Gemm, or MatMul with an optional Add of the bias. Returns its input.
std::string Reader::head(const std::string& logits) {
  const onnx::NodeProto& p = producer_of(logits, "the classifier (Gemm, or MatMul + Add)");
  const std::string expected = "the classifier (Gemm, or MatMul + Add) before the outputs";
  if (p.op_type() == "Gemm") {
    w_.use(p);
    if (int_attr(p, "transA", 0) != 0) throw fail(describe(p) + " has transA = 1, which is not supported");
    if (float_attr(p, "alpha", 1.f) != 1.f || float_attr(p, "beta", 1.f) != 1.f)
      throw fail(describe(p) + " has alpha or beta other than 1, which is not supported");
    torch::Tensor b = w_.weight(p, 1, "weight");
    if (b.dim() != 2) throw fail("the weight '" + p.input(1) + "' of " + describe(p) + " has shape " + shape_str(b) + ", expected 2 dimensions");
    fc_w_ = int_attr(p, "transB", 0) ? b : b.t();
    fc_b_ = w_.has_input(p, 2) ? w_.weight(p, 2, "bias") : torch::zeros({fc_w_.size(0)});
    fc_node_ = &p;
    return p.input(0);
  }
  const onnx::NodeProto* mm = &p;
  if (p.op_type() == "Add") {
    w_.use(p);
    int bias_idx = -1;
    for (int i = 0; i < 2 && i < p.input_size(); ++i) {
      const onnx::NodeProto* q = w_.producer(p.input(i));
      if (q && q->op_type() == "MatMul") mm = q, bias_idx = 1 - i;
    }
    if (bias_idx < 0 || p.input_size() != 2) unsupported(p, expected);
    fc_b_ = w_.weight(p, bias_idx, "bias");
  } else if (p.op_type() != "MatMul") {
    unsupported(p, expected);
  }
  w_.use(*mm);
  torch::Tensor b = w_.weight(*mm, 1, "weight");
  if (b.dim() != 2) throw fail("the weight '" + mm->input(1) + "' of " + describe(*mm) + " has shape " + shape_str(b) + ", expected 2 dimensions");
  fc_w_ = b.t();
  if (!fc_b_.defined()) fc_b_ = torch::zeros({fc_w_.size(0)});
  fc_node_ = mm;
  return mm->input(0);
}

// Global average pooling, possibly followed by Flatten, Reshape or Squeeze. Returns
// the last block's output.
std::string Reader::pool(const std::string& features) {
  const std::string expected = "global average pooling (GlobalAveragePool, or ReduceMean over H and W) "
                               "with Flatten, Reshape or Squeeze before the classifier";
  const onnx::NodeProto* p = &producer_of(features, "global average pooling");
  bool flattened = false;
  if (p->op_type() == "Flatten" || p->op_type() == "Reshape" || p->op_type() == "Squeeze") {
    w_.use(*p);
    if (p->op_type() == "Flatten" && int_attr(*p, "axis", 1) != 1)
      throw fail(describe(*p) + " has axis " + std::to_string(int_attr(*p, "axis", 1)) + "; expected 1");
    if (p->op_type() == "Reshape") {
      torch::Tensor s = w_.weight(*p, 1, "shape", true);
      if (s.dim() != 1 || s.numel() != 2)
        throw fail("the shape '" + p->input(1) + "' of " + describe(*p) + " is not two int64 values [batch, channels]");
      const int64_t c = s[1].item<int64_t>();
      if (c != -1 && c != fc_w_.size(1))
        throw fail(describe(*p) + " reshapes to " + shape_str(s) + " but the classifier takes " +
                   std::to_string(fc_w_.size(1)) + " features");
    }
    if (p->op_type() == "Squeeze") {
      std::vector<int64_t> axes = ints(*p, "axes", {});
      if (w_.has_input(*p, 1)) {
        torch::Tensor a = w_.weight(*p, 1, "axes", true);
        axes.assign(a.data_ptr<int64_t>(), a.data_ptr<int64_t>() + a.numel());
      }
      std::set<int64_t> got(axes.begin(), axes.end());
      if (got != std::set<int64_t>{2, 3} && got != std::set<int64_t>{-2, -1})
        throw fail(describe(*p) + " squeezes axes " + dims_str(axes) + "; expected 2 and 3");
    }
    flattened = true;
    p = &producer_of(p->input(0), "global average pooling");
  }
  if (p->op_type() == "GlobalAveragePool") {
    if (!flattened) throw fail(describe(*p) + " feeds the classifier without a Flatten");
  } else if (p->op_type() == "ReduceMean") {
    std::vector<int64_t> axes = ints(*p, "axes", {});
    if (w_.has_input(*p, 1)) {  // opset 18: axes as an input
      torch::Tensor a = w_.weight(*p, 1, "axes", true);
      axes.assign(a.data_ptr<int64_t>(), a.data_ptr<int64_t>() + a.numel());
    }
    std::set<int64_t> got(axes.begin(), axes.end());
    if (got != std::set<int64_t>{2, 3} && got != std::set<int64_t>{-2, -1})
      throw fail(describe(*p) + " averages over axes " + dims_str(axes) + "; expected 2 and 3 (height and width)");
    const bool keep = int_attr(*p, "keepdims", 1) != 0;
    if (keep != flattened)
      throw fail(describe(*p) + (keep ? " keeps the H and W dimensions but nothing flattens them"
                                      : " drops H and W and is then flattened again"));
  } else {
    unsupported(*p, expected);
  }
  w_.use(*p);
  return p->input(0);
}

// One term of a block's sum.
Branch Reader::branch(const std::string& term, const onnx::NodeProto& relu) {
  Branch b;
  const onnx::NodeProto* p = w_.producer(term);
  if (!p || p->op_type() == "Relu") {  // the block input itself (identity without BN)
    b.input = term;
    return b;
  }
  const std::string expected = "a RepVGG branch (Conv, Conv + BatchNormalization, or BatchNormalization) "
                               "summed by Add before " + describe(relu);
  if (p->op_type() == "BatchNormalization") {
    w_.use(*p);
    b.bn = p;
    const onnx::NodeProto* q = w_.producer(p->input(0));
    if (q && q->op_type() == "Conv") {
      w_.use(*q);
      b.conv = q;
      b.input = q->input(0);
    } else {
      b.input = p->input(0);
    }
  } else if (p->op_type() == "Conv") {
    w_.use(*p);
    b.conv = p;
    b.input = p->input(0);
  } else {
    unsupported(*p, expected);
  }
  return b;
}

// A block: Relu over an Add tree of branches.
Block Reader::block(const onnx::NodeProto& relu) {
  w_.use(relu);
  Block blk;
  blk.relu = &relu;
  std::vector<std::string> pending{relu.input(0)}, terms;
  while (!pending.empty()) {
    const std::string v = pending.back();
    pending.pop_back();
    const onnx::NodeProto* p = w_.producer(v);
    if (p && p->op_type() == "Add" && p->input_size() == 2 && !w_.constant(p->input(0)) && !w_.constant(p->input(1))) {
      w_.use(*p);
      pending.push_back(p->input(1));
      pending.push_back(p->input(0));
    } else {
      terms.push_back(v);
    }
    if (terms.size() + pending.size() > 3)
      throw fail("the block ending at " + describe(relu) + " sums more than three branches; a RepVGG block has a 3x3 "
                 "conv, a 1x1 conv and an identity branch");
  }
  for (const auto& t : terms) blk.branches.push_back(branch(t, relu));
  return blk;
}

void Reader::conv_checks(const onnx::NodeProto& conv, int64_t k) {
  const int64_t group = int_attr(conv, "group", 1);
  if (group != 1)
    throw fail(describe(conv) + " is a grouped convolution (group = " + std::to_string(group) +
               ", RepVGG g2/g4), which is not supported");
  const onnx::AttributeProto* ap = attr(conv, "auto_pad");
  if (ap && ap->s() != "NOTSET") throw fail(describe(conv) + " has auto_pad " + ap->s() + "; expected explicit pads");
  if (ints(conv, "dilations", {1, 1}) != std::vector<int64_t>{1, 1})
    throw fail(describe(conv) + " has dilations " + dims_str(ints(conv, "dilations", {})) + "; expected 1, 1");
  const auto ks = ints(conv, "kernel_shape", {k, k});
  if (ks != std::vector<int64_t>{k, k})
    throw fail(describe(conv) + " has kernel_shape " + dims_str(ks) + " but its weight is " + std::to_string(k) + "x" +
               std::to_string(k));
  const int64_t p = k / 2;
  const auto pads = ints(conv, "pads", {0, 0, 0, 0});
  if (pads != std::vector<int64_t>{p, p, p, p})
    throw fail(describe(conv) + " has pads " + dims_str(pads) + "; a " + std::to_string(k) + "x" + std::to_string(k) +
               " RepVGG conv needs " + std::to_string(p) + " on every side");
}

// Loads one branch into a conv (3x3 or 1x1, or none for identity) and its norm so
// that RepBlock::merge computes exactly that branch. A conv without BN (folded by the
// exporter) becomes conv + an exact unit affine (γ 1, var 1, ε 0, β = its bias); an
// absent branch becomes a zero affine.
void Reader::load_branch(BranchNorm& bn, torch::nn::Conv2d* conv, const Branch* b, int64_t out_ch, int64_t in_ch) {
  torch::NoGradGuard ng;
  bn->running_var.fill_(1);
  bn->running_mean.zero_();
  bn->eps = 0;
  if (!b) {
    bn->weight.zero_();
    bn->bias.zero_();
    if (conv) (*conv)->weight.zero_();
    return;
  }
  bn->weight.fill_(1);
  bn->bias.zero_();
  const std::string why = std::to_string(in_ch) + " channels in, " + std::to_string(out_ch) + " out";
  torch::Tensor conv_bias;
  if (b->conv) {
    torch::Tensor k = w_.weight(*b->conv, 1, "weight");
    const int64_t ksz = (*conv)->weight.size(2);
    if (k.sizes().vec() != (*conv)->weight.sizes().vec())
      throw fail("the weight '" + b->conv->input(1) + "' of " + describe(*b->conv) + " has shape " + shape_str(k) +
                 ", expected " + shape_str((*conv)->weight) + " (" + why + ", " + std::to_string(ksz) + "x" +
                 std::to_string(ksz) + ")");
    (*conv)->weight.copy_(k);
    if (w_.has_input(*b->conv, 2)) {
      conv_bias = w_.weight(*b->conv, 2, "bias");
      if (conv_bias.sizes().vec() != std::vector<int64_t>{out_ch})
        throw fail("the bias '" + b->conv->input(2) + "' of " + describe(*b->conv) + " has shape " +
                   shape_str(conv_bias) + ", expected [" + std::to_string(out_ch) + "]");
    }
  }
  if (b->bn) {
    const onnx::NodeProto& n = *b->bn;
    if (int_attr(n, "training_mode", 0) != 0) throw fail(describe(n) + " is in training mode; export in eval mode");
    for (int i = 1; i < n.output_size(); ++i)
      if (!n.output(i).empty()) throw fail(describe(n) + " outputs running statistics (training mode); export in eval mode");
    const char* roles[] = {"scale", "bias", "mean", "variance"};
    torch::Tensor* dst[] = {&bn->weight, &bn->bias, &bn->running_mean, &bn->running_var};
    for (int i = 0; i < 4; ++i) {
      torch::Tensor t = w_.weight(n, i + 1, roles[i]);
      if (t.sizes().vec() != std::vector<int64_t>{out_ch})
        throw fail("the " + std::string(roles[i]) + " '" + n.input(i + 1) + "' of " + describe(n) + " has shape " +
                   shape_str(t) + ", expected [" + std::to_string(out_ch) + "] (" + why + ")");
      dst[i]->copy_(t);
    }
    bn->eps = double(float_attr(n, "epsilon", 1e-5f));
    if (!(bn->running_var.min().item<double>() + bn->eps > 0))
      throw fail("the variance '" + n.input(4) + "' of " + describe(n) + " has values <= -epsilon");
    if (conv_bias.defined()) bn->running_mean.sub_(conv_bias);  // BN(y + c) normalizes y by mean - c
  } else if (conv_bias.defined()) {
    bn->bias.copy_(conv_bias);
  }
}

OnnxImport Reader::run() {
  const std::string logits = logits_value();
  std::string x = pool(head(logits));
  std::vector<Block> blocks;
  while (!w_.is_graph_input(x)) {
    const onnx::NodeProto& p = producer_of(x, "the Relu that ends a RepVGG block");
    if (p.op_type() != "Relu") unsupported(p, "the Relu that ends a RepVGG block (Conv/BatchNormalization branches, Add, Relu)");
    if (blocks.size() >= kMaxBlocks) throw fail("more than " + std::to_string(kMaxBlocks) + " blocks");
    blocks.push_back(block(p));
    // The block input is what its 3x3 conv reads; checked below for every branch.
    const Branch* dense = nullptr;
    for (const Branch& b : blocks.back().branches)
      if (b.conv && !dense) {
        const torch::Tensor k = w_.weight(*b.conv, 1, "weight");
        if (k.dim() == 4 && k.size(2) == 3 && k.size(3) == 3) dense = &b;
      }
    if (!dense) {
      for (const Branch& b : blocks.back().branches)
        if (b.conv) {
          const torch::Tensor k = w_.weight(*b.conv, 1, "weight");
          if (k.dim() == 4 && k.size(2) == k.size(3) && k.size(2) != 1)
            throw fail(describe(*b.conv) + " has a " + std::to_string(k.size(2)) + "x" + std::to_string(k.size(3)) +
                       " kernel (weight '" + b.conv->input(1) + "' has shape " + shape_str(k) +
                       "); RepVGG blocks use 3x3 and 1x1 convolutions");
          if (k.dim() != 4)
            throw fail("the weight '" + b.conv->input(1) + "' of " + describe(*b.conv) + " has shape " + shape_str(k) +
                       ", expected [out, in, kh, kw]");
        }
      throw fail("the block ending at " + describe(p) + " has no 3x3 Conv branch: not a RepVGG block");
    }
    x = dense->input;
  }
  std::reverse(blocks.begin(), blocks.end());
  if (blocks.empty()) throw fail("no conv blocks between the graph input and the pooling");
  out_.input_name = x;

  ImportedRepvgg& net = out_.net;
  int64_t channels = -1;
  bool training_form = false;
  for (size_t bi = 0; bi < blocks.size(); ++bi) {
    const Block& blk = blocks[bi];
    const std::string where = "the block ending at " + describe(*blk.relu);
    const Branch *dense = nullptr, *pointwise = nullptr, *identity = nullptr;
    for (const Branch& b : blk.branches) {
      if (b.conv) {
        const torch::Tensor k = w_.weight(*b.conv, 1, "weight");
        if (k.dim() != 4 || k.size(2) != k.size(3) || (k.size(2) != 3 && k.size(2) != 1))
          throw fail(describe(*b.conv) + " in " + where + " has weight '" + b.conv->input(1) + "' of shape " +
                     shape_str(k) + "; RepVGG blocks use 3x3 and 1x1 convolutions");
        const Branch*& slot = k.size(2) == 3 ? dense : pointwise;
        if (slot)
          throw fail(where + " has two " + std::to_string(k.size(2)) + "x" + std::to_string(k.size(2)) + " Conv branches (" +
                     describe(*slot->conv) + " and " + describe(*b.conv) + "): not the RepVGG three-branch pattern");
        slot = &b;
        conv_checks(*b.conv, k.size(2));
      } else {
        if (identity)
          throw fail(where + " has two identity branches: not the RepVGG three-branch pattern");
        identity = &b;
      }
    }
    for (const Branch& b : blk.branches)
      if (b.input != dense->input)
        throw fail(where + ": a branch reads '" + b.input + "' but its 3x3 Conv " + describe(*dense->conv) +
                   " reads '" + dense->input + "': not the RepVGG three-branch pattern (all branches read the block input)");
    const torch::Tensor k3 = w_.weight(*dense->conv, 1, "weight");
    if (channels < 0) {
      channels = k3.size(1);
      net.in_channels = channels;
      if (channels < 1 || channels > 4)
        throw fail("the weight '" + dense->conv->input(1) + "' of " + describe(*dense->conv) + " has shape " +
                   shape_str(k3) + ": " + std::to_string(channels) + " input channels; the engine takes 1 to 4");
    }
    if (k3.size(1) != channels)
      throw fail("the weight '" + dense->conv->input(1) + "' of " + describe(*dense->conv) + " has shape " +
                 shape_str(k3) + " but its input has " + std::to_string(channels) + " channels");
    const int64_t out_ch = k3.size(0);
    const auto st = ints(*dense->conv, "strides", {1, 1});
    if (st.size() != 2 || st[0] != st[1] || (st[0] != 1 && st[0] != 2))
      throw fail(describe(*dense->conv) + " has strides " + dims_str(st) + "; the engine runs stride 1 or 2");
    const int64_t stride = st[0];
    if (pointwise && ints(*pointwise->conv, "strides", {1, 1}) != st)
      throw fail(describe(*pointwise->conv) + " has strides " + dims_str(ints(*pointwise->conv, "strides", {1, 1})) +
                 " but the 3x3 branch " + describe(*dense->conv) + " has " + dims_str(st));
    if (identity && (stride != 1 || out_ch != channels))
      throw fail(where + " adds its input to the convs' output, but the 3x3 Conv " + describe(*dense->conv) +
                 " has stride " + std::to_string(stride) + " and " + std::to_string(channels) + " channels in, " +
                 std::to_string(out_ch) + " out: the shapes do not match");
    if (dense->bn || pointwise || identity) training_form = true;

    RepBlock rb(channels, out_ch, stride, NormKind::Bn, OabnParams{});
    load_branch(rb->bn3, &rb->conv3, dense, out_ch, channels);
    load_branch(rb->bn1, &rb->conv1, pointwise, out_ch, channels);
    if (rb->bnid) load_branch(rb->bnid, nullptr, identity, out_ch, channels);
    rb->eval();
    auto [wm, bm] = rb->merge();
    net.net->add_conv(wm, bm, stride);

    // A new stage starts where the stride or the width changes (RepVGG's stages).
    if (bi == 0 || stride != 1 || out_ch != channels) {
      net.depths.push_back(0);
      net.strides.push_back(stride);
      net.widths.push_back(out_ch);
    }
    ++net.depths.back();
    channels = out_ch;
  }
  net.form = training_form ? "training" : "deploy";

  if (fc_w_.dim() != 2 || fc_w_.size(1) != channels)
    throw fail("the weight '" + fc_node_->input(1) + "' of " + describe(*fc_node_) + " gives a classifier of shape " +
               shape_str(fc_w_) + " ([classes, features]), but the last block has " + std::to_string(channels) +
               " channels");
  net.classes = fc_w_.size(0);
  if (fc_b_.numel() != net.classes)
    throw fail("the classifier bias of " + describe(*fc_node_) + " has shape " + shape_str(fc_b_) + ", expected [" +
               std::to_string(net.classes) + "]");
  net.net->set_fc(fc_w_.contiguous(), fc_b_.reshape({net.classes}));
  // Every node must have been read (constants included, so only after the weights):
  // a side branch, an extra output or a skip connection is not silently dropped.
  for (const auto& n : w_.g_.node())
    if (!w_.used(n) && n.op_type() != "Constant")
      throw fail(describe(n) + " is not part of a RepVGG classifier (Conv/BatchNormalization/Add/Relu blocks, "
                 "pooling, Gemm or MatMul + Add, optional Softmax)");

  // The input shape, where the file states it: [N, C, H, W] with C matching.
  for (const auto& in : w_.g_.input()) {
    if (in.name() != out_.input_name || !in.type().has_tensor_type() || !in.type().tensor_type().has_shape()) continue;
    const auto& shape = in.type().tensor_type().shape();
    if (shape.dim_size() != 4)
      throw fail("the graph input '" + in.name() + "' has " + std::to_string(shape.dim_size()) +
                 " dimensions; expected [batch, channels, height, width]");
    if (shape.dim(1).has_dim_value() && shape.dim(1).dim_value() != net.in_channels)
      throw fail("the graph input '" + in.name() + "' has " + std::to_string(shape.dim(1).dim_value()) +
                 " channels but the first conv takes " + std::to_string(net.in_channels));
    if (shape.dim(2).has_dim_value() && shape.dim(3).has_dim_value()) {
      net.input_height = shape.dim(2).dim_value();
      net.input_width = shape.dim(3).dim_value();
    }
  }
  match_repvgg_arch(net, arch_, true, path_);
  out_.nodes = size_t(w_.g_.node_size());
  return std::move(out_);
}

}  // namespace

bool onnx_import_available() { return true; }

OnnxImport import_onnx(const std::string& path, const std::string& arch) {
  if (!arch.empty()) (void)repvgg_arch(arch);
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw TrainError(path + ": cannot open (no such file, or not readable)");
  const std::streamoff size = f.tellg();
  if (size < 0 || uint64_t(size) > kMaxFileBytes)
    throw TrainError(path + ": " + std::to_string(size) + " bytes; ONNX files of 2 GiB and more keep their weights "
                     "in external files, which this reader does not follow");
  std::string bytes(size_t(size), '\0');
  f.seekg(0);
  if (!f.read(bytes.data(), size)) throw TrainError(path + ": read error");
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes))
    throw TrainError(path + ": protobuf parsing failed: the file is truncated, damaged or not an ONNX model");
  if (model.ir_version() <= 0 || !model.has_graph() || model.graph().node_size() == 0)
    throw TrainError(path + ": no ir_version or no graph nodes: not an ONNX model");
  int64_t opset = 0;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  if (opset < 7) throw TrainError(path + ": default-domain opset " + std::to_string(opset) + "; expected 7 or later");
  Reader reader(model, path, arch);
  OnnxImport out = reader.run();
  out.opset = opset;
  out.producer = model.producer_name() + (model.producer_version().empty() ? "" : " " + model.producer_version());
  for (const auto& n : model.graph().node()) out.batchnorm_nodes += n.op_type() == "BatchNormalization";
  return out;
}

}  // namespace repvk::train
