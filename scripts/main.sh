#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install packages, build, then evaluate
# the bundled default model on the Fashion-MNIST test set with the Vulkan engine.
# Extra arguments go to `repvk eval` (e.g. --limit 1000, --device 0, --fp32).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/build.sh
BIN="${REPVK_BUILD_DIR:-build}/tools/cli/repvk"
"$BIN" info
"$BIN" eval "$@"
