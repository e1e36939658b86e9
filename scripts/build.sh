#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Configures and builds repvk (Release, warnings as errors) into ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${REPVK_BUILD_DIR:-build}"
GENERATOR=()
command -v ninja >/dev/null && GENERATOR=(-G Ninja)
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release -DREPVK_WERROR=ON
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
