// SPDX-License-Identifier: MIT
#include "quant/sensitivity.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "data/augment.h"
#include "trainer.h"

namespace repvk::train {
namespace {

// Diagonal empirical Fisher per layer: B * mean over mini-batches of the squared
// mini-batch gradient (each mini-batch gradient's variance is F / B).
std::vector<torch::Tensor> fisher_diagonal(DeployNetImpl& net, const Dataset& d, const Normalization& norm,
                                           torch::Device dev) {
  const int64_t batch = 50;
  std::vector<torch::Tensor> f;
  for (const auto& w : net.weights) f.push_back(torch::zeros_like(w));
  int64_t batches = 0;
  net.eval();
  for (int64_t b = 0; b + batch <= d.size(); b += batch, ++batches) {
    torch::Tensor idx = torch::arange(b, b + batch, torch::kInt64);
    torch::Tensor x = make_batch(d, idx, norm, Augmentation{}, 0).to(dev);
    net.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(net.forward(x), d.labels.narrow(0, b, batch).to(dev));
    loss.backward();
    torch::NoGradGuard ng;
    for (size_t l = 0; l < f.size(); ++l) f[l] += net.weights[l].grad().square();
  }
  net.zero_grad();
  for (auto& t : f) t = t * (double(batch) / double(std::max<int64_t>(1, batches)));
  return f;
}

std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    for (size_t k = i; k <= j; ++k) r[order[k]] = 0.5 * double(i + j);
    i = j + 1;
  }
  return r;
}

std::array<double, 8> row_from_json(const nlohmann::json& j, const std::string& what, const std::string& source) {
  if (!j.is_array() || j.size() != 8)
    throw TrainError(source + ": " + what + " must hold 8 numbers (bits 1..8)");
  std::array<double, 8> r{};
  for (size_t b = 0; b < 8; ++b) {
    if (!j[b].is_number()) throw TrainError(source + ": " + what + "[" + std::to_string(b) + "] is not a number");
    r[b] = j[b].get<double>();
  }
  return r;
}

}  // namespace

double spearman_correlation(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.size() < 2) return 0.0;
  const std::vector<double> ra = ranks(a), rb = ranks(b);
  const double n = double(a.size()), mean = (n - 1) / 2;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) * (ra[i] - mean);
    sbb += (rb[i] - mean) * (rb[i] - mean);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

nlohmann::json sensitivity_to_json(const SensitivityTable& t) {
  nlohmann::json layers = nlohmann::json::array();
  for (size_t l = 0; l < t.layers.size(); ++l)
    layers.push_back({{"name", t.layers[l]},
                      {"loss_increase", t.loss_increase[l]},
                      {"accuracy", t.accuracy[l]},
                      {"fisher_proxy", t.fisher_proxy[l]}});
  return {{"key", t.key},          {"images", t.images},   {"base_loss", t.base_loss},
          {"base_accuracy", t.base_accuracy}, {"seconds", t.seconds}, {"layers", layers}};
}

SensitivityTable sensitivity_from_json(const nlohmann::json& j, const std::string& source) {
  SensitivityTable t;
  try {
    t.key = j.at("key");
    t.images = j.at("images").get<int64_t>();
    t.base_loss = j.at("base_loss").get<double>();
    t.base_accuracy = j.at("base_accuracy").get<double>();
    t.seconds = j.value("seconds", 0.0);
    for (const auto& l : j.at("layers")) {
      const std::string name = l.at("name").get<std::string>();
      t.layers.push_back(name);
      t.loss_increase.push_back(row_from_json(l.at("loss_increase"), name + ".loss_increase", source));
      t.accuracy.push_back(row_from_json(l.at("accuracy"), name + ".accuracy", source));
      t.fisher_proxy.push_back(row_from_json(l.at("fisher_proxy"), name + ".fisher_proxy", source));
    }
  } catch (const nlohmann::json::exception& e) {
    throw TrainError(source + ": not a sensitivity table (" + e.what() + ")");
  }
  return t;
}

SensitivityTable measure_sensitivity(DeployNetImpl& net, const Dataset& set, const Normalization& norm,
                                     const ClusterOptions& cluster, torch::Device device, Logger& log) {
  if (set.size() == 0)
    throw TrainError("measuring sensitivity needs held-out images: --val must be > 0");
  if (net.hook) throw std::logic_error("measure_sensitivity: the network already has a weight hook");
  const auto start = std::chrono::steady_clock::now();
  SensitivityTable t;
  t.images = set.size();
  const size_t layers = net.num_layers();
  for (size_t l = 0; l < layers; ++l) t.layers.push_back(net.is_fc(l) ? "fc" : "conv" + std::to_string(l));
  t.loss_increase.assign(layers, {});
  t.accuracy.assign(layers, {});
  t.fisher_proxy.assign(layers, {});
  // The quantized weights of every (layer, width): the k-means codebooks ClusterQAT
  // starts from at that width.
  std::vector<std::vector<torch::Tensor>> q(8);
  for (int b = 1; b <= 8; ++b) {
    const ClusterQAT cq(net, std::vector<int>(layers, b), cluster);
    for (size_t l = 0; l < layers; ++l)
      q[size_t(b - 1)].push_back(cq.centroids[l].gather(1, cq.assign[l]).view_as(net.weights[l]).detach());
  }
  const std::vector<torch::Tensor> fisher = fisher_diagonal(net, set, norm, device);
  {
    torch::NoGradGuard ng;
    for (size_t l = 0; l < layers; ++l)
      for (size_t b = 0; b < 8; ++b)
        t.fisher_proxy[l][b] = 0.5 * (fisher[l] * (net.weights[l].detach() - q[b][l]).square()).sum().item<double>();
  }
  // Batch by batch: the fp32 input of every layer is computed once, so quantizing
  // layer l only reruns layers l.. (the same operations as DeployNetImpl::forward).
  torch::NoGradGuard ng;
  net.eval();
  const size_t convs = net.strides.size();
  auto conv = [&](const torch::Tensor& x, size_t l, const torch::Tensor& w) {
    return torch::relu(torch::conv2d(x, w, net.biases[l], net.strides[l], 1));
  };
  std::vector<std::array<double, 8>> loss(layers), correct(layers);
  double base_loss = 0, base_correct = 0;
  auto score = [&](const torch::Tensor& logits, const torch::Tensor& labels, double& l, double& c) {
    l += torch::nn::functional::cross_entropy(
             logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
             .item<double>();
    c += double(logits.argmax(1).eq(labels).sum().item<int64_t>());
  };
  const int64_t batch = 500;
  for (int64_t begin = 0; begin < set.size(); begin += batch) {
    const int64_t n = std::min(batch, set.size() - begin);
    torch::Tensor idx = torch::arange(begin, begin + n, torch::kInt64);
    std::vector<torch::Tensor> in{make_batch(set, idx, norm, Augmentation{}, 0).to(device)};
    for (size_t l = 0; l < convs; ++l) in.push_back(conv(in[l], l, net.weights[l]));
    const torch::Tensor feats = in[convs].mean({2, 3});
    const torch::Tensor labels = set.labels.narrow(0, begin, n).to(device);
    score(torch::linear(feats, net.weights[convs], net.biases[convs]), labels, base_loss, base_correct);
    for (size_t l = 0; l < layers; ++l) {
      for (size_t b = 0; b < 8; ++b) {
        torch::Tensor logits;
        if (l == convs) {
          logits = torch::linear(feats, q[b][l], net.biases[l]);
        } else {
          torch::Tensor x = conv(in[l], l, q[b][l]);
          for (size_t k = l + 1; k < convs; ++k) x = conv(x, k, net.weights[k]);
          logits = torch::linear(x.mean({2, 3}), net.weights[convs], net.biases[convs]);
        }
        score(logits, labels, loss[l][b], correct[l][b]);
      }
    }
    log.log("sensitivity: " + std::to_string(begin + n) + "/" + std::to_string(set.size()) + " images");
  }
  const double count = double(set.size());
  t.base_loss = base_loss / count;
  t.base_accuracy = base_correct / count;
  for (size_t l = 0; l < layers; ++l)
    for (size_t b = 0; b < 8; ++b) {
      t.loss_increase[l][b] = loss[l][b] / count - t.base_loss;
      t.accuracy[l][b] = correct[l][b] / count;
    }
  log.log("sensitivity: fp32 on " + std::to_string(set.size()) + " held-out images: loss " +
          std::to_string(t.base_loss) + ", accuracy " + std::to_string(100 * t.base_accuracy) + "%");
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return t;
}

}  // namespace repvk::train
