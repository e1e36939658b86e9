// Everything the engine knows about conv3x3 besides the Texel kernel (conv3x3_texel.cpp)
// and the tile sizes (conv3x3_tuning.cpp): the op, its CPU reference and its entry in
// the op-kind table.
#include "ops/conv3x3.h"
#include "ops/conv3x3_igemm.h"

#include <algorithm>
#include <functional>

#include "ops/op_kind.h"
#include "repvk/cpu_reference.h"

namespace repvk {
namespace {

// Must match the push_constant block of shaders/conv3x3.comp.
struct ConvPush {
  uint32_t n, cin, h, w, cout, oh, ow, words_per_row, codebook_size, pixel_base;
};
static_assert(sizeof(ConvPush) == 40, "shaders/conv3x3.comp: 40 bytes of push constants");

// Must match the push_constant block of shaders/conv3x3_tiled.comp.
struct TiledPush {
  uint32_t n, cin, h, w, cout, oh, ow, words_per_row, codebook_size, group_base, owb, positions;
};
static_assert(sizeof(TiledPush) == 48, "shaders/conv3x3_tiled.comp: 48 bytes of push constants");

// Specialization constant ids of shaders/conv3x3.comp; conv3x3_tiled.comp uses the
// same ids for the same meanings (no OC_TILE: its block is compiled in) plus CIN_CHUNK.
enum ConvSpec : uint32_t {
  kSpecWorkgroup = 0,
  kSpecOcTile = 1,
  kSpecBits = 2,
  kSpecPerChannel = 3,
  kSpecStride = 4,
  kSpecRelu = 5,
  kSpecCinChunk = 6,
};

// Output channels per invocation: each loaded input value is reused this many times,
// while the accumulators stay in registers. Four is enough to amortize the loads
// without wasting much work on layers whose Cout is not a multiple of it.
constexpr uint32_t kMaxChannelTile = 4;
// Output pixels per workgroup: a multiple of every common subgroup size (8..64).
constexpr uint32_t kMaxWorkgroupPixels = 64;

}  // namespace

Conv3x3Op::Conv3x3Op(Device& device, VkPipelineCache cache, const Layer& layer,
                     const TensorShape& input, bool fp16, ConvAlgorithm algorithm,
                     uint32_t batch_hint, const ConvTuningOverride& tuning)
    : device_(device), in_(input), stride_(layer.stride), relu_(layer.relu), fp16_(fp16),
      tuning_(tuning) {
  const std::string op = "conv3x3";
  if (layer.type != LayerType::Conv3x3) throw Error(op + ": layer is not a conv3x3");
  if (layer.in_channels != input.c || input.c == 0 || input.h == 0 || input.w == 0)
    throw Error(op + ": layer expects " + std::to_string(layer.in_channels) +
                " input channels, the input has " + std::to_string(input.c) + "x" +
                std::to_string(input.h) + "x" + std::to_string(input.w));
  if (stride_ != 1 && stride_ != 2) throw Error(op + ": stride must be 1 or 2");
  if (layer.out_channels == 0) throw Error(op + ": no output channels");
  ops::check_fp16(device, op, fp16);
  out_ = TensorShape{layer.out_channels, (input.h - 1) / stride_ + 1, (input.w - 1) / stride_ + 1};

  max_batch_ = std::max(1u, batch_hint);
  algorithm_ = algorithm == ConvAlgorithm::Direct ? ConvAlgorithm::Direct
               : algorithm == ConvAlgorithm::Tiled ? ConvAlgorithm::Tiled
               // Texel where the device's texel-buffer limits allow it; Auto asks for it
               // only on CPU devices (see ConvAlgorithm).
               : (algorithm == ConvAlgorithm::Texel ||
                  device.info().type == VK_PHYSICAL_DEVICE_TYPE_CPU) && texel_fits(max_batch_)
                   ? ConvAlgorithm::Texel
                   : ConvAlgorithm::Tiled;
  // Texel reads load-time-expanded weights (create_texel): only its bias is uploaded here.
  weights_ = algorithm_ == ConvAlgorithm::Texel ? ops::upload_bias_only(device, layer, op)
                                                : ops::upload_layer_weights(device, layer, op);
  if (algorithm_ == ConvAlgorithm::Direct)
    create_direct(cache);
  else if (algorithm_ == ConvAlgorithm::Texel)
    create_texel(cache, layer, max_batch_);
  else
    create_tiled(cache, batch_hint);
}

Conv3x3Op::~Conv3x3Op() {
  for (VkBufferView v : input_views_) vkDestroyBufferView(device_.handle(), v, nullptr);
}

void Conv3x3Op::create_direct(VkPipelineCache cache) {
  const std::string op = "conv3x3";
  const DeviceLimits& limits = device_.info().limits;
  oc_tile_ = std::min(kMaxChannelTile, out_.c);
  while (oc_tile_ > 1 && weights_.shared_bytes(oc_tile_) > limits.max_shared_memory) --oc_tile_;
  if (weights_.shared_bytes(oc_tile_) > limits.max_shared_memory)
    throw Error(op + ": a " + std::to_string(weights_.bits) + "-bit codebook needs " +
                std::to_string(weights_.shared_bytes(1)) +
                " bytes of shared memory; the device has " +
                std::to_string(limits.max_shared_memory));
  // Small late-stage layers (7x7, 1x1) get a workgroup no larger than their plane.
  wg_pixels_ = ops::pow2_at_least(uint64_t(out_.h) * out_.w,
                                  std::min(kMaxWorkgroupPixels, ops::max_workgroup_x(device_)));
  ops::check_group_count(device_, op, 1, ops::ceil_div(out_.c, oc_tile_), "output channel tiles");

  const std::vector<SpecConstant> spec = {{kSpecWorkgroup, wg_pixels_},
                                          {kSpecOcTile, oc_tile_},
                                          {kSpecBits, weights_.bits},
                                          {kSpecPerChannel, weights_.per_channel ? 1u : 0u},
                                          {kSpecStride, stride_},
                                          {kSpecRelu, relu_ ? 1u : 0u}};
  pipeline_ = std::make_unique<ComputePipeline>(device_, cache,
                                                std::string("conv3x3_") + ops::act_suffix(fp16_), 5,
                                                uint32_t(sizeof(ConvPush)), spec);
}


void Conv3x3Op::create_tiled(VkPipelineCache cache, uint32_t batch_hint) {
  const std::string op = "conv3x3_tiled";
  const DeviceLimits& limits = device_.info().limits;
  tiled_ = choose_tiled_config(device_.info(), out_, in_.c, batch_hint, weights_, tuning_);
  if (tiled_shared_bytes(tiled_, weights_) > limits.max_shared_memory)
    throw Error(op + ": a " + std::to_string(weights_.bits) + "-bit codebook tile needs " +
                std::to_string(tiled_shared_bytes(tiled_, weights_)) +
                " bytes of shared memory; the device has " +
                std::to_string(limits.max_shared_memory));
  wg_pixels_ = tiled_.workgroup;
  oc_tile_ = tiled_.oc_block;
  ops::check_group_count(device_, op, 1, ops::ceil_div(out_.c, oc_tile_), "output channel tiles");
  const std::vector<SpecConstant> spec = {{kSpecWorkgroup, tiled_.workgroup},
                                          {kSpecBits, weights_.bits},
                                          {kSpecPerChannel, weights_.per_channel ? 1u : 0u},
                                          {kSpecStride, stride_},
                                          {kSpecRelu, relu_ ? 1u : 0u},
                                          {kSpecCinChunk, tiled_.cin_chunk}};
  const std::string shader = tiled_shader_name(tiled_, fp16_);
  pipeline_ = std::make_unique<ComputePipeline>(device_, cache, shader, 5,
                                                uint32_t(sizeof(TiledPush)), spec);
}

void Conv3x3Op::bind(DescriptorArena& arena, VkBuffer input, VkBuffer output) {
  if (algorithm_ == ConvAlgorithm::Texel) return bind_texel(arena, input, output);
  set_ = arena.allocate(*pipeline_, {input, output, weights_.words.handle(),
                                     weights_.codebooks.handle(), weights_.bias.handle()});
}

void Conv3x3Op::record(VkCommandBuffer cmd, uint32_t batch) const {
  if (set_ == VK_NULL_HANDLE) throw Error("conv3x3: record() before bind()");
  if (batch == 0) return;
  if (algorithm_ == ConvAlgorithm::Texel && batch > max_batch_)
    throw Error("conv3x3: batch " + std::to_string(batch) + " exceeds the " +
                std::to_string(max_batch_) + " images the op was created for (its input view is sized for them)");
  if (algorithm_ == ConvAlgorithm::Direct)
    record_direct(cmd, batch);
  else if (algorithm_ == ConvAlgorithm::Texel)
    record_texel(cmd, batch);
  else
    record_tiled(cmd, batch);
}

void Conv3x3Op::record_position_groups(uint32_t px, uint32_t batch,
                                       const std::function<void(uint32_t, uint32_t, uint32_t)>& dispatch) const {
  const uint32_t owb = ops::ceil_div(out_.w, px);
  const uint64_t positions = uint64_t(batch) * out_.h * owb;
  if (positions > UINT32_MAX)
    throw Error(name() + ": " + std::to_string(positions) +
                " pixel blocks exceed the 32-bit index range; use a smaller batch");
  const uint32_t total_groups = ops::ceil_div(positions, wg_pixels_);
  const uint32_t max_x = device_.info().limits.max_workgroup_count[0];
  for (uint32_t first = 0; first < total_groups;) {
    const uint32_t groups_x = std::min(max_x, total_groups - first);
    dispatch(first, groups_x, uint32_t(positions));
    first += groups_x;
  }
}

void Conv3x3Op::record_tiled(VkCommandBuffer cmd, uint32_t batch) const {
  const uint32_t owb = ops::ceil_div(out_.w, tiled_.px);
  const uint32_t groups_y = ops::ceil_div(out_.c, oc_tile_);
  TiledPush push{batch,    in_.c,  in_.h,  in_.w, out_.c, out_.h, out_.w, weights_.words_per_row,
                 weights_.codebook_size, 0, owb, 0};
  record_position_groups(tiled_.px, batch, [&](uint32_t first, uint32_t groups_x, uint32_t positions) {
    push.group_base = first;
    push.positions = positions;
    record_dispatch(cmd, *pipeline_, set_, &push, groups_x, groups_y, 1);
  });
}

void Conv3x3Op::record_direct(VkCommandBuffer cmd, uint32_t batch) const {
  ops::check_group_count(device_, "conv3x3", 2, batch, "batch");
  const uint64_t pixels = uint64_t(out_.h) * out_.w;
  const uint32_t total_groups = ops::ceil_div(pixels, wg_pixels_);
  const uint32_t max_x = device_.info().limits.max_workgroup_count[0];
  const uint32_t groups_y = ops::ceil_div(out_.c, oc_tile_);
  ConvPush push{batch,
                in_.c,
                in_.h,
                in_.w,
                out_.c,
                out_.h,
                out_.w,
                weights_.words_per_row,
                weights_.codebook_size,
                0};
  for (uint32_t first = 0; first < total_groups;) {
    const uint32_t groups_x = std::min(max_x, total_groups - first);
    push.pixel_base = first * wg_pixels_;
    record_dispatch(cmd, *pipeline_, set_, &push, groups_x, groups_y, batch);
    first += groups_x;
  }
}

uint64_t Conv3x3Op::flops(uint32_t batch) const {
  return 2ull * batch * out_.elements() * in_.c * 9;
}

std::string Conv3x3Op::name() const {
  return "conv3x3 " + std::to_string(in_.c) + "->" + std::to_string(out_.c) + " s" +
         std::to_string(stride_) + " " + std::to_string(in_.h) + "x" + std::to_string(in_.w) + " " +
         weights_.tag() + (relu_ ? " relu" : "") + " " + ops::act_suffix(fp16_) + " " +
         conv_algorithm_name(algorithm_);
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
  if (plan.conv_algorithm == ConvAlgorithm::Igemm)
    return std::make_unique<Conv3x3IgemmOp>(plan.device, plan.cache, plan.layer, plan.input,
                                            plan.output_half);
  return std::make_unique<Conv3x3Op>(plan.device, plan.cache, plan.layer, plan.input,
                                     plan.output_half, plan.conv_algorithm, plan.max_batch,
                                     plan.conv_tuning);
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
