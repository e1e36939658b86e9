#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs a command that prints JSON, requires exit status 0, and feeds stdout to
# json_check with the given JSON pointers.
# usage: run_json.sh JSON_CHECK "POINTER [POINTER...]" COMMAND [ARG...]
checker=$1
pointers=$2
shift 2
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT
"$@" >"$tmp"
status=$?
cat "$tmp"
[ "$status" -eq 0 ] || { echo "FAIL: exit status $status"; exit 1; }
# $pointers is split on spaces on purpose.
# shellcheck disable=SC2086
"$checker" $pointers <"$tmp" || { echo "FAIL: JSON check"; exit 1; }
echo "ok"
