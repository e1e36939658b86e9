#!/bin/sh
# SPDX-License-Identifier: MIT
# Two processes save one pipeline cache file at the same moment, each with two
# writer threads and a reader that checks every version it sees
# (PipelineCacheTest.ConcurrentWritersAlwaysLeaveAValidFile); then a third run
# must load the result, and no temp file may be left behind.
# usage: cache_two_processes.sh TEST_GPU WORK_DIR
set -u
test_gpu=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
export REPVK_SHARED_CACHE_PATH="$work/pipelines.bin"
filter=--gtest_filter=PipelineCacheTest.ConcurrentWritersAlwaysLeaveAValidFile
"$test_gpu" "$filter" >"$work/a.log" 2>&1 &
a=$!
"$test_gpu" "$filter" >"$work/b.log" 2>&1 &
b=$!
status=0
wait $a || { echo "FAIL: process A"; cat "$work/a.log"; status=1; }
wait $b || { echo "FAIL: process B"; cat "$work/b.log"; status=1; }
"$test_gpu" "$filter" >"$work/c.log" 2>&1 || { echo "FAIL: the cache they left"; cat "$work/c.log"; status=1; }
leftover=$(find "$work" -name '*.tmp*')
[ -z "$leftover" ] || { echo "FAIL: temp files left: $leftover"; status=1; }
[ $status -eq 0 ] && echo "ok: two processes, one valid cache"
exit $status
