// SPDX-License-Identifier: MIT
#version 450
// Many outputs make each vertex the draw module stores large, so vertices written
// past the end of its buffer land well outside the heap block.
layout(location = 0) out vec4 v[12];

void main() {
  const float i = float(gl_VertexIndex);
  for (int k = 0; k < 12; ++k) v[k] = vec4(i, float(k), i * 0.5, 1.0);
  // Triangles spread over the viewport; which pixels they cover does not matter.
  const vec2 p = vec2(float(gl_VertexIndex % 3 == 1), float(gl_VertexIndex % 3 == 2));
  gl_Position = vec4(p * 1.5 - 0.75, 0.0, 1.0);
}
