#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The library-boundary checks that need their own build folders, for .ci/run:
# the ThreadSanitizer run of the thread rules (scripts/ci_tsan.sh), then the ABI check
# against the last release's dump (scripts/ci_abi.sh) and its policy self-test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ci_tsan.sh
./scripts/ci_abi.sh
./scripts/ci_abi.sh --self-test
