# SPDX-License-Identifier: MIT
# cmake -DNM=<nm> -DLIBRARY=<librepvk.so> -P check_symbols.cmake
# Passes when librepvk.so exports the public API and nothing else: the C API
# (repvk_*), the repvk namespace declared in engine/include (and the typeinfo/vtables of
# its exception classes), none of the engine's internals, no std:: instantiations; and
# every one of them with the REPVK_<abi> symbol version.
foreach(_v NM LIBRARY)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "check_symbols.cmake: ${_v} not set")
  endif()
endforeach()

execute_process(COMMAND "${NM}" -D --defined-only -C "${LIBRARY}"
  OUTPUT_VARIABLE _out RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${LIBRARY} (${_rc})")
endif()
string(REPLACE "\n" ";" _lines "${_out}")

set(_allowed "^(repvk_[a-z0-9_]+|repvk::.*|typeinfo for repvk::.*|typeinfo name for repvk::.*|vtable for repvk::.*)$")
# Internal classes live in the repvk namespace too; none may leak.
set(_internal "repvk::(Buffer|CommandContext|PipelineCache|ComputePipeline|DescriptorArena|Conv3x3Op|GlobalAvgPoolOp|FullyConnectedOp|SoftmaxOp|PreprocessImageOp|ops::|detail::|shaders::|upload|download|fill|record_)|::Impl")
set(_bad "")
set(_count 0)
foreach(_line IN LISTS _lines)
  # "<address> <type> <name>": the name may contain spaces.
  if(NOT _line MATCHES "^[0-9a-f]+ [A-Za-z] (.*)$")
    continue()
  endif()
  set(_name "${CMAKE_MATCH_1}")
  math(EXPR _count "${_count} + 1")
  # Every symbol carries the version node of the version script (repvk.map.in).
  if(_name MATCHES "^(.*)@@REPVK_[0-9.]+$")
    set(_name "${CMAKE_MATCH_1}")
  elseif(NOT _name MATCHES "^REPVK_[0-9.]+$")  # the version node's own definition
    string(APPEND _bad "  (no version node) ${_name}\n")
    continue()
  else()
    continue()
  endif()
  if(NOT _name MATCHES "${_allowed}" OR _name MATCHES "${_internal}")
    string(APPEND _bad "  ${_name}\n")
  endif()
endforeach()

foreach(_want "repvk_network_load" "repvk_network_record_classify_image"
              "repvk::Network::record_classify_image(" "repvk::Device::adopt("
              "typeinfo for repvk::Error" "typeinfo for repvk::ModelError")
  string(FIND "${_out}" "${_want}" _at)
  if(_at EQUAL -1)
    string(APPEND _bad "  (missing) ${_want}\n")
  endif()
endforeach()

if(_bad)
  message(FATAL_ERROR "${LIBRARY}: unexpected dynamic symbols:\n${_bad}")
endif()
message(STATUS "${LIBRARY}: ${_count} exported symbols, all public API")
