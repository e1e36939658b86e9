// SPDX-License-Identifier: MIT
#include "onnx/onnx_export.h"

#include <onnx/onnx_pb.h>

#include "common.h"
#include "session.h"

namespace repvk::train {
namespace {

void add_initializer(onnx::GraphProto& g, const std::string& name, const std::vector<int64_t>& dims,
                     const std::vector<float>& values) {
  onnx::TensorProto* t = g.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  t->mutable_raw_data()->assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

onnx::NodeProto* add_node(onnx::GraphProto& g, const std::string& op, const std::string& name,
                          std::vector<std::string> inputs, const std::string& output) {
  onnx::NodeProto* n = g.add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (auto& i : inputs) n->add_input(i);
  n->add_output(output);
  return n;
}

void add_ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void add_int(onnx::NodeProto* n, const std::string& name, int64_t v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void add_value_info(onnx::ValueInfoProto* v, const std::string& name, const std::vector<int64_t>& dims) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = tt->mutable_shape();
  shape->add_dim()->set_dim_param("batch");
  for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
}

}  // namespace

void export_onnx(const repvk::Model& m, const std::string& source, const std::string& path) {
  try {
    repvk::validate_model(m, source);
  } catch (const repvk::ModelError& e) {
    throw TrainError(e.what());
  }
  onnx::ModelProto model;
  model.set_ir_version(7);
  model.set_producer_name("repvk-train");
  model.set_doc_string("exported from " + source + " (" + m.name + ")");
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(13);
  onnx::GraphProto& g = *model.mutable_graph();
  g.set_name(m.name.empty() ? "repvk" : m.name);
  const int64_t c = m.input.channels;
  add_value_info(g.add_input(), "pixels", {c, int64_t(m.input.height), int64_t(m.input.width)});
  add_initializer(g, "mean", {1, c, 1, 1}, m.input.mean);
  add_initializer(g, "std", {1, c, 1, 1}, m.input.std);
  add_node(g, "Sub", "normalize_mean", {"pixels", "mean"}, "centered");
  add_node(g, "Div", "normalize_std", {"centered", "std"}, "x0");
  std::string x = "x0", logits;
  int64_t last_width = 0;
  bool has_softmax = false;
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const repvk::Layer& l = m.layers[i];
    const std::string id = "layer" + std::to_string(i);
    switch (l.type) {
      case repvk::LayerType::Conv3x3:
      case repvk::LayerType::FullyConnected: {
        const bool conv = l.type == repvk::LayerType::Conv3x3;
        const int64_t o = l.out_channels, in = l.in_channels;
        add_initializer(g, id + ".weight", conv ? std::vector<int64_t>{o, in, 3, 3} : std::vector<int64_t>{o, in},
                        repvk::decode_weights(l));
        add_initializer(g, id + ".bias", {o}, l.bias);
        const std::string y = id + (l.relu ? ".pre_relu" : ".out");
        onnx::NodeProto* n = add_node(g, conv ? "Conv" : "Gemm", id + (conv ? ".conv" : ".gemm"),
                                      {x, id + ".weight", id + ".bias"}, y);
        if (conv) {
          add_ints(n, "kernel_shape", {3, 3});
          add_ints(n, "pads", {1, 1, 1, 1});
          add_ints(n, "strides", {int64_t(l.stride), int64_t(l.stride)});
        } else {
          add_int(n, "transB", 1);
        }
        x = y;
        if (l.relu) {
          x = id + ".out";
          add_node(g, "Relu", id + ".relu", {y}, x);
        }
        logits = x;
        last_width = o;
        break;
      }
      case repvk::LayerType::GlobalAvgPool:
        add_node(g, "GlobalAveragePool", id + ".pool", {x}, id + ".pooled");
        add_int(add_node(g, "Flatten", id + ".flatten", {id + ".pooled"}, id + ".out"), "axis", 1);
        x = id + ".out";
        break;
      case repvk::LayerType::Softmax:
        add_int(add_node(g, "Softmax", id + ".softmax", {x}, "probabilities"), "axis", 1);
        has_softmax = true;
        break;
      default:
        throw TrainError(source + ": layer " + std::to_string(i) + " (" + repvk::layer_type_name(l.type) +
                         "): no ONNX mapping for this layer type");
    }
  }
  // The logits are a graph output under their own name.
  add_node(g, "Identity", "logits", {logits}, "logits");
  add_value_info(g.add_output(), "logits", {last_width});
  if (has_softmax) add_value_info(g.add_output(), "probabilities", {last_width});
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw TrainError(path + ": ONNX serialization failed");
  write_text_atomic(path, bytes);
}

}  // namespace repvk::train
