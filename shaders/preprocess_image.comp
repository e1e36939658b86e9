// SPDX-License-Identifier: MIT
// preprocess_image: an application's 2-D image -> the network's input tensor [1][C][H][W],
// on the GPU, with the same arithmetic as repvk::preprocess() on the host:
// bilinear resize with half-pixel centres (clamped at the borders), optionally of the
// shorter side followed by a centre crop (InputSpec::resize), gray/RGB/alpha
// channel mapping (BT.601 luma for RGB -> gray), then (v - mean[c]) / std[c].
//
// Bindings (set 0):
//   0  texture2D src        a SAMPLED_IMAGE view of the application's image, read with
//                           texelFetch (GL_EXT_samplerless_texture_functions): values as the
//                           view's format returns them (UNORM: p/255; SRGB: linearized)
//   1  ACT_T act_out[C*H*W] std430; float (preprocess_image_f32) or float16_t (_f16)
// Specialization constants:
//   0 C, 1 H, 2 W           the model input (C in 1..4)
//   3..6  MEAN0..MEAN3      per model channel; unused ones are ignored
//   7..10 STD0..STD3        per model channel, > 0
// Push constants (6 x uint + 4 x float, 40 bytes):
//   src_x, src_y            top-left texel of the region of interest
//   src_w, src_h            its size in texels (>= 1)
//   src_channels            color layout of the view: 1 gray (.r), 2 gray+alpha (.r, .g),
//                           3 RGB, 4 RGBA
//   srgb_encode             1: re-encode linear values to sRGB first (for SRGB views, so
//                           the tensor sees the stored 8-bit codes as the host path does)
//   scale_x, scale_y        source texels per resized pixel: src_w / resized_w, src_h /
//                           resized_h (resized = W x H when the model stretches)
//   crop_x, crop_y          top-left of the W x H crop in the resized image (0 when
//                           stretching); see engine/src/io/resize_geometry.h
// Dispatch: x = ceil(W / 8), y = ceil(H / 8), z = 1; one invocation per output pixel,
// writing all C channels.
// Divisibility: none; invocations outside W x H return (no barriers here).
//
// Why texelFetch and not a hardware bilinear sampler: filtering hardware only
// guarantees subTexelPrecisionBits (>= 4, often 8) bits of weight, so a sampled
// result can differ from the host path by several codes; four fetches with fp32
// weights match it to rounding.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_samplerless_texture_functions : require
#include "common/activation.glsl"

layout(local_size_x = 8, local_size_y = 8, local_size_z = 1) in;

layout(constant_id = 0) const uint C = 1u;
layout(constant_id = 1) const uint H = 1u;
layout(constant_id = 2) const uint W = 1u;
layout(constant_id = 3) const float MEAN0 = 0.0;
layout(constant_id = 4) const float MEAN1 = 0.0;
layout(constant_id = 5) const float MEAN2 = 0.0;
layout(constant_id = 6) const float MEAN3 = 0.0;
layout(constant_id = 7) const float STD0 = 1.0;
layout(constant_id = 8) const float STD1 = 1.0;
layout(constant_id = 9) const float STD2 = 1.0;
layout(constant_id = 10) const float STD3 = 1.0;

layout(set = 0, binding = 0) uniform texture2D src;
layout(std430, set = 0, binding = 1) writeonly buffer ActOut { ACT_T act_out[]; };

layout(push_constant) uniform Params {
  uint src_x, src_y, src_w, src_h;
  uint src_channels, srgb_encode;
  float scale_x, scale_y;
  float crop_x, crop_y;
} pc;

// Same weights as repvk::preprocess (BT.601).
const vec3 kLuma = vec3(0.299, 0.587, 0.114);

vec4 fetch(uint x, uint y) {
  vec4 v = texelFetch(src, ivec2(pc.src_x + x, pc.src_y + y), 0);
  if (pc.srgb_encode != 0u) {
    const vec3 lo = v.rgb * 12.92;
    const vec3 hi = 1.055 * pow(v.rgb, vec3(1.0 / 2.4)) - 0.055;
    v.rgb = mix(hi, lo, lessThanEqual(v.rgb, vec3(0.0031308)));
  }
  return v;
}

// Model channel c of one source texel, as repvk::preprocess's PixelReader reads it.
float channel(vec4 t, uint c) {
  const bool src_color = pc.src_channels >= 3u;
  const bool dst_color = C >= 3u;
  const uint dst_color_channels = dst_color ? 3u : 1u;
  if (c >= dst_color_channels) {  // the model's alpha slot
    if (pc.src_channels == 2u) return t.g;
    if (pc.src_channels == 4u) return t.a;
    return 1.0;
  }
  if (!src_color) return t.r;
  if (dst_color) return t[c];
  return dot(kLuma, t.rgb);
}

// Source tap pair and weight of output coordinate d (half-pixel centres, clamped).
void taps(uint d, float crop, float scale, uint size, out uint i0, out uint i1, out float w1) {
  const float s = clamp((float(d) + crop + 0.5) * scale - 0.5, 0.0, float(size - 1u));
  i0 = uint(s);
  i1 = min(i0 + 1u, size - 1u);
  w1 = s - float(i0);
}

void main() {
  const uint x = gl_GlobalInvocationID.x, y = gl_GlobalInvocationID.y;
  if (x >= W || y >= H) return;
  uint x0, x1, y0, y1;
  float wx, wy;
  taps(x, pc.crop_x, pc.scale_x, pc.src_w, x0, x1, wx);
  taps(y, pc.crop_y, pc.scale_y, pc.src_h, y0, y1, wy);
  const vec4 t00 = fetch(x0, y0), t10 = fetch(x1, y0);
  const vec4 t01 = fetch(x0, y1), t11 = fetch(x1, y1);
  const float mean[4] = float[4](MEAN0, MEAN1, MEAN2, MEAN3);
  const float sd[4] = float[4](STD0, STD1, STD2, STD3);
  for (uint c = 0u; c < C; ++c) {
    const float top = (1.0 - wx) * channel(t00, c) + wx * channel(t10, c);
    const float bottom = (1.0 - wx) * channel(t01, c) + wx * channel(t11, c);
    const float v = (1.0 - wy) * top + wy * bottom;
    act_out[(c * H + y) * W + x] = ACT_STORE((v - mean[c]) / sd[c]);
  }
}
