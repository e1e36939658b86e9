// SPDX-License-Identifier: MIT
// What every conv3x3 kernel shares, the factory that picks one (conv3x3.h), the CPU
// reference and the kind's entry in the op-kind table. The kernels are
// conv3x3_direct.cpp, conv3x3_tiled.cpp, conv3x3_texel.cpp and conv3x3_igemm.cpp (with
// its split-K, conv3x3_splitk.cpp); the tiled and texel tile sizes come from
// conv3x3_tuning.cpp, igemm's from choose_igemm_config() in its own file.
#include "ops/conv3x3.h"
#include "ops/conv3x3_igemm.h"

#include <algorithm>
#include <functional>

#include "ops/conv3x3_direct.h"
#include "ops/conv3x3_texel.h"
#include "ops/conv3x3_tiled.h"
#include "ops/op_common.h"
#include "ops/op_kind.h"
#include "repvk/cpu_reference.h"

namespace repvk {

Conv3x3Op::Conv3x3Op(const Conv3x3Args& args)
    : device_(args.device), in_(args.input), stride_(args.layer.stride), relu_(args.layer.relu),
      fp16_(args.fp16) {
  const Layer& layer = args.layer;
  const TensorShape& input = args.input;
  const std::string op = "conv3x3";
  if (layer.type != LayerType::Conv3x3) throw Error(op + ": layer is not a conv3x3");
  if (layer.in_channels != input.c || input.c == 0 || input.h == 0 || input.w == 0)
    throw Error(op + ": layer expects " + std::to_string(layer.in_channels) +
                " input channels, the input has " + std::to_string(input.c) + "x" +
                std::to_string(input.h) + "x" + std::to_string(input.w));
  if (stride_ != 1 && stride_ != 2) throw Error(op + ": stride must be 1 or 2");
  if (layer.out_channels == 0) throw Error(op + ": no output channels");
  ops::check_fp16(device_, op, fp16_);
  out_ = TensorShape{layer.out_channels, (input.h - 1) / stride_ + 1, (input.w - 1) / stride_ + 1};
  const bool codebook = layer.weights.encoding == WeightEncoding::Codebook;
  weights_tag_ = ops::weights_tag(codebook ? layer.weights.bits : 0,
                                  layer.weights.granularity == CodebookGranularity::PerOutputChannel);
}

void Conv3x3Op::record(VkCommandBuffer cmd, uint32_t batch) const {
  if (set_ == VK_NULL_HANDLE) throw Error("conv3x3: record() before bind()");
  if (batch == 0) return;
  record_dispatches(cmd, batch);
}

void Conv3x3Op::record_position_groups(uint32_t px, uint32_t workgroup, uint32_t batch,
                                       const std::function<void(uint32_t, uint32_t, uint32_t)>& dispatch) const {
  const uint32_t owb = ops::ceil_div(out_.w, px);
  const uint64_t positions = uint64_t(batch) * out_.h * owb;
  if (positions > UINT32_MAX)
    throw Error(name() + ": " + std::to_string(positions) +
                " pixel blocks exceed the 32-bit index range; use a smaller batch");
  const uint32_t total_groups = ops::ceil_div(positions, workgroup);
  const uint32_t max_x = device_.info().limits.max_workgroup_count[0];
  for (uint32_t first = 0; first < total_groups;) {
    const uint32_t groups_x = std::min(max_x, total_groups - first);
    dispatch(first, groups_x, uint32_t(positions));
    first += groups_x;
  }
}

uint64_t Conv3x3Op::flops(uint32_t batch) const {
  return 2ull * batch * out_.elements() * in_.c * 9;
}

std::string Conv3x3Op::name() const {
  return "conv3x3 " + std::to_string(in_.c) + "->" + std::to_string(out_.c) + " s" +
         std::to_string(stride_) + " " + std::to_string(in_.h) + "x" + std::to_string(in_.w) + " " +
         weights_tag_ + (relu_ ? " relu" : "") + " " + ops::act_suffix(fp16_) + " " +
         conv_algorithm_name(algorithm());
}

ConvAlgorithm default_conv_algorithm(const PhysicalDeviceInfo& device) {
  return device.type == VK_PHYSICAL_DEVICE_TYPE_CPU ? ConvAlgorithm::Texel : ConvAlgorithm::Igemm;
}

std::unique_ptr<Conv3x3Op> make_conv3x3_op(const Conv3x3Args& args, ConvAlgorithm algorithm) {
  switch (algorithm == ConvAlgorithm::Auto ? default_conv_algorithm(args.device.info()) : algorithm) {
    case ConvAlgorithm::Direct:
      return std::make_unique<Conv3x3DirectOp>(args);
    case ConvAlgorithm::Tiled:
      return std::make_unique<Conv3x3TiledOp>(args);
    case ConvAlgorithm::Texel:
      if (Conv3x3TexelOp::fits(args)) return std::make_unique<Conv3x3TexelOp>(args);
      return std::make_unique<Conv3x3TiledOp>(args);
    case ConvAlgorithm::Igemm:
      return std::make_unique<Conv3x3IgemmOp>(args);
    case ConvAlgorithm::Auto:
      break;
  }
  throw Error("conv3x3: no kernel for algorithm " + std::to_string(int(algorithm)));
}

namespace cpu {

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

}  // namespace cpu

namespace {

std::unique_ptr<Op> create(const OpPlan& plan) {
  // Conv layers exchange activations among themselves, so one type in and out.
  if (plan.input_half != plan.output_half)
    throw Error("conv3x3: input and output activations must have the same type");
  return make_conv3x3_op(Conv3x3Args{plan.device, plan.cache, plan.layer, plan.input,
                                     plan.output_half, plan.max_batch, plan.conv_tuning,
                                     plan.math_fp16},
                         plan.conv_algorithm);
}

void cpu_forward(const Layer& layer, const TensorShape& input, const TensorShape&, const float* in,
                 uint32_t batch, float* out) {
  const std::vector<float> w = decode_weights(layer);
  cpu::conv3x3(in, batch, input.c, input.h, input.w, w.data(), layer.bias.data(),
               layer.out_channels, layer.stride, layer.relu, out);
}

}  // namespace

const OpKind kConv3x3Op{LayerType::Conv3x3, create, cpu_forward};

}  // namespace repvk
