#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CI: what a real GPU compiler makes of the default pipelines, without a GPU.
# Runs `repvk shader-stats` on Mesa RADV's compile-only ("null") device for each AMD
# family below, on the small and A0 models at batch 1 and 16, and A0 at batch 1 planned
# for an H200's 132 compute units (igemm's split-K pipelines and its reduction), and
# fails on any register spill. Families Mesa does not know are reported and skipped; at least
# one must work. Output (JSON per run) goes to $1 (default build/shader-stats).
#   usage: scripts/ci_shader_stats.sh [OUTDIR]   (REPVK_BUILD_DIR picks the build)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${REPVK_BUILD_DIR:-build}"
repvk="$build/tools/cli/repvk"
out="${1:-$build/shader-stats}"
icd=/usr/share/vulkan/icd.d/radeon_icd.x86_64.json
families="${REPVK_STATS_FAMILIES:-navi21 gfx1100 polaris10}"
[ -x "$repvk" ] || { echo "ci_shader_stats: $repvk not built" >&2; exit 1; }
[ -f "$icd" ] || { echo "ci_shader_stats: $icd missing (apt-get install mesa-vulkan-drivers)" >&2; exit 1; }
mkdir -p "$out"
ran=0
for family in $families; do
  # Mesa falls back to no device for a family it does not know.
  if ! VK_ICD_FILENAMES=$icd RADV_FORCE_FAMILY=$family "$repvk" devices --json 2>/dev/null |
       grep -q '"runnable": false'; then
    echo "ci_shader_stats: Mesa offers no null device for RADV_FORCE_FAMILY=$family: skipped"
    continue
  fi
  for model in small A0; do
    for batch in 1 16; do
      f="$out/$family-$model-b$batch.json"
      VK_ICD_FILENAMES=$icd RADV_FORCE_FAMILY=$family \
        "$repvk" shader-stats --synthetic "$model" --batch "$batch" --json --fail-on-spill >"$f.tmp"
      mv "$f.tmp" "$f"
      echo "ci_shader_stats: $family $model batch $batch: $(grep -o '"spills": [0-9]*' "$f" | head -1)"
    done
  done
  f="$out/$family-A0-b1-cu132.json"
  VK_ICD_FILENAMES=$icd RADV_FORCE_FAMILY=$family \
    "$repvk" shader-stats --synthetic A0 --batch 1 --compute-units 132 --json --fail-on-spill >"$f.tmp"
  mv "$f.tmp" "$f"
  echo "ci_shader_stats: $family A0 batch 1, 132 compute units: $(grep -o '"spills": [0-9]*' "$f" | head -1)"
  ran=$((ran + 1))
done
[ "$ran" -gt 0 ] || { echo "ci_shader_stats: no RADV null device could be created" >&2; exit 1; }
