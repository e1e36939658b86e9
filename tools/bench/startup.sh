#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cold against warm start of `repvk classify`: process start to first result.
#
#   tools/bench/startup.sh [--rounds R] [MODEL.rpvk] [IMAGE]
#
# Cold: an empty cache folder (XDG_CACHE_HOME), so neither repvk's pipeline cache
# nor the driver's own shader cache (Mesa keeps one there) has anything. Warm: the
# same folder right after a run filled it. Prints the median of R rounds of each and
# the ratio. The user's real cache is never touched.
set -euo pipefail

main() {
  local root rounds=5 model="" image=""
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --rounds) rounds="$2"; shift 2 ;;
      -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return 0 ;;
      -*) echo "startup.sh: unknown option '$1' (see --help)" >&2; return 2 ;;
      *.rpvk) model="$1"; shift ;;
      *) image="$1"; shift ;;
    esac
  done
  [[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "startup.sh: --rounds '$rounds' is not a positive number" >&2; return 2; }
  local repvk="${REPVK_BUILD_DIR:-$root/build}/tools/cli/repvk"
  [[ -x "$repvk" ]] || { echo "startup.sh: $repvk is missing; run ./scripts/build.sh first" >&2; return 2; }
  image="${image:-$root/assets/samples/sample_000.png}"
  local args=(classify "$image")
  [[ -n "$model" ]] && args=(classify --model "$model" "$image")
  local cache
  cache="$(mktemp -d)"
  trap 'rm -rf "$cache"' RETURN
  local cold=() warm=() t0 t1
  for ((r = 0; r < rounds; r++)); do
    rm -rf "${cache:?}"/*
    t0=$(date +%s%N); XDG_CACHE_HOME="$cache" "$repvk" "${args[@]}" >/dev/null; t1=$(date +%s%N)
    cold+=($(( (t1 - t0) / 1000000 )))
    t0=$(date +%s%N); XDG_CACHE_HOME="$cache" "$repvk" "${args[@]}" >/dev/null; t1=$(date +%s%N)
    warm+=($(( (t1 - t0) / 1000000 )))
  done
  python3 - "${cold[*]}" "${warm[*]}" <<'PY'
import statistics, sys
cold = [int(v) for v in sys.argv[1].split()]
warm = [int(v) for v in sys.argv[2].split()]
c, w = statistics.median(cold), statistics.median(warm)
print(f"cold start: median {c:.0f} ms  (runs: {' '.join(map(str, cold))})")
print(f"warm start: median {w:.0f} ms  (runs: {' '.join(map(str, warm))})")
print(f"warm / cold = {w / c:.2f}")
PY
}

main "$@"
