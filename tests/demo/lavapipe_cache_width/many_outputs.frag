// SPDX-License-Identifier: MIT
#version 450
layout(location = 0) in vec4 v[12];
layout(location = 0) out vec4 color;

void main() {
  vec4 s = vec4(0.0);
  for (int k = 0; k < 12; ++k) s += v[k];
  color = fract(s * 0.01);
}
