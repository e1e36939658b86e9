#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs run_demo.sh once per lavapipe SIMD width in WIDTHS, in order, with one work
# directory, so every run shares one $XDG_CACHE_HOME and with it Mesa's on-disk shader
# cache. Mesa 22.3 does not key that cache by LP_NATIVE_VECTOR_WIDTH: without the
# demo's workaround (tools/demo/driver_workarounds.cpp) vertex shader code compiled
# 8 lanes wide is reused 4 wide and overruns a heap buffer (the run at 128 after the
# default one aborts), and any draw at 512 crashes lavapipe's JIT.
# usage: run_widths.sh RUN_DEMO DEMO REPVK CHECK WORK NAME W H IMAGE|- MODEL|- [DEMO ARG...]
#        RUN_DEMO is run_demo.sh; the rest are its arguments, NAME gets a per-run suffix.
# $WIDTHS: LP_NATIVE_VECTOR_WIDTH values in run order ("default" leaves it unset).
# Exits 77 (skip) when run_demo.sh does, i.e. without an X server.
run_demo=$1 demo=$2 repvk=$3 check=$4 work=$5 name=$6
shift 6
rm -rf "$work"
step=0
for width in ${WIDTHS:-default 128 512 default}; do
  step=$((step + 1))
  echo "=== run $step: LP_NATIVE_VECTOR_WIDTH=$width"
  if [ "$width" = default ]; then
    env -u LP_NATIVE_VECTOR_WIDTH sh "$run_demo" "$demo" "$repvk" "$check" "$work" \
      "${name}_${step}_$width" "$@"
  else
    LP_NATIVE_VECTOR_WIDTH=$width sh "$run_demo" "$demo" "$repvk" "$check" "$work" \
      "${name}_${step}_$width" "$@"
  fi
  status=$?
  [ "$status" -eq 0 ] || { echo "FAIL: run $step (LP_NATIVE_VECTOR_WIDTH=$width)"; exit "$status"; }
done
echo ok
