// SPDX-License-Identifier: MIT
#version 450
// Nearest-neighbour upscaling by construction: texelFetch of the texel under the
// fragment, so no sampler state or filtering precision can blur a 28x28 image.
// `size` is the image's extent inside the (possibly larger) texture.
layout(location = 0) in vec2 uv;
layout(location = 0) out vec4 color;
layout(set = 0, binding = 0) uniform sampler2D image;
layout(push_constant) uniform Push {
  ivec2 size;
} pc;

void main() {
  const ivec2 texel = clamp(ivec2(uv * vec2(pc.size)), ivec2(0), pc.size - 1);
  color = vec4(texelFetch(image, texel, 0).rgb, 1.0);
}
