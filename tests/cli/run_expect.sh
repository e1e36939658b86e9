#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs a command and checks BOTH its exit status and its output, which CTest's
# PASS_REGULAR_EXPRESSION alone cannot do (it ignores the exit status).
# usage: run_expect.sh STATUS REGEX COMMAND [ARG...]
#   STATUS: an exact exit status (0, 1, 2) or "nonzero"
#   REGEX:  extended regex that must match somewhere in stdout+stderr
expected=$1
regex=$2
shift 2
output=$("$@" 2>&1)
status=$?
printf '%s\n' "$output"
echo "--- exit status $status"
case $expected in
  nonzero) [ "$status" -ne 0 ] || { echo "FAIL: expected a non-zero exit status"; exit 1; } ;;
  *) [ "$status" -eq "$expected" ] || { echo "FAIL: expected exit status $expected"; exit 1; } ;;
esac
# A crash must never count as a clean failure.
[ "$status" -lt 128 ] || { echo "FAIL: killed by a signal"; exit 1; }
printf '%s\n' "$output" | grep -Eq -- "$regex" || { echo "FAIL: output does not match /$regex/"; exit 1; }
echo "ok"
