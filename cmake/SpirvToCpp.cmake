# SPDX-License-Identifier: MIT
# cmake -DNAME=<id> -DINPUT=<file.spv.tmp> -DSPV=<file.spv> -DOUTPUT=<file.cpp> -P SpirvToCpp.cmake
# Converts a validated SPIR-V binary into a C++ translation unit defining
# repvk::shaders::spv_<NAME>[] and spv_<NAME>_words, then keeps the binary as <SPV>
# for inspection (spirv-dis). Runs only after spirv-val succeeded on INPUT.
foreach(_v NAME INPUT SPV OUTPUT)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "SpirvToCpp.cmake: ${_v} not set")
  endif()
endforeach()

file(SIZE "${INPUT}" _bytes)
math(EXPR _rem "${_bytes} % 4")
if(_bytes EQUAL 0 OR NOT _rem EQUAL 0)
  message(FATAL_ERROR "SpirvToCpp.cmake: ${INPUT} is not a SPIR-V binary (${_bytes} bytes)")
endif()
math(EXPR _words "${_bytes} / 4")

file(READ "${INPUT}" _hex HEX)
# SPIR-V words are little-endian on disk; emit them as host-order uint32 literals.
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u," _body "${_hex}")
string(REGEX REPLACE "((0x[0-9a-f]+u,){8})" "\\1\n  " _body "${_body}")

file(WRITE "${OUTPUT}.tmp"
"// Generated from ${NAME}.spv by cmake/SpirvToCpp.cmake. Do not edit.
#include <cstddef>
#include <cstdint>

namespace repvk {
namespace shaders {
extern const uint32_t spv_${NAME}[];
extern const size_t spv_${NAME}_words;
alignas(4) const uint32_t spv_${NAME}[] = {
  ${_body}
};
const size_t spv_${NAME}_words = ${_words};
}  // namespace shaders
}  // namespace repvk
")
file(RENAME "${INPUT}" "${SPV}")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
