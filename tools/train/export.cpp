// SPDX-License-Identifier: MIT
#include "export.h"

#include <algorithm>

namespace repvk::train {
namespace {

std::vector<float> to_vector(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

void encode_codebook(repvk::Layer& layer, const std::vector<float>& dense, size_t index,
                     const LayerEncoding& e) {
  const uint64_t rows = layer.out_channels, row_len = layer.row_length();
  const bool per_channel = e.granularity == Granularity::Channel;
  const uint64_t groups = per_channel ? rows : 1, group_len = per_channel ? row_len : rows * row_len;
  const size_t max_entries = size_t(1) << e.bits;
  std::vector<std::vector<float>> books(groups);
  size_t size = 1;
  for (uint64_t g = 0; g < groups; ++g) {
    auto& b = books[g];
    b.assign(dense.begin() + long(g * group_len), dense.begin() + long((g + 1) * group_len));
    std::sort(b.begin(), b.end());
    b.erase(std::unique(b.begin(), b.end()), b.end());
    if (b.size() > max_entries)
      throw TrainError("layer " + std::to_string(index) + " has " + std::to_string(b.size()) +
                       " distinct weight values in one codebook group, more than 2^" +
                       std::to_string(e.bits) + "; quantize it before exporting");
    size = std::max(size, b.size());
  }
  repvk::Weights& w = layer.weights;
  w.encoding = repvk::WeightEncoding::Codebook;
  w.bits = uint32_t(e.bits);
  w.granularity = per_channel ? repvk::CodebookGranularity::PerOutputChannel
                              : repvk::CodebookGranularity::PerLayer;
  w.codebook_storage = repvk::ValueStorage::Fp32;
  w.codebook_size = uint32_t(size);
  std::vector<uint32_t> idx(dense.size());
  for (uint64_t g = 0; g < groups; ++g) {
    auto& b = books[g];
    for (uint64_t i = g * group_len; i < (g + 1) * group_len; ++i)
      idx[i] = uint32_t(std::lower_bound(b.begin(), b.end(), dense[i]) - b.begin());
    b.resize(size, b.back());  // unused padding: never indexed
    w.codebooks.insert(w.codebooks.end(), b.begin(), b.end());
  }
  w.packed = repvk::pack_indices(idx, rows, row_len, uint32_t(e.bits));
}

}  // namespace

repvk::Model build_model(DeployNetImpl& net, const ExportSpec& spec,
                         const std::vector<LayerEncoding>& enc) {
  if (enc.size() != net.num_layers()) throw std::logic_error("build_model: one encoding per layer");
  const auto weights = effective_weights(net);
  repvk::Model m;
  m.name = spec.name;
  m.input.channels = uint32_t(spec.channels);
  m.input.height = uint32_t(spec.height);
  m.input.width = uint32_t(spec.width);
  m.input.mean = spec.norm.mean;
  m.input.std = spec.norm.std;
  m.class_names = spec.class_names;
  for (size_t l = 0; l < weights.size(); ++l) {
    if (net.is_fc(l)) {
      repvk::Layer pool;
      pool.type = repvk::LayerType::GlobalAvgPool;
      m.layers.push_back(pool);
    }
    repvk::Layer layer;
    layer.type = net.is_fc(l) ? repvk::LayerType::FullyConnected : repvk::LayerType::Conv3x3;
    layer.out_channels = uint32_t(weights[l].size(0));
    layer.in_channels = uint32_t(weights[l].size(1));
    layer.stride = net.is_fc(l) ? 1 : uint32_t(net.strides[l]);
    layer.relu = !net.is_fc(l);
    layer.bias = to_vector(net.biases[l]);
    const std::vector<float> dense = to_vector(weights[l]);  // [out][in][3][3] matches k = in*9+ky*3+kx
    if (enc[l].bits == 0) {
      layer.weights.encoding = repvk::WeightEncoding::Fp32;
      layer.weights.dense = dense;
    } else {
      encode_codebook(layer, dense, l, enc[l]);
    }
    m.layers.push_back(std::move(layer));
  }
  repvk::Layer softmax;
  softmax.type = repvk::LayerType::Softmax;
  m.layers.push_back(softmax);
  return m;
}

void export_model(DeployNetImpl& net, const ExportSpec& spec, const std::vector<LayerEncoding>& enc,
                  const std::string& path) {
  const repvk::Model m = build_model(net, spec, enc);
  try {
    repvk::write_model(m, path);
  } catch (const repvk::ModelError& e) {
    throw TrainError(std::string("export failed: ") + e.what());
  }
}

DeployNet deploy_from_model(const repvk::Model& model, const std::string& source) {
  using repvk::LayerType;
  DeployNet net;
  bool pooled = false, fc = false;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const repvk::Layer& l = model.layers[i];
    auto fail = [&](const std::string& why) {
      return TrainError(source + ": layer " + std::to_string(i) + " (" +
                        repvk::layer_type_name(l.type) + "): " + why);
    };
    const int64_t o = l.out_channels, in = l.in_channels;
    if (l.type == LayerType::Conv3x3) {
      if (pooled) throw fail("a conv after the pooling");
      if (!l.relu) throw fail("a conv without ReLU");
      const std::vector<float> w = repvk::decode_weights(l);
      net->add_conv(torch::tensor(w).view({o, in, 3, 3}), torch::tensor(l.bias),
                    int64_t(l.stride));
    } else if (l.type == LayerType::GlobalAvgPool) {
      if (pooled) throw fail("a second pooling layer");
      pooled = true;
    } else if (l.type == LayerType::FullyConnected) {
      if (!pooled || fc) throw fail("the fc must follow the pooling and come once");
      if (l.relu) throw fail("an fc with ReLU");
      net->set_fc(torch::tensor(repvk::decode_weights(l)).view({o, in}), torch::tensor(l.bias));
      fc = true;
    } else if (l.type == LayerType::Softmax) {
      if (i + 1 != model.layers.size()) throw fail("softmax before the last layer");
    }
  }
  if (!fc) throw TrainError(source + ": no fully connected layer");
  return net;
}

}  // namespace repvk::train
