#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The same merged network timed by repvk (Vulkan) and by libtorch on the CPU, in one
# run, alternating so that background load hits both alike; prints both and the ratio.
#
#   tools/bench/vs_libtorch.sh [MODEL.rpvk|--synthetic PRESET] [--batch N] [--rounds R]
#                              [--threads T]
#
# MODEL defaults to the bundled model. libtorch reads the file through the trainer's
# reader (repvk-train infer-bench), so both run exactly the weights in the file, the
# codebooks decoded to fp32 on the libtorch side. --threads T sets libtorch's thread
# count and, on lavapipe, LP_NUM_THREADS, so both get the same cores (default: all).
# Needs a build with the trainer (libtorch found); see README.
set -euo pipefail

main() {
  local root build model="" synthetic="" batch=16 rounds=3 threads=0
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  build="${REPVK_BUILD_DIR:-$root/build}"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --synthetic) synthetic="$2"; shift 2 ;;
      --batch) batch="$2"; shift 2 ;;
      --rounds) rounds="$2"; shift 2 ;;
      --threads) threads="$2"; shift 2 ;;
      -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return 0 ;;
      -*) echo "vs_libtorch.sh: unknown option '$1' (see --help)" >&2; return 2 ;;
      *) model="$1"; shift ;;
    esac
  done
  local repvk="$build/tools/cli/repvk" train="$build/tools/train/repvk-train"
  for exe in "$repvk" "$train"; do
    [[ -x "$exe" ]] || { echo "vs_libtorch.sh: $exe is missing; build with the trainer first" >&2; return 2; }
  done
  for v in "$batch" "$rounds" "$threads"; do
    [[ "$v" =~ ^[0-9]+$ ]] || { echo "vs_libtorch.sh: '$v' is not a number" >&2; return 2; }
  done
  local tmp
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  if [[ -n "$synthetic" ]]; then
    model="$tmp/synthetic.rpvk"
    "$repvk" make-model "$model" --synthetic "$synthetic" --bits 4 >/dev/null
  elif [[ -z "$model" ]]; then
    model="$root/assets/models/default.rpvk"
  fi
  [[ -f "$model" ]] || { echo "vs_libtorch.sh: no model file at '$model' (name one, or use --synthetic small)" >&2; return 2; }
  local lp=() tt=()
  if [[ "$threads" != 0 ]]; then lp=(env "LP_NUM_THREADS=$threads"); tt=(--threads "$threads"); fi
  for ((r = 1; r <= rounds; r++)); do
    "${lp[@]}" "$repvk" bench "$model" --batch "$batch" --runs 10 --warmup 2 --json >"$tmp/repvk$r.json"
    "$train" infer-bench "$model" --batch "$batch" --runs 10 --warmup 2 "${tt[@]}" --json \
      2>/dev/null >"$tmp/torch$r.json"
  done
  python3 - "$tmp" "$rounds" "$model" <<'PY'
import json, statistics, sys
tmp, rounds, model = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rv = [json.load(open(f"{tmp}/repvk{r}.json")) for r in range(1, rounds + 1)]
tv = [json.load(open(f"{tmp}/torch{r}.json")) for r in range(1, rounds + 1)]
r_ips = statistics.median(x["images_per_second"] for x in rv)
t_ips = statistics.median(x["images_per_second"] for x in tv)
print(f"model:    {model} (batch {rv[0]['batch']}, {rounds} alternating rounds, median of rounds)")
print(f"repvk:    {r_ips:9.1f} images/s on {rv[0]['device']} ({rv[0]['precision']}, conv {rv[0]['conv_algorithm']})")
print(f"libtorch: {t_ips:9.1f} images/s ({tv[0]['engine']}, {tv[0]['device']}, {tv[0]['threads']} thread(s))")
print(f"ratio:    repvk / libtorch = {r_ips / t_ips:.2f}")
PY
}

main "$@"
