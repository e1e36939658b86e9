#include "repvk/cpu_reference.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace repvk::cpu {

void conv3x3(const float* in, uint32_t n, uint32_t cin, uint32_t h, uint32_t w,
             const float* weights, const float* bias, uint32_t cout, uint32_t stride, bool relu,
             float* out) {
  const uint32_t oh = (h - 1) / stride + 1;
  const uint32_t ow = (w - 1) / stride + 1;
  const size_t in_plane = size_t(h) * w;
  const size_t out_plane = size_t(oh) * ow;
  // One output plane of double accumulators, filled tap by tap: the inner loop then
  // walks contiguous memory, which keeps large test shapes affordable.
  std::vector<double> acc(out_plane);
  for (uint32_t b = 0; b < n; ++b) {
    const float* img = in + size_t(b) * cin * in_plane;
    for (uint32_t oc = 0; oc < cout; ++oc) {
      std::fill(acc.begin(), acc.end(), double(bias[oc]));
      for (uint32_t ic = 0; ic < cin; ++ic) {
        const float* plane = img + ic * in_plane;
        const float* k = weights + (size_t(oc) * cin + ic) * 9;
        for (int ky = 0; ky < 3; ++ky) {
          for (int kx = 0; kx < 3; ++kx) {
            const double wv = k[ky * 3 + kx];
            for (uint32_t oy = 0; oy < oh; ++oy) {
              const int64_t iy = int64_t(oy) * stride + ky - 1;
              if (iy < 0 || iy >= int64_t(h)) continue;
              const float* row = plane + size_t(iy) * w;
              double* arow = acc.data() + size_t(oy) * ow;
              for (uint32_t ox = 0; ox < ow; ++ox) {
                const int64_t ix = int64_t(ox) * stride + kx - 1;
                if (ix < 0 || ix >= int64_t(w)) continue;
                arow[ox] += wv * double(row[ix]);
              }
            }
          }
        }
      }
      float* dst = out + (size_t(b) * cout + oc) * out_plane;
      for (size_t i = 0; i < out_plane; ++i) {
        const double v = relu ? std::max(acc[i], 0.0) : acc[i];
        dst[i] = float(v);
      }
    }
  }
}

void global_avg_pool(const float* in, uint32_t n, uint32_t c, uint32_t h, uint32_t w, float* out) {
  const size_t plane = size_t(h) * w;
  for (size_t p = 0; p < size_t(n) * c; ++p) {
    double s = 0;
    for (size_t i = 0; i < plane; ++i) s += in[p * plane + i];
    out[p] = float(s / double(plane));
  }
}

void fully_connected(const float* in, uint32_t n, uint32_t in_features, const float* weights,
                     const float* bias, uint32_t out_features, bool relu, float* out) {
  for (uint32_t b = 0; b < n; ++b) {
    const float* x = in + size_t(b) * in_features;
    for (uint32_t o = 0; o < out_features; ++o) {
      const float* row = weights + size_t(o) * in_features;
      double s = bias[o];
      for (uint32_t i = 0; i < in_features; ++i) s += double(row[i]) * double(x[i]);
      if (relu) s = std::max(s, 0.0);
      out[size_t(b) * out_features + o] = float(s);
    }
  }
}

void softmax(const float* in, uint32_t n, uint32_t k, float* out) {
  std::vector<double> e(k);
  for (uint32_t b = 0; b < n; ++b) {
    const float* x = in + size_t(b) * k;
    float* y = out + size_t(b) * k;
    double mx = -INFINITY;
    for (uint32_t i = 0; i < k; ++i) mx = std::max(mx, double(x[i]));
    double sum = 0;
    for (uint32_t i = 0; i < k; ++i) {
      e[i] = std::exp(double(x[i]) - mx);
      sum += e[i];
    }
    for (uint32_t i = 0; i < k; ++i) y[i] = float(e[i] / sum);
  }
}

std::vector<float> forward(const Model& model, const float* input, uint32_t batch,
                           bool logits_only) {
  const std::string source = model.name.empty() ? "<model>" : model.name;
  const std::vector<TensorShape> shapes = validate_model(model, source);

  TensorShape shape{model.input.channels, model.input.height, model.input.width};
  std::vector<float> cur(input, input + size_t(batch) * shape.elements());
  std::vector<float> next;
  for (size_t li = 0; li < model.layers.size(); ++li) {
    const Layer& layer = model.layers[li];
    const bool last = li + 1 == model.layers.size();
    if (layer.type == LayerType::Softmax && last && logits_only) break;
    const TensorShape& out_shape = shapes[li];
    next.assign(size_t(batch) * out_shape.elements(), 0.0f);
    switch (layer.type) {
      case LayerType::Conv3x3: {
        const std::vector<float> w = decode_weights(layer);
        conv3x3(cur.data(), batch, shape.c, shape.h, shape.w, w.data(), layer.bias.data(),
                layer.out_channels, layer.stride, layer.relu, next.data());
        break;
      }
      case LayerType::GlobalAvgPool:
        global_avg_pool(cur.data(), batch, shape.c, shape.h, shape.w, next.data());
        break;
      case LayerType::FullyConnected: {
        // The input is the previous activation flattened (C*H*W per image).
        const std::vector<float> w = decode_weights(layer);
        fully_connected(cur.data(), batch, layer.in_channels, w.data(), layer.bias.data(),
                        layer.out_channels, layer.relu, next.data());
        break;
      }
      case LayerType::Softmax:
        softmax(cur.data(), batch, uint32_t(shape.elements()), next.data());
        break;
    }
    cur.swap(next);
    shape = out_shape;
  }
  return cur;
}

}  // namespace repvk::cpu
