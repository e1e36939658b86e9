// SPDX-License-Identifier: MIT
#version 450
// tools/demo's image pass: one triangle that covers the viewport, which the demo
// sets to the on-screen rectangle of the image. No vertex buffer.
layout(location = 0) out vec2 uv;

void main() {
  // (0,0), (2,0), (0,2): the part inside the viewport spans uv 0..1.
  uv = vec2(float((gl_VertexIndex << 1) & 2), float(gl_VertexIndex & 2));
  gl_Position = vec4(uv * 2.0 - 1.0, 0.0, 1.0);
}
