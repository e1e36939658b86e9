#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite on a fresh Debian 12 machine: install packages, build, run
# every test under CTest on Mesa's lavapipe with the Khronos validation layer on.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/build.sh
# No GPU is needed: tests run on whatever device is picked (lavapipe here). The soak
# tests (label `soak`, minutes of wall time) are left to .ci/run (docs/testing.md).
# $REPVK_JUNIT (CI): also write ctest's JUnit report there, with whole outputs, for
# scripts/ci_check_skips.py.
junit=()
if [ -n "${REPVK_JUNIT:-}" ]; then
  junit=(--output-junit "$REPVK_JUNIT" --test-output-size-passed 1048576)
fi
ctest --test-dir "${REPVK_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" -LE soak "${junit[@]}" "$@"
