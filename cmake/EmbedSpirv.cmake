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
