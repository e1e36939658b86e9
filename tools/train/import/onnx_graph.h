// SPDX-License-Identifier: MIT
// An index over one ONNX graph for the RepVGG reader (onnx_reader.cpp): which node
// produces each value, the constants (initializers, Constant nodes, either behind
// Identity nodes) decoded to tensors with every size checked against the shape, and
// which nodes the reader has claimed, so that nothing in the graph goes unread.
#pragma once

#include <onnx/onnx_pb.h>

#include <deque>
#include <map>
#include <set>

#include "common.h"

namespace repvk::train {

std::string dims_str(const std::vector<int64_t>& v);
std::string shape_str(const torch::Tensor& t);
// "node 'NAME' (OP)", or for an unnamed node "the OP node producing 'OUTPUT'".
std::string describe(const onnx::NodeProto& n);
const onnx::AttributeProto* attr(const onnx::NodeProto& n, const std::string& name);

class OnnxGraph {
 public:
  // Throws TrainError (prefixed with `path`) if a value has two producers.
  OnnxGraph(const onnx::ModelProto& m, const std::string& path);

  TrainError fail(const std::string& why) const { return TrainError(path_ + ": " + why); }

  const onnx::NodeProto* producer(const std::string& v) const {
    auto it = producer_.find(v);
    return it == producer_.end() ? nullptr : it->second;
  }
  bool is_graph_input(const std::string& v) const { return inputs_.count(v) && !producer(v); }

  // Claims a node for the pattern; a node reached twice means the graph is not a chain.
  void use(const onnx::NodeProto& n);
  bool used(const onnx::NodeProto& n) const { return used_.count(&n) > 0; }

  // The constant behind `name`, or null: an initializer, a Constant node, or either
  // behind Identity nodes (claimed as they are read).
  const onnx::TensorProto* constant(const std::string& name, int depth = 0);
  // Input `idx` of `n`, which must be a constant: float32, or int64 when `integer`
  // (shapes, axes); `role` names it in errors.
  torch::Tensor weight(const onnx::NodeProto& n, int idx, const std::string& role, bool integer = false);
  bool has_input(const onnx::NodeProto& n, int idx) const { return idx < n.input_size() && !n.input(idx).empty(); }
  // float32 (from float, float16 or double) or int64; sizes checked before copying.
  torch::Tensor decode(const onnx::TensorProto& t, const std::string& name) const;

  const onnx::GraphProto& g_;
  std::set<std::string> inputs_;

 private:
  std::string path_;
  std::map<std::string, const onnx::TensorProto*> init_;
  std::map<std::string, const onnx::NodeProto*> producer_;
  std::set<const onnx::NodeProto*> used_;
  std::deque<onnx::TensorProto> owned_;  // Constant nodes' value_* attributes as tensors
};

}  // namespace repvk::train
