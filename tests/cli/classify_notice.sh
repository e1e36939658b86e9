#!/bin/sh
# SPDX-License-Identifier: MIT
# `repvk classify` on a colour photo and a Fashion-MNIST sample together: both are
# classified; the model's expectation is said once, the photo gets one note saying
# what pre-processing did to it, and the sample (which suits the model) gets none.
# usage: classify_notice.sh REPVK MODEL PHOTO SAMPLE
set -u
repvk=$1 model=$2 photo=$3 sample=$4
fail() { printf '%s\n' "$out"; echo "FAIL: $*"; exit 1; }
out=$("$repvk" classify --cpu "$model" "$photo" "$sample" --top 1 2>&1) || fail "exit status $?"
count() { printf '%s\n' "$out" | grep -c -- "$1"; }
[ "$(count '^repvk: note: this model classifies 28x28 grayscale clothing images (Fashion-MNIST, 10 classes)$')" -eq 1 ] ||
  fail "the model's expectation is not said exactly once"
[ "$(count "^repvk: note: $photo: the 640x427 colour image was converted to gray and stretched to 28x28")" -eq 1 ] ||
  fail "no single note for the photo"
[ "$(count "note: .*$(basename "$sample")")" -eq 0 ] || fail "a note for the sample, which suits the model"
[ "$(count '^ *1\. ')" -eq 2 ] || fail "not both images classified"
printf '%s\n' "$out"
echo ok
