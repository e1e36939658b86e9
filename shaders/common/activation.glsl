// SPDX-License-Identifier: MIT
// Activation storage type, selected per variant by shaders/CMakeLists.txt.
//
// ACT_FP16 stores activations as IEEE half through GL_EXT_shader_16bit_storage and
// converts on every load/store; all arithmetic and accumulation stay fp32. That way
// the f16 variants need only storageBuffer16BitAccess, never shaderFloat16, and the
// math is identical to the f32 variants apart from the rounding of stored values.
//
// Include right after #version / GL_GOOGLE_include_directive: it may declare an
// #extension, which must precede every declaration.
#ifndef REPVK_COMMON_ACTIVATION_GLSL
#define REPVK_COMMON_ACTIVATION_GLSL

#ifdef ACT_FP16
#extension GL_EXT_shader_16bit_storage : require
#define ACT_T float16_t
#else
#define ACT_T float
#endif

#define ACT_LOAD(v) float(v)
#define ACT_STORE(v) ACT_T(v)

#endif  // REPVK_COMMON_ACTIVATION_GLSL
