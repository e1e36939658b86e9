#include "ops/conv3x3.h"

#include <algorithm>
#include <functional>

namespace repvk {
namespace {

// Must match the push_constant block of shaders/conv3x3.comp.
struct ConvPush {
  uint32_t n, cin, h, w, cout, oh, ow, words_per_row, codebook_size, pixel_base;
};

// Must match the push_constant block of shaders/conv3x3_tiled.comp.
struct TiledPush {
  uint32_t n, cin, h, w, cout, oh, ow, words_per_row, codebook_size, group_base, owb, positions;
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

  weights_ = ops::upload_layer_weights(device, layer, op);
  max_batch_ = std::max(1u, batch_hint);
  algorithm_ = algorithm == ConvAlgorithm::Direct ? ConvAlgorithm::Direct
               : algorithm == ConvAlgorithm::Tiled ? ConvAlgorithm::Tiled
               // Texel where the device's texel-buffer limits allow it; Auto asks for it
               // only on CPU devices (see ConvAlgorithm).
               : (algorithm == ConvAlgorithm::Texel ||
                  device.info().type == VK_PHYSICAL_DEVICE_TYPE_CPU) && texel_fits(max_batch_)
                   ? ConvAlgorithm::Texel
                   : ConvAlgorithm::Tiled;
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

  const std::vector<uint32_t> spec = {wg_pixels_,    oc_tile_,
                                      weights_.bits, weights_.per_channel ? 1u : 0u,
                                      stride_,       relu_ ? 1u : 0u};
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
  // Id 1 is unused: the register block is compiled in (one shader per block).
  const std::vector<uint32_t> spec = {tiled_.workgroup, 0,
                                      weights_.bits,    weights_.per_channel ? 1u : 0u,
                                      stride_,          relu_ ? 1u : 0u,
                                      tiled_.cin_chunk};
  const std::string shader = "conv3x3_tiled_" + std::to_string(tiled_.px) + "x" +
                             std::to_string(tiled_.oc_block) +
                             (tiled_.subgroup_broadcast ? "_sg8_" : "_") + ops::act_suffix(fp16_);
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

}  // namespace repvk
