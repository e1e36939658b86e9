#!/bin/sh
# SPDX-License-Identifier: MIT
# Shows Mesa lavapipe reusing shader code compiled for another SIMD width: runs
# lavapipe_cache_width at FIRST bits (default 256), then at SECOND bits (default 128),
# with one fresh Mesa shader cache directory, then once more at SECOND bits with a
# cache of its own. On Mesa 22.3.6 the second run aborts with heap corruption
# ("malloc(): ...", status 134) or SIGSEGV (139); the third passes.
# usage: reproduce.sh PROGRAM [FIRST [SECOND]]
# Exit status: 1 if the shared-cache run failed while the own-cache run passed (the
# bug), 0 if every run passed (this Mesa is not affected), 2 for anything else.
program=$1 first=${2:-256} second=${3:-128}
[ -x "$program" ] || { echo "usage: reproduce.sh PROGRAM [FIRST [SECOND]]"; exit 2; }
cache=$(mktemp -d) || exit 2
trap 'rm -rf "$cache"' EXIT
unset MESA_SHADER_CACHE_DISABLE

run() {  # run WIDTH CACHE_DIR
  MESA_SHADER_CACHE_DIR=$2 LP_NATIVE_VECTOR_WIDTH=$1 "$program"
  status=$?
  echo "--- LP_NATIVE_VECTOR_WIDTH=$1, cache $(basename "$2"): exit status $status"
  return "$status"
}
run "$first" "$cache/shared" || { echo "the first run failed: nothing to compare"; exit 2; }
run "$second" "$cache/shared"
shared=$?
run "$second" "$cache/own" || { echo "failed even with a cache of its own: another problem"; exit 2; }
if [ "$shared" -ne 0 ]; then
  echo "REPRODUCED: code cached at $first bits broke the run at $second bits"
  exit 1
fi
echo "not reproduced: this Mesa keeps code for different widths apart"
exit 0
