#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Data-parallel training throughput of repvk-train on this machine: the small preset
# on Fashion-MNIST, global batch 128, four configurations run in alternation so a
# changing load hits them alike:
#   --nproc 1 --threads 1,  --nproc 1 --threads 2,  --nproc 2 --threads 1,
#   and two independent --nproc 1 --threads 1 runs at once (their images/s summed):
#   the machine's own ceiling for two busy cores, with no communication at all.
#
#   tools/bench/dist_throughput.sh [--rounds R] [--steps S] [--extra "FLAGS"]
#
# Each run trains S steps (one capped epoch, no validation hold-out) and reports the
# epoch's images/s from its log; startup, data loading and the final evaluation are
# outside that figure. Prints every run, `uptime` before each round, and the median
# per configuration with the ratios the docs quote. Runs go to a temporary folder.
set -euo pipefail

# run_one OUT NPROC THREADS: one capped epoch; the log goes to OUT.txt.
run_one() {
  # shellcheck disable=SC2086
  "$trainer" train --preset small --norm bn --batch 128 --epochs 1 --steps-per-epoch "$steps" \
    --val 0 --no-progress --nproc "$2" --threads "$3" --out "$1" $extra >"$1.txt" 2>&1 ||
    { echo "run failed: nproc $2 threads $3 (log: $1.txt)"; cat "$1.txt"; return 1; }
}

# The epoch's images/s from a run's log.
images_per_s() {
  grep -o 'epoch 1/1 .* \([0-9]*\) img/s' "$1" | head -1 | sed 's/.* \([0-9]*\) img\/s/\1/'
}

main() {
  local root rounds=3
  steps=40 extra=""  # globals: run_one reads them
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --rounds) rounds="$2"; shift 2 ;;
      --steps) steps="$2"; shift 2 ;;
      --extra) extra="$2"; shift 2 ;;
      -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return 0 ;;
      *) echo "dist_throughput.sh: unknown option '$1' (see --help)" >&2; return 2 ;;
    esac
  done
  [[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "dist_throughput.sh: --rounds must be a positive number" >&2; return 2; }
  [[ "$steps" =~ ^[1-9][0-9]*$ ]] || { echo "dist_throughput.sh: --steps must be a positive number" >&2; return 2; }
  trainer="${REPVK_BUILD_DIR:-$root/build}/tools/train/repvk-train"  # global, for run_one
  [[ -x "$trainer" ]] || { echo "dist_throughput.sh: $trainer is missing; build repvk-train first" >&2; return 2; }
  tmp=""  # global: the EXIT trap runs after main returns
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  local configs=("1 1" "1 2" "2 1" "pair 1")
  declare -A results
  echo "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) cores, steps $steps, rounds $rounds"
  for ((r = 1; r <= rounds; r++)); do
    echo "round $r: $(uptime)"
    for c in "${configs[@]}"; do
      read -r np th <<<"$c"
      local ips
      if [[ $np == pair ]]; then
        # Two single-process runs side by side: what two cores give with no coupling.
        run_one "$tmp/r$r-pair-a" 1 1 & local pa=$!
        run_one "$tmp/r$r-pair-b" 1 1 & local pb=$!
        wait $pa && wait $pb || return 1
        ips=$(( $(images_per_s "$tmp/r$r-pair-a.txt") + $(images_per_s "$tmp/r$r-pair-b.txt") ))
        echo "  two independent nproc 1 threads 1 runs: $ips img/s together"
      else
        run_one "$tmp/r$r-n$np-t$th" "$np" "$th" || return 1
        ips="$(images_per_s "$tmp/r$r-n$np-t$th.txt")"
        echo "  nproc $np threads $th: $ips img/s"
      fi
      results["$np $th"]+="$ips "
    done
  done
  local m11 m12 m21 mpair
  median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  m11="$(median "${results["1 1"]}")"; m12="$(median "${results["1 2"]}")"
  m21="$(median "${results["2 1"]}")"; mpair="$(median "${results["pair 1"]}")"
  echo "median img/s: nproc 1 threads 1: $m11; nproc 1 threads 2: $m12; nproc 2 threads 1: $m21; two independent runs: $mpair"
  awk -v a="$m11" -v b="$m12" -v c="$m21" -v d="$mpair" 'BEGIN {
    printf "nproc 2 / (nproc 1, 1 thread) = %.2fx; nproc 2 / (nproc 1, 2 threads) = %.2fx\n", c / a, c / b
    printf "two cores give %.2fx one core with no communication; nproc 2 reaches %.0f%% of that\n", d / a, 100 * c / d }'
  echo "after: $(uptime)"
}

main "$@"
