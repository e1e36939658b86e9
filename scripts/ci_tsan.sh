#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ThreadSanitizer run of the thread rules (tests/embed/threads.cpp): clang with
# -fsanitize=thread builds librepvk.so and the test in their own folder; the test runs
# 4 threads x 2 networks on one device (200 inferences per thread, checked against the
# CPU reference) and an adopted queue shared with the application's thread. Any report
# fails, except those inside the Vulkan driver and loader, which are not built with
# TSan; tests/embed/tsan.supp lists them, each with its reason.
#
#   scripts/ci_tsan.sh [--inferences N]     (default 200)
# Environment: REPVK_TSAN_BUILD_DIR (default build-tsan).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${REPVK_TSAN_BUILD_DIR:-build-tsan}
INFERENCES=200
if [ "${1:-}" = --inferences ]; then INFERENCES=$2; fi

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
mkdir -p "$BUILD"
echo "ci_tsan: configuring $BUILD (clang, -fsanitize=thread)"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREPVK_WERROR=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS="-fsanitize=thread" -DCMAKE_CXX_FLAGS="-fsanitize=thread" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" \
  -DREPVK_BUILD_FUZZ=OFF -DREPVK_BUILD_TRAINER=OFF "${launcher[@]}" >"$BUILD/configure.log" 2>&1 \
  || { cat "$BUILD/configure.log" >&2; exit 2; }
cmake --build "$BUILD" --target embed_threads -j "$(nproc)"

log="$BUILD/tsan-threads.log"
echo "ci_tsan: running embed_threads --inferences $INFERENCES (log: $log)"
rc=0
TSAN_OPTIONS="suppressions=$PWD/tests/embed/tsan.supp halt_on_error=0 exitcode=66 \
second_deadlock_stack=1 history_size=4 report_signal_unsafe=0 print_suppressions=1" \
  "$BUILD/tests/embed/embed_threads" --inferences "$INFERENCES" >"$log" 2>&1 || rc=$?
tail -n 5 "$log"
reports=$(grep -c "WARNING: ThreadSanitizer" "$log" || true)
suppressed=$(sed -n 's/^ThreadSanitizer: Matched \([0-9]*\) suppressions.*/\1/p' "$log" | head -1)
echo "ci_tsan: $reports race report(s), ${suppressed:-0} suppressed (driver/loader only)"
if [ "$rc" -ne 0 ] || [ "$reports" -ne 0 ]; then
  grep -A30 "WARNING: ThreadSanitizer" "$log" | head -120 >&2 || true
  echo "ci_tsan: FAILED (exit $rc)" >&2
  exit 1
fi
echo "ci_tsan: passed"
