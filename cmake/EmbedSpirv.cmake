# SPDX-License-Identifier: MIT
# Build-time GLSL -> SPIR-V -> C++ embedding.
#
#   repvk_add_shader(NAME <variant> SOURCE <file.comp|.vert|.frag> [DEFINES A B=1 ...]
#                    [DEPENDS ...] [SOURCES_VAR <var>])
#       Compiles with glslc (or glslangValidator when glslc is absent), validates
#       with spirv-val and turns the result into a C++ array. The stage follows the
#       file extension. The generated .cpp is appended to the global property
#       REPVK_SHADER_SOURCES and the name to REPVK_SHADER_NAMES, unless SOURCES_VAR
#       is given: then it is appended to <var> in the caller's scope and stays out of
#       the engine's registry (an application's own shaders, e.g. tools/demo).
#   repvk_write_shader_registry(<output.cpp>)
#       Writes the find_shader()/all_shaders() implementation for every shader
#       added so far (see engine/src/runtime/shader_registry.h).
#   repvk_add_shader_variants(<kernel> [SOURCE <file.comp>] [BLOCKS <px>x<oc> ...]
#                             [SUBGROUP <width>] [IMGS <n> ...] [PRECISIONS f32 f16]
#                             [DEFINES A B=1 ...])
#       The compiled variants of one kernel, declared once: each register block
#       (defines PX, OC_BLOCK), with SUBGROUP also its subgroup-broadcast flavour
#       (SG_BCAST), or each IMGS value, or the kernel alone when neither is given;
#       every one at each precision (f16 defines ACT_FP16; default: f32 and f16).
#       Shaders are named <kernel>[_<px>x<oc>[_sg<width>]|_<imgs>]_<precision>;
#       SOURCE defaults to <kernel>.comp; DEFINES apply to every variant (they are
#       not part of its name or row). Each variant is also a row of the
#       kernel's table in the header repvk_write_shader_variants() writes.
#   repvk_write_shader_variants(<output.h>)
#       Writes the constexpr variant tables (engine/src/runtime/shader_variant.h)
#       of every kernel added with repvk_add_shader_variants(): the host picks its
#       variants only from them, so it cannot ask for one the build did not compile.
#
# SPIR-V is compiled to a temporary file and only converted to .cpp after it has
# validated: a failed validation leaves no output behind, so the next build retries
# instead of silently succeeding on a stale or invalid binary.
include_guard(GLOBAL)

# Functions use CMAKE_CURRENT_FUNCTION_LIST_DIR: with the include guard, a second
# directory that includes this file does not see variables set at the top level.

find_program(REPVK_GLSLC glslc HINTS "$ENV{VULKAN_SDK}/bin")
find_program(REPVK_GLSLANG glslangValidator HINTS "$ENV{VULKAN_SDK}/bin")
find_program(REPVK_SPIRV_VAL spirv-val HINTS "$ENV{VULKAN_SDK}/bin")
if(NOT REPVK_GLSLC AND NOT REPVK_GLSLANG)
  message(FATAL_ERROR "repvk: neither glslc nor glslangValidator found (install glslc)")
endif()
if(NOT REPVK_SPIRV_VAL)
  message(FATAL_ERROR "repvk: spirv-val not found (install spirv-tools)")
endif()

set(REPVK_SPIRV_TARGET_ENV "vulkan1.1" CACHE STRING "SPIR-V target environment for shaders")

function(repvk_add_shader)
  cmake_parse_arguments(ARG "" "NAME;SOURCE;SOURCES_VAR" "DEFINES;DEPENDS" ${ARGN})
  if(NOT ARG_NAME OR NOT ARG_SOURCE)
    message(FATAL_ERROR "repvk_add_shader: NAME and SOURCE are required")
  endif()
  if(NOT ARG_NAME MATCHES "^[a-z][a-z0-9_]*$")
    message(FATAL_ERROR "repvk_add_shader: '${ARG_NAME}' is not a valid shader name")
  endif()
  get_property(_names GLOBAL PROPERTY REPVK_SHADER_NAMES)
  if(ARG_NAME IN_LIST _names)
    message(FATAL_ERROR "repvk_add_shader: duplicate shader name '${ARG_NAME}'")
  endif()

  get_filename_component(_src "${ARG_SOURCE}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  get_filename_component(_ext "${_src}" LAST_EXT)
  if(_ext STREQUAL ".comp")
    set(_stage compute)
  elseif(_ext STREQUAL ".vert")
    set(_stage vertex)
  elseif(_ext STREQUAL ".frag")
    set(_stage fragment)
  else()
    message(FATAL_ERROR "repvk_add_shader: '${ARG_SOURCE}' is not .comp, .vert or .frag")
  endif()
  string(SUBSTRING "${_ext}" 1 -1 _glslang_stage)
  get_filename_component(_src_dir "${_src}" DIRECTORY)
  set(_out_dir "${CMAKE_CURRENT_BINARY_DIR}/spirv")
  set(_tmp "${_out_dir}/${ARG_NAME}.spv.tmp")
  set(_spv "${_out_dir}/${ARG_NAME}.spv")
  set(_cpp "${_out_dir}/${ARG_NAME}.spv.cpp")
  set(_dep "${_out_dir}/${ARG_NAME}.d")

  set(_defs "")
  foreach(_d IN LISTS ARG_DEFINES)
    list(APPEND _defs "-D${_d}")
  endforeach()

  # Includes are listed explicitly as well as through the depfile so that every
  # generator (and the glslangValidator fallback) rebuilds when a header changes.
  file(GLOB _common CONFIGURE_DEPENDS "${_src_dir}/common/*.glsl")

  if(REPVK_GLSLC)
    set(_compile "${REPVK_GLSLC}" --target-env=${REPVK_SPIRV_TARGET_ENV} -O
        -fshader-stage=${_stage} -I "${_src_dir}" ${_defs}
        -MD -MF "${_dep}" -MT "${_cpp}" -o "${_tmp}" "${_src}")
    set(_depfile_args DEPFILE "${_dep}")
  else()
    set(_compile "${REPVK_GLSLANG}" -V --target-env ${REPVK_SPIRV_TARGET_ENV} -S ${_glslang_stage}
        "-I${_src_dir}" ${_defs} -o "${_tmp}" "${_src}")
    set(_depfile_args "")
  endif()

  add_custom_command(
    OUTPUT "${_cpp}"
    COMMAND "${CMAKE_COMMAND}" -E make_directory "${_out_dir}"
    COMMAND ${_compile}
    COMMAND "${REPVK_SPIRV_VAL}" --target-env ${REPVK_SPIRV_TARGET_ENV} "${_tmp}"
    COMMAND "${CMAKE_COMMAND}" -DNAME=${ARG_NAME} -DINPUT=${_tmp} -DSPV=${_spv}
            -DOUTPUT=${_cpp} -P "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/SpirvToCpp.cmake"
    MAIN_DEPENDENCY "${_src}"
    DEPENDS ${_common} ${ARG_DEPENDS} "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/SpirvToCpp.cmake"
    ${_depfile_args}
    COMMENT "SPIR-V ${ARG_NAME}"
    VERBATIM)

  if(ARG_SOURCES_VAR)
    set(${ARG_SOURCES_VAR} ${${ARG_SOURCES_VAR}} "${_cpp}" PARENT_SCOPE)
    return()
  endif()
  set_property(GLOBAL APPEND PROPERTY REPVK_SHADER_NAMES "${ARG_NAME}")
  set_property(GLOBAL APPEND PROPERTY REPVK_SHADER_SOURCES "${_cpp}")
endfunction()

function(repvk_write_shader_registry output)
  get_property(_names GLOBAL PROPERTY REPVK_SHADER_NAMES)
  list(SORT _names)  # find_shader() binary-searches by name
  set(_decls "")
  set(_rows "")
  foreach(_n IN LISTS _names)
    string(APPEND _decls "extern const uint32_t spv_${_n}[];\nextern const size_t spv_${_n}_words;\n")
    string(APPEND _rows "    {\"${_n}\", spv_${_n}, spv_${_n}_words},\n")
  endforeach()
  list(LENGTH _names _count)
  configure_file("${CMAKE_CURRENT_FUNCTION_LIST_DIR}/shader_registry.cpp.in" "${output}" @ONLY)
endfunction()

function(repvk_add_shader_variants kernel)
  cmake_parse_arguments(ARG "" "SOURCE;SUBGROUP" "BLOCKS;IMGS;PRECISIONS;DEFINES" ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "repvk_add_shader_variants(${kernel}): unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(ARG_BLOCKS AND ARG_IMGS)
    message(FATAL_ERROR "repvk_add_shader_variants(${kernel}): BLOCKS and IMGS exclude each other")
  endif()
  if(ARG_SUBGROUP AND NOT ARG_BLOCKS)
    message(FATAL_ERROR "repvk_add_shader_variants(${kernel}): SUBGROUP needs BLOCKS")
  endif()
  if(NOT ARG_SOURCE)
    set(ARG_SOURCE ${kernel}.comp)
  endif()
  if(NOT ARG_PRECISIONS)
    set(ARG_PRECISIONS f32 f16)
  endif()
  get_property(_kernels GLOBAL PROPERTY REPVK_VARIANT_KERNELS)
  if(kernel IN_LIST _kernels)
    message(FATAL_ERROR "repvk_add_shader_variants: '${kernel}' declared twice")
  endif()

  # One entry per variant before precision: "<name suffix>|px|oc|subgroup|imgs|defines".
  set(_shapes "")
  foreach(_block IN LISTS ARG_BLOCKS)
    if(NOT _block MATCHES "^([1-9][0-9]*)x([1-9][0-9]*)$")
      message(FATAL_ERROR "repvk_add_shader_variants(${kernel}): block '${_block}' is not <px>x<oc>")
    endif()
    set(_px ${CMAKE_MATCH_1})
    set(_oc ${CMAKE_MATCH_2})
    list(APPEND _shapes "_${_block}|${_px}|${_oc}|0|0|PX=${_px}u,OC_BLOCK=${_oc}u")
    if(ARG_SUBGROUP)
      list(APPEND _shapes
           "_${_block}_sg${ARG_SUBGROUP}|${_px}|${_oc}|${ARG_SUBGROUP}|0|PX=${_px}u,OC_BLOCK=${_oc}u,SG_BCAST=${ARG_SUBGROUP}u")
    endif()
  endforeach()
  foreach(_imgs IN LISTS ARG_IMGS)
    list(APPEND _shapes "_${_imgs}|0|0|0|${_imgs}|IMGS=${_imgs}u")
  endforeach()
  if(NOT _shapes)
    list(APPEND _shapes "|0|0|0|0|")
  endif()

  set(_rows "")
  foreach(_shape IN LISTS _shapes)
    string(REPLACE "|" ";" _f "${_shape}")
    list(GET _f 0 _suffix)
    list(GET _f 1 _px)
    list(GET _f 2 _oc)
    list(GET _f 3 _sg)
    list(GET _f 4 _imgs)
    list(GET _f 5 _defs)
    string(REPLACE "," ";" _defs "${_defs}")
    foreach(_prec IN LISTS ARG_PRECISIONS)
      if(_prec STREQUAL "f16")
        set(_half true)
        set(_prec_defs ACT_FP16)
      elseif(_prec STREQUAL "f32")
        set(_half false)
        set(_prec_defs "")
      else()
        message(FATAL_ERROR "repvk_add_shader_variants(${kernel}): precision '${_prec}' is not f32 or f16")
      endif()
      set(_name ${kernel}${_suffix}_${_prec})
      repvk_add_shader(NAME ${_name} SOURCE ${ARG_SOURCE}
                       DEFINES ${ARG_DEFINES} ${_defs} ${_prec_defs})
      string(APPEND _rows "    {\"${_name}\", ${_px}, ${_oc}, ${_sg}, ${_imgs}, ${_half}},\n")
    endforeach()
  endforeach()
  set_property(GLOBAL APPEND PROPERTY REPVK_VARIANT_KERNELS "${kernel}")
  set_property(GLOBAL PROPERTY "REPVK_VARIANT_ROWS_${kernel}" "${_rows}")
endfunction()

function(repvk_write_shader_variants output)
  get_property(_kernels GLOBAL PROPERTY REPVK_VARIANT_KERNELS)
  set(_tables "")
  set(_all "")
  foreach(_k IN LISTS _kernels)
    # conv3x3_tiled -> kConv3x3Tiled
    string(REPLACE "_" ";" _parts "${_k}")
    set(_camel "")
    foreach(_p IN LISTS _parts)
      string(SUBSTRING "${_p}" 0 1 _first)
      string(TOUPPER "${_first}" _first)
      string(SUBSTRING "${_p}" 1 -1 _rest)
      string(APPEND _camel "${_first}${_rest}")
    endforeach()
    get_property(_rows GLOBAL PROPERTY "REPVK_VARIANT_ROWS_${_k}")
    string(APPEND _tables "inline constexpr ShaderVariant k${_camel}Rows[] = {\n${_rows}};\n"
           "inline constexpr VariantTable k${_camel}{\"${_k}\", k${_camel}Rows, std::size(k${_camel}Rows)};\n\n")
    string(APPEND _all "    k${_camel},\n")
  endforeach()
  configure_file("${CMAKE_CURRENT_FUNCTION_LIST_DIR}/shader_variants.h.in" "${output}" @ONLY)
endfunction()
