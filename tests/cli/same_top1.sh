#!/bin/sh
# SPDX-License-Identifier: MIT
# Classifies the same images on the CPU reference with two models and requires the
# same top-1 class for every image (e.g. a model and its fp16-storage conversion).
# usage: same_top1.sh REPVK MODEL_A MODEL_B IMAGE...
repvk=$1
a=$2
b=$3
shift 3
top1() {
  out=$("$repvk" classify --cpu --top 1 "$@" 2>&1) || { printf '%s\n' "$out"; return 1; }
  printf '%s\n' "$out" | grep -E '^ +1\. '
}
ta=$(top1 "$a" "$@") || { echo "FAIL: classify with $a failed: $ta"; exit 1; }
tb=$(top1 "$b" "$@") || { echo "FAIL: classify with $b failed: $tb"; exit 1; }
printf '%s:\n%s\n%s:\n%s\n' "$a" "$ta" "$b" "$tb"
[ -n "$ta" ] || { echo "FAIL: no predictions"; exit 1; }
# Class names only: probabilities may differ in the last digit.
na=$(printf '%s\n' "$ta" | awk '{ $1 = ""; $NF = ""; print }')
nb=$(printf '%s\n' "$tb" | awk '{ $1 = ""; $NF = ""; print }')
[ "$na" = "$nb" ] || { echo "FAIL: top-1 classes differ"; exit 1; }
echo "ok"
