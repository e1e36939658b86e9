#!/usr/bin/env bash
# Data-parallel training throughput of repvk-train on this machine: the small preset
# on Fashion-MNIST, global batch 128, three configurations run in alternation so a
# changing load hits them alike:
#   --nproc 1 --threads 1,  --nproc 1 --threads 2,  --nproc 2 --threads 1
#
#   tools/bench/dist_throughput.sh [--rounds R] [--steps S] [--extra "FLAGS"]
#
# Each run trains S steps (one capped epoch, no validation hold-out) and reports the
# epoch's images/s from its log; startup, data loading and the final evaluation are
# outside that figure. Prints every run, `uptime` before each round, and the median
# per configuration with the ratios the docs quote. Runs go to a temporary folder.
set -euo pipefail

main() {
  local root rounds=3 steps=40 extra=""
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --rounds) rounds="$2"; shift 2 ;;
      --steps) steps="$2"; shift 2 ;;
      --extra) extra="$2"; shift 2 ;;
      -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return 0 ;;
      *) echo "dist_throughput.sh: unknown option '$1' (see --help)" >&2; return 2 ;;
    esac
  done
  [[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "dist_throughput.sh: --rounds must be a positive number" >&2; return 2; }
  [[ "$steps" =~ ^[1-9][0-9]*$ ]] || { echo "dist_throughput.sh: --steps must be a positive number" >&2; return 2; }
  local trainer="${REPVK_BUILD_DIR:-$root/build}/tools/train/repvk-train"
  [[ -x "$trainer" ]] || { echo "dist_throughput.sh: $trainer is missing; build repvk-train first" >&2; return 2; }
  tmp=""  # global: the EXIT trap runs after main returns
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  local configs=("1 1" "1 2" "2 1")
  declare -A results
  echo "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) cores, steps $steps, rounds $rounds"
  for ((r = 1; r <= rounds; r++)); do
    echo "round $r: $(uptime)"
    for c in "${configs[@]}"; do
      read -r np th <<<"$c"
      local out="$tmp/r$r-n$np-t$th"
      # shellcheck disable=SC2086
      "$trainer" train --preset small --norm bn --batch 128 --epochs 1 --steps-per-epoch "$steps" \
        --val 0 --no-progress --nproc "$np" --threads "$th" --out "$out" $extra >"$out.txt" 2>&1 ||
        { echo "run failed: nproc $np threads $th (log: $out.txt)"; cat "$out.txt"; return 1; }
      local ips
      ips="$(grep -o 'epoch 1/1 .* \([0-9]*\) img/s' "$out.txt" | head -1 | sed 's/.* \([0-9]*\) img\/s/\1/')"
      echo "  nproc $np threads $th: $ips img/s"
      results["$np $th"]+="$ips "
    done
  done
  local m11 m12 m21
  median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  m11="$(median "${results["1 1"]}")"; m12="$(median "${results["1 2"]}")"; m21="$(median "${results["2 1"]}")"
  echo "median img/s: nproc 1 threads 1: $m11; nproc 1 threads 2: $m12; nproc 2 threads 1: $m21"
  awk -v a="$m11" -v b="$m12" -v c="$m21" 'BEGIN {printf "nproc 2 / (nproc 1, 1 thread) = %.2fx; nproc 2 / (nproc 1, 2 threads) = %.2fx\n", c / a, c / b}'
  echo "after: $(uptime)"
}

main "$@"
