// SPDX-License-Identifier: MIT
#include "import/onnx_graph.h"

#include <cstring>

namespace repvk::train {
namespace {
constexpr int64_t kMaxElements = int64_t(1) << 30;
}  // namespace

std::string dims_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}
std::string shape_str(const torch::Tensor& t) { return dims_str(t.sizes().vec()); }

std::string describe(const onnx::NodeProto& n) {
  const std::string op = n.domain().empty() || n.domain() == "ai.onnx" ? n.op_type() : n.domain() + "::" + n.op_type();
  if (!n.name().empty()) return "node '" + n.name() + "' (" + op + ")";
  return "the " + op + " node producing '" + (n.output_size() ? n.output(0) : std::string("nothing")) + "'";
}

const onnx::AttributeProto* attr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

OnnxGraph::OnnxGraph(const onnx::ModelProto& m, const std::string& path) : g_(m.graph()), path_(path) {
  for (const auto& t : g_.initializer()) init_[t.name()] = &t;
  for (const auto& n : g_.node()) {
    for (const auto& o : n.output())
      if (!o.empty() && !producer_.emplace(o, &n).second)
        throw fail("value '" + o + "' is produced by two nodes (" + describe(*producer_[o]) + " and " +
                   describe(n) + ")");
  }
  for (const auto& i : g_.input())
    if (!init_.count(i.name())) inputs_.insert(i.name());
}

void OnnxGraph::use(const onnx::NodeProto& n) {
  if (!n.domain().empty() && n.domain() != "ai.onnx")
    throw fail(describe(n) + " is from the operator set '" + n.domain() + "', which is not supported");
  if (!used_.insert(&n).second)
    throw fail(describe(n) + " is reached twice: its output feeds more than one block, so the graph is not a "
               "chain of RepVGG blocks");
}

const onnx::TensorProto* OnnxGraph::constant(const std::string& name, int depth) {
  auto it = init_.find(name);
  if (it != init_.end()) return it->second;
  const onnx::NodeProto* p = producer(name);
  if (!p || depth > 16) return nullptr;
  if (p->op_type() == "Identity" && p->input_size() == 1) {
    const onnx::TensorProto* t = constant(p->input(0), depth + 1);
    if (t && !used(*p)) use(*p);
    return t;
  }
  if (p->op_type() != "Constant") return nullptr;
  if (!used(*p)) use(*p);
  for (const auto& a : p->attribute()) {
    if (a.name() == "value" && a.type() == onnx::AttributeProto::TENSOR) return &a.t();
    if (a.name() == "value_float" || a.name() == "value_floats" || a.name() == "value_int" ||
        a.name() == "value_ints") {
      onnx::TensorProto& t = owned_.emplace_back();
      if (a.name() == "value_float") {
        t.set_data_type(onnx::TensorProto::FLOAT);
        t.add_float_data(a.f());
      }
      if (a.name() == "value_floats") {
        t.set_data_type(onnx::TensorProto::FLOAT);
        t.add_dims(a.floats_size());
        for (float v : a.floats()) t.add_float_data(v);
      }
      if (a.name() == "value_int") {
        t.set_data_type(onnx::TensorProto::INT64);
        t.add_int64_data(a.i());
      }
      if (a.name() == "value_ints") {
        t.set_data_type(onnx::TensorProto::INT64);
        t.add_dims(a.ints_size());
        for (int64_t v : a.ints()) t.add_int64_data(v);
      }
      return &t;
    }
  }
  throw fail(describe(*p) + " has no 'value' attribute this reader understands");
}

torch::Tensor OnnxGraph::weight(const onnx::NodeProto& n, int idx, const std::string& role, bool integer) {
  if (idx >= n.input_size() || n.input(idx).empty()) throw fail(describe(n) + " has no " + role + " input");
  const std::string& name = n.input(idx);
  const onnx::TensorProto* t = constant(name);
  if (!t) {
    if (const onnx::NodeProto* p = producer(name))
      throw fail("the " + role + " '" + name + "' of " + describe(n) + " is computed by " + describe(*p) +
                 "; expected an initializer or a Constant node");
    throw fail("missing initializer '" + name + "' (the " + role + " of " + describe(n) + ")");
  }
  torch::Tensor v = decode(*t, name);
  if (integer != (v.scalar_type() == torch::kInt64))
    throw fail("the " + role + " '" + name + "' of " + describe(n) + " holds " + (integer ? "floats" : "integers") +
               "; expected " + (integer ? "int64" : "floating-point") + " values");
  return v;
}

torch::Tensor OnnxGraph::decode(const onnx::TensorProto& t, const std::string& name) const {
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    throw fail("tensor '" + name + "' keeps its data in an external file, which is not supported "
               "(save the model with all tensors inside it)");
  std::vector<int64_t> dims;
  int64_t count = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || (d > 0 && count > kMaxElements / d))
      throw fail("tensor '" + name + "' has an impossible shape (dimension " + std::to_string(d) + ")");
    dims.push_back(d);
    count *= d;
  }
  const std::string& raw = t.raw_data();
  auto check = [&](size_t have, const char* field) {
    if (have != size_t(count))
      throw fail("tensor '" + name + "' has shape " + dims_str(dims) + " (" + std::to_string(count) +
                 " values) but its " + field + " holds " + std::to_string(have) + " values");
  };
  auto from_raw = [&](torch::ScalarType type, size_t elem) {
    if (raw.size() != size_t(count) * elem)
      throw fail("tensor '" + name + "' has shape " + dims_str(dims) + " (" + std::to_string(count) + " values of " +
                 std::to_string(elem) + " bytes) but its raw_data has " + std::to_string(raw.size()) + " bytes");
    torch::Tensor out = torch::empty(dims, torch::TensorOptions().dtype(type));
    if (count) std::memcpy(out.data_ptr(), raw.data(), raw.size());
    return out;
  };
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      if (t.has_raw_data()) return from_raw(torch::kFloat32, 4);
      check(size_t(t.float_data_size()), "float_data");
      return torch::tensor(std::vector<float>(t.float_data().begin(), t.float_data().end())).reshape(dims);
    case onnx::TensorProto::DOUBLE:
      if (t.has_raw_data()) return from_raw(torch::kFloat64, 8).to(torch::kFloat32);
      check(size_t(t.double_data_size()), "double_data");
      return torch::tensor(std::vector<double>(t.double_data().begin(), t.double_data().end()))
          .reshape(dims)
          .to(torch::kFloat32);
    case onnx::TensorProto::FLOAT16:
      if (t.has_raw_data()) return from_raw(torch::kFloat16, 2).to(torch::kFloat32);
      {  // int32_data holds one fp16 bit pattern per element
        check(size_t(t.int32_data_size()), "int32_data");
        std::vector<uint16_t> bits;
        for (int32_t v : t.int32_data()) bits.push_back(uint16_t(v));
        torch::Tensor out = torch::empty(dims, torch::TensorOptions().dtype(torch::kFloat16));
        if (count) std::memcpy(out.data_ptr(), bits.data(), bits.size() * 2);
        return out.to(torch::kFloat32);
      }
    case onnx::TensorProto::INT64:
      if (t.has_raw_data()) return from_raw(torch::kInt64, 8);
      check(size_t(t.int64_data_size()), "int64_data");
      return torch::tensor(std::vector<int64_t>(t.int64_data().begin(), t.int64_data().end())).reshape(dims);
    default:
      throw fail("tensor '" + name + "' has ONNX data type " + std::to_string(t.data_type()) +
                 " (expected float, float16, double or, for shapes, int64)");
  }
}

}  // namespace repvk::train
