# SPDX-License-Identifier: MIT
# cmake -DBUILD_DIR=... -DEXAMPLES_DIR=... -DWORK_DIR=... -DLIBDIR=lib -DGENERATOR=...
#       -DCXX=... -DCC=... -DMODEL=... -DIMAGE=... -DEXPECT=... -P run_examples.cmake
# The programs of docs/embedding.md (examples/), as a user builds them: installs the
# library into WORK_DIR/prefix, builds examples/ with CMake against that prefix only,
# and classify.c a second time with the documented pkg-config command (rpath included,
# no LD_LIBRARY_PATH). Runs all three on IMAGE; each must print EXPECT first.
foreach(_v BUILD_DIR EXAMPLES_DIR WORK_DIR LIBDIR GENERATOR CXX CC MODEL IMAGE EXPECT)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "run_examples.cmake: ${_v} not set")
  endif()
endforeach()

function(run out_var)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  list(JOIN ARGN " " _cmd)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "failed (${_rc}): ${_cmd}\n${_out}")
  endif()
  message(STATUS "${_cmd}\n${_out}")
  set(${out_var} "${_out}" PARENT_SCOPE)
endfunction()

set(_prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
foreach(_component repvk_runtime repvk_development)
  run(_ "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${_prefix}" --component ${_component})
endforeach()
# The loader must not find a library anywhere but through the binaries' rpath.
unset(ENV{LD_LIBRARY_PATH})

run(_ "${CMAKE_COMMAND}" -S "${EXAMPLES_DIR}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
    -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${_prefix}"
    "-DCMAKE_CXX_COMPILER=${CXX}" "-DCMAKE_C_COMPILER=${CC}")
run(_ "${CMAKE_COMMAND}" --build "${WORK_DIR}/build")

# docs/embedding.md, "Install and link": the pkg-config line, word for word but the prefix.
find_program(_pkg_config pkg-config REQUIRED)
set(ENV{PKG_CONFIG_PATH} "${_prefix}/${LIBDIR}/pkgconfig")
run(_flags "${_pkg_config}" --cflags --libs repvk stb)
separate_arguments(_flags UNIX_COMMAND "${_flags}")
run(_ "${CC}" -std=c99 -Wall -Wextra -Wpedantic -Werror "${EXAMPLES_DIR}/classify.c"
    -o "${WORK_DIR}/classify_c_pkgconfig" ${_flags} "-Wl,-rpath,${_prefix}/${LIBDIR}")

set(_outputs "")
foreach(_exe "${WORK_DIR}/build/classify" "${WORK_DIR}/build/classify_c"
             "${WORK_DIR}/classify_c_pkgconfig")
  run(_out "${_exe}" "${MODEL}" "${IMAGE}")
  if(NOT _out MATCHES "^${EXPECT} [0-9]+\\.[0-9]%$")
    message(FATAL_ERROR "${_exe}: printed '${_out}', expected '${EXPECT} NN.N%'")
  endif()
  list(APPEND _outputs "${_out}")
endforeach()
# The same model on the same image through both APIs: the same probability.
list(REMOVE_DUPLICATES _outputs)
list(LENGTH _outputs _n)
if(NOT _n EQUAL 1)
  message(FATAL_ERROR "the C++ and C programs disagree: ${_outputs}")
endif()
