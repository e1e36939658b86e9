#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fuzzes the model loader for a given time, longer than the 30 s ctest run, and
# prints how many executions it ran, the coverage it reached and what it found.
#
#   tools/fuzz/long.sh [SECONDS] [BUILD_DIR]     # defaults: 600 s, ./build
#
# Needs the libFuzzer target (built by the normal build when clang is installed:
# BUILD_DIR/tests/fuzz/fuzz_model_loader) and the seed corpus (made here with
# make_fuzz_corpus). New inputs accumulate in BUILD_DIR/tests/fuzz/long_corpus, so
# each run continues where the last stopped; crash reproducers go to
# BUILD_DIR/tests/fuzz/long_artifacts. Exit status: 0 = nothing found, 1 = a crash,
# leak or timeout was found (the reproducer path is printed), 2 = usage error.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_TO_RUN="${1:-600}"
BUILD_DIR="${2:-build}"
case "$SECONDS_TO_RUN" in ''|*[!0-9]*) echo "long.sh: SECONDS must be a whole number, got '$SECONDS_TO_RUN'" >&2; exit 2;; esac
FUZZ_DIR="$BUILD_DIR/tests/fuzz"
FUZZER="$FUZZ_DIR/fuzz_model_loader"
CORPUS_TOOL="$FUZZ_DIR/make_fuzz_corpus"
for f in "$FUZZER" "$CORPUS_TOOL"; do
  if [ ! -x "$f" ]; then
    echo "long.sh: $f not found; build first (cmake --build $BUILD_DIR --target fuzz_model_loader_build make_fuzz_corpus)" >&2
    exit 2
  fi
done
SEED="$FUZZ_DIR/seed_corpus"
WORK="$FUZZ_DIR/long_corpus"
ARTIFACTS="$FUZZ_DIR/long_artifacts"
LOG="$FUZZ_DIR/long.log"
mkdir -p "$WORK" "$ARTIFACTS"
"$CORPUS_TOOL" "$SEED" >/dev/null

echo "long.sh: fuzzing for ${SECONDS_TO_RUN} s (log: $LOG); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s)
rc=0
"$FUZZER" -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=2048 -timeout=10 \
  -artifact_prefix="$ARTIFACTS/" -print_final_stats=1 "$WORK" "$SEED" >"$LOG" 2>&1 || rc=$?
end=$(date +%s)

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$LOG" | tail -1)
cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$LOG" | tail -1 || true)
echo "long.sh: $((end - start)) s wall, ${execs:-?} executions (${rate:-?}/s), ${cov:-no coverage line}"
echo "long.sh: load after: $(cut -d' ' -f1-3 /proc/loadavg); corpus: $(find "$WORK" -type f | wc -l) files"
if [ "$rc" -ne 0 ]; then
  echo "long.sh: the fuzzer found a problem (exit $rc):" >&2
  grep -E '^==[0-9]+==ERROR|^SUMMARY|Test unit written to' "$LOG" >&2 || tail -20 "$LOG" >&2
  exit 1
fi
echo "long.sh: nothing found"
