# SPDX-License-Identifier: MIT
# Runs the loader fuzzer for a bounded time (ctest helper). New inputs go to WORK
# (kept across runs so coverage accumulates); SEED is read only; crash reproducers
# land in ARTIFACTS, inside the build tree.
foreach(var FUZZER WORK SEED ARTIFACTS SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzz.cmake: ${var} is not set")
  endif()
endforeach()
file(MAKE_DIRECTORY ${WORK} ${ARTIFACTS})
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -rss_limit_mb=2048 -timeout=10
          -artifact_prefix=${ARTIFACTS}/ -print_final_stats=1 ${WORK} ${SEED}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (${rc}); reproducers are in ${ARTIFACTS}")
endif()
