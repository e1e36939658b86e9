# SPDX-License-Identifier: MIT
# cmake -DBUILD_DIR=... -DCONSUMER_DIR=... -DWORK_DIR=... -DLIBDIR=lib -DGENERATOR=...
#       -DCXX=... -DCC=...
#       -P run_consumer.cmake
# Installs the library components of BUILD_DIR into WORK_DIR/prefix, then builds and
# runs the out-of-tree consumer in CONSUMER_DIR against that prefix only (CMake
# find_package, shared and static), and a C program through pkg-config.
foreach(_v BUILD_DIR CONSUMER_DIR WORK_DIR LIBDIR GENERATOR CXX CC)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "run_consumer.cmake: ${_v} not set")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    list(JOIN ARGN " " _cmd)
    message(FATAL_ERROR "failed (${_rc}): ${_cmd}")
  endif()
endfunction()

set(_prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
foreach(_component repvk_runtime repvk_development)
  run("${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${_prefix}" --component ${_component})
endforeach()

run("${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
    -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${_prefix}"
    "-DCMAKE_CXX_COMPILER=${CXX}" "-DCMAKE_C_COMPILER=${CC}")
run("${CMAKE_COMMAND}" --build "${WORK_DIR}/build")
run("${WORK_DIR}/build/consumer")
run("${WORK_DIR}/build/consumer_static")

# Non-CMake users: pkg-config alone must be enough to compile and link.
find_program(_pkg_config pkg-config REQUIRED)
set(ENV{PKG_CONFIG_PATH} "${_prefix}/${LIBDIR}/pkgconfig")
execute_process(COMMAND "${_pkg_config}" --cflags --libs repvk
  OUTPUT_VARIABLE _flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "pkg-config --cflags --libs repvk failed")
endif()
separate_arguments(_flags UNIX_COMMAND "${_flags}")
run("${CC}" -std=c99 -Wall -Wextra -Wpedantic -Werror "${CONSUMER_DIR}/pkgconfig_check.c"
    -o "${WORK_DIR}/pkgconfig_check" ${_flags})
set(ENV{LD_LIBRARY_PATH} "${_prefix}/${LIBDIR}")
run("${WORK_DIR}/pkgconfig_check")
