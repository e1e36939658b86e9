#!/usr/bin/env bash
# Tests tools/reproduce/reproduce.sh and collect.py with stub trainer and engine
# binaries (the real ones take hours): the grid, the skipping of finished cells,
# resuming, two copies sharing one folder, and the engine/trainer mismatch check.
#   run_orchestration.sh SOURCE_ROOT WORK_DIR CASE
set -euo pipefail
src="$1" work="$2" case="$3"
here="$(cd "$(dirname "$0")" && pwd)"
rm -rf "$work"
mkdir -p "$work/build/tools/train" "$work/build/tools/cli" "$work/docs"
cp "$here/stub_repvk_train" "$work/build/tools/train/repvk-train"
cp "$here/stub_repvk" "$work/build/tools/cli/repvk"
export REPVK_BUILD_DIR="$work/build" STUB_LOG="$work/calls.log" REPRODUCE_POLL_SECONDS=1
touch "$STUB_LOG"
script="$src/tools/reproduce/reproduce.sh"
runs="$work/runs"
fail() { echo "FAIL: $*" >&2; exit 1; }
count() { grep -c "^$1 " "$STUB_LOG" || true; }
# Every call for the same folder must appear once.
no_repeats() {
  local dup
  dup="$(grep -v '^resume ' "$STUB_LOG" | sort | uniq -d)"
  [[ -z "$dup" ]] || fail "repeated work: $dup"
}
whole_grid() {
  [[ $(count train) == 2 ]] || fail "expected 2 base trainings, log has $(count train)"
  [[ $(count quantize) == 29 ]] || fail "expected 29 quantize cells (4 tuning + 25 grid), log has $(count quantize)"
  [[ $(count eval) == 27 ]] || fail "expected 27 engine evaluations, log has $(count eval)"
  no_repeats
}

case "$case" in
  two_copies)
    "$script" --out "$runs" --threads 1 --no-docs >"$work/forward.log" 2>&1 & a=$!
    "$script" --out "$runs" --threads 1 --no-docs --reverse >"$work/reverse.log" 2>&1 & b=$!
    wait $a || { cat "$work/forward.log"; fail "forward copy failed"; }
    wait $b || { cat "$work/reverse.log"; fail "reverse copy failed"; }
    whole_grid
    # Both copies did some of the grid: the sharing is real, not one copy doing it all.
    grep -q '^\[[0-9]*/31\] oabn/cluster1 ' "$work/reverse.log" || fail "reverse copy did not start from the end"
    for log in forward reverse; do
      [[ $(grep -c '^\[[0-9]*/31\] [a-z0-9/.-]*  (' "$work/$log.log") -ge 5 ]] || fail "the $log copy did under 5 cells"
      [[ $(grep -c '^\[eval ' "$work/$log.log") -ge 5 ]] || fail "the $log copy did under 5 evaluations"
    done
    ls "$runs"/*/*.lock "$runs"/*/*.eval.lock 2>/dev/null && fail "locks left behind"
    # The table is whole and every figure in it is the engine's.
    printf '# Results\n\nprose kept\n' >"$work/docs/results.md"
    python3 "$src/tools/reproduce/collect.py" --runs "$runs" --docs "$work/docs" --settings stub
    grep -q 'prose kept' "$work/docs/results.md" || fail "collect.py dropped the hand-written text"
    ! grep -q pending "$work/docs/results.md" || fail "table has pending cells"
    python3 - "$work/docs/results.json" "$runs" <<'PY' || fail "results.json does not hold the engine's figures"
import json, sys
r = json.load(open(sys.argv[1]))
cells = r["cells"]
assert len(cells) == 27 and all(c["done"] for c in cells.values()), "cells missing"
for name, c in cells.items():
    t = json.load(open(f"{sys.argv[2]}/{name}/result.json"))["test_accuracy"]
    assert abs(c["engine_accuracy"] - t) < 1e-9, name
assert r["trainer_core_seconds"] >= 0 and len(r["tuning"]) == 4
PY
    ;;
  rerun_is_noop)
    "$script" --out "$runs" --no-docs >"$work/first.log" 2>&1 || { cat "$work/first.log"; fail "first run failed"; }
    : >"$STUB_LOG"
    "$script" --out "$runs" --no-docs >"$work/second.log" 2>&1 || { cat "$work/second.log"; fail "second run failed"; }
    [[ ! -s "$STUB_LOG" ]] || fail "a finished grid was worked on again: $(head -3 "$STUB_LOG")"
    [[ $(grep -c ': done$' "$work/second.log") == 31 ]] || fail "not every cell reported done"
    ;;
  resume)
    STUB_FAIL_TRAIN=oabn/fp32 "$script" --out "$runs" --no-docs >"$work/first.log" 2>&1 \
      && fail "the run went on past a failed training"
    [[ ! -d "$runs/oabn/fp32.lock" ]] || fail "the failed cell's lock was left behind"
    "$script" --out "$runs" --no-docs >"$work/second.log" 2>&1 || { cat "$work/second.log"; fail "second run failed"; }
    grep -q "^resume $runs/oabn/fp32\$" "$STUB_LOG" || fail "the interrupted cell was not resumed from its checkpoint"
    whole_grid
    ;;
  mismatch)
    if STUB_SKEW=0.001 "$script" --out "$runs" --no-docs >"$work/run.log" 2>&1; then
      fail "a 0.1-point engine/trainer difference was not reported"
    fi
    grep -q 'differ by 0.100 points' "$work/run.log" || { cat "$work/run.log"; fail "mismatch message missing"; }
    ;;
  bad_args)
    if "$script" --threads two >"$work/run.log" 2>&1; then fail "--threads two accepted"; fi
    grep -q "threads 'two' is not a number" "$work/run.log" || fail "unclear message: $(cat "$work/run.log")"
    if "$script" --bogus >"$work/run.log" 2>&1; then fail "--bogus accepted"; fi
    grep -q "unknown argument '--bogus'" "$work/run.log" || fail "unclear message: $(cat "$work/run.log")"
    REPVK_BUILD_DIR="$work/nowhere" "$script" >"$work/run.log" 2>&1 && fail "missing binaries accepted"
    grep -q "is missing; run ./scripts/build.sh first" "$work/run.log" || fail "unclear message: $(cat "$work/run.log")"
    ;;
  *) fail "unknown case $case" ;;
esac
echo "PASS $case"
