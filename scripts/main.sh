#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job on a fresh Debian 12 machine: install packages, build, then evaluate
# the bundled default model with the Vulkan engine: show it, classify a few bundled
# sample images, then measure its accuracy on the Fashion-MNIST test set (10,000 images).
# Extra arguments go to `repvk eval` (e.g. --limit 1000, --device 0, --fp32).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/build.sh
BIN="${REPVK_BUILD_DIR:-build}/tools/cli/repvk"
"$BIN" info
"$BIN" classify --top 3 assets/samples/sample_00{0,1,2,3}.png
"$BIN" eval "$@"
