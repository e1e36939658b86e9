#!/bin/sh
# SPDX-License-Identifier: MIT
# `repvk classify --verbose` and the pipeline cache file: created on the first run,
# loaded on the next; a truncated or corrupt file is ignored with a message naming
# the reason, the command still succeeds, and the file is rewritten so that the run
# after it loads again. Two runs at the same moment leave a file that loads.
# usage: pipeline_cache.sh REPVK MODEL IMAGE WORK_DIR
set -u
repvk=$1 model=$2 image=$3 work=$4
rm -rf "$work"
mkdir -p "$work"
cache=$work/pipelines.bin
fail() { echo "FAIL: $*"; exit 1; }
# expect REGEX: one run, which must exit 0 and print REGEX.
expect() {
  out=$("$repvk" classify "$model" "$image" --pipeline-cache "$cache" --verbose 2>&1)
  status=$?
  printf '%s\n' "$out"
  [ $status -eq 0 ] || fail "exit status $status"
  printf '%s\n' "$out" | grep -Eq -- "$1" || fail "output does not match /$1/"
}
expect "pipeline cache .*: none yet; it will be created"
[ -s "$cache" ] || fail "no cache written"
expect "pipeline cache .*: loaded [0-9]+ bytes"

size=$(wc -c <"$cache")
head -c $((size / 2)) "$cache" >"$work/cut" && mv "$work/cut" "$cache"
expect "ignored, truncated or damaged .*; it will be rewritten"
expect "pipeline cache .*: loaded"

printf 'not a cache at all, just text\n' >"$cache"
expect "ignored, not a repvk pipeline cache"
expect "pipeline cache .*: loaded"

"$repvk" classify "$model" "$image" --pipeline-cache "$cache" >"$work/a.log" 2>&1 &
a=$!
"$repvk" classify "$model" "$image" --pipeline-cache "$cache" >"$work/b.log" 2>&1 &
b=$!
wait $a || { cat "$work/a.log"; fail "concurrent run A"; }
wait $b || { cat "$work/b.log"; fail "concurrent run B"; }
expect "pipeline cache .*: loaded"
leftover=$(find "$work" -name '*.tmp*')
[ -z "$leftover" ] || fail "temp files left: $leftover"
echo ok
