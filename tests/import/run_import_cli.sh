#!/bin/sh
# SPDX-License-Identifier: MIT
# `repvk-train import` from the command line: a good checkpoint writes a model and a
# summary; a bad one exits with status 2, names the problem and leaves no file behind.
# usage: run_import_cli.sh REPVK_TRAIN FIXTURE_DIR WORK_DIR REPVK
set -u
train=$1 fixtures=$2 work=$3 repvk=$4
rm -rf "$work" && mkdir -p "$work" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

out=$("$train" import --pytorch "$fixtures/small-train.pth" --arch small --out "$work/small.rpvk" 2>&1)
status=$?
printf '%s\n' "$out"
[ "$status" -eq 0 ] || fail "good import exited $status"
[ -s "$work/small.rpvk" ] || fail "no model written"
printf '%s\n' "$out" | grep -q "training form" || fail "summary does not name the form"
printf '%s\n' "$out" | grep -q "depths 1,2,2,2,1, widths 16,32,64,128,256, strides 1,2,2,2,1" || fail "summary lacks the architecture"

for bad in bad-truncated bad-missing bad-legacy; do
  out=$("$train" import --pytorch "$fixtures/$bad.pth" --out "$work/$bad.rpvk" 2>&1)
  status=$?
  printf '%s\n' "$out"
  [ "$status" -eq 2 ] || fail "$bad: exit status $status, expected 2"
  printf '%s\n' "$out" | grep -q "error: .*$bad.pth" || fail "$bad: the error does not name the file"
  ls "$work" | grep -q "$bad" && fail "$bad: something was left behind: $(ls "$work")"
done
# A failed import leaves an existing output untouched.
cp "$work/small.rpvk" "$work/keep.rpvk"
"$train" import --pytorch "$fixtures/bad-shape.pth" --out "$work/small.rpvk" >/dev/null 2>&1 && fail "bad-shape accepted"
cmp -s "$work/small.rpvk" "$work/keep.rpvk" || fail "a failed import changed the existing output"
# An imported A0 costs 1.36 G multiply-adds per image (the paper's 1.4 G).
"$train" import --pytorch "$fixtures/A0-deploy.pth" --arch A0 --out "$work/a0.rpvk" >/dev/null || fail "A0 import"
out=$("$repvk" info "$work/a0.rpvk" 2>&1) || fail "repvk info failed"
printf '%s\n' "$out" | tail -1
printf '%s\n' "$out" | grep -q "(1\.36 G multiply-adds)" || fail "repvk info does not show 1.36 G multiply-adds"
# ONNX (with python3-onnx fixtures and an ONNX-enabled repvk-train).
if [ -f "$fixtures/small-train-bn.onnx" ]; then
  out=$("$train" import --onnx "$fixtures/small-train-bn.onnx" --arch small --out "$work/small-onnx.rpvk" 2>&1)
  status=$?
  printf '%s\n' "$out"
  if printf '%s\n' "$out" | grep -q "built without ONNX support"; then
    echo "skip: ONNX part (repvk-train built without libonnx-dev)"
  else
    [ "$status" -eq 0 ] || fail "ONNX import exited $status"
    [ -s "$work/small-onnx.rpvk" ] || fail "no model written from ONNX"
    printf '%s\n' "$out" | grep -q "training form (.* BatchNormalization merged)" || fail "ONNX summary does not name the form"
    printf '%s\n' "$out" | grep -q "strides 1,2,2,2,1, 10 classes" || fail "ONNX summary lacks the strides"
    printf '%s\n' "$out" | grep -q "input       1x28x28" || fail "ONNX summary lacks the input size from the graph"
    for bad in bad-onnx-truncated bad-onnx-missing-initializer bad-onnx-unsupported-op; do
      out=$("$train" import --onnx "$fixtures/$bad.onnx" --out "$work/$bad.rpvk" 2>&1)
      status=$?
      printf '%s\n' "$out"
      [ "$status" -eq 2 ] || fail "$bad: exit status $status, expected 2"
      printf '%s\n' "$out" | grep -q "error: .*$bad.onnx" || fail "$bad: the error does not name the file"
      ls "$work" | grep -q "$bad" && fail "$bad: something was left behind: $(ls "$work")"
    done
    "$train" import --onnx "$fixtures/bad-onnx-shape.onnx" --out "$work/small.rpvk" >/dev/null 2>&1 && fail "bad-onnx-shape accepted"
    cmp -s "$work/small.rpvk" "$work/keep.rpvk" || fail "a failed ONNX import changed the existing output"
    "$train" import --pytorch "$fixtures/small-train.pth" --onnx "$fixtures/small-train.onnx" --out "$work/x.rpvk" \
      >/dev/null 2>&1 && fail "--pytorch and --onnx together accepted"
  fi
fi
# Input description from flags: labels, resize + centre crop (default 256 for 224), and
# `repvk classify` on a photo prints the top classes by name.
i=0; : >"$work/labels.txt"
while [ $i -lt 1000 ]; do echo "label_$i thing" >>"$work/labels.txt"; i=$((i + 1)); done
out=$("$train" import --pytorch "$fixtures/A0-deploy.pth" --arch A0 --labels "$work/labels.txt" \
      --out "$work/a0-named.rpvk" 2>&1) || fail "A0 import with labels: $out"
printf '%s\n' "$out"
printf '%s\n' "$out" | grep -q "^resize      shorter side to 256 px (bilinear), centre crop 224x224" || fail "summary lacks the resize"
printf '%s\n' "$out" | grep -q "^classes     1000 from .*labels.txt: label_0 thing, label_1 thing, ..." || fail "summary lacks the labels"
out=$("$repvk" info "$work/a0-named.rpvk" 2>&1) || fail "repvk info failed"
printf '%s\n' "$out" | grep -q "^resize:  shorter side to 256 px (bilinear), then centre crop 224x224" || fail "info lacks the resize"
photo=$(dirname "$0")/../../assets/photos/landscape.jpg
out=$("$repvk" classify "$work/a0-named.rpvk" "$photo" --top 3 2>&1) || fail "classify failed: $out"
printf '%s\n' "$out"
[ "$(printf '%s\n' "$out" | grep -c '^ *[123]\. label_[0-9]* thing ')" -eq 3 ] || fail "classify does not print 3 named classes"
printf '%s\n' "$out" | grep -q "landscape.jpg (640x427 RGB)" || fail "classify does not describe the photo"
# --resize none stretches; bad values and a short labels file are refused, naming the flag.
"$train" import --pytorch "$fixtures/A0-deploy.pth" --arch A0 --resize none --out "$work/a0-stretch.rpvk" >"$work/log" 2>&1 || fail "--resize none"
grep -q "^resize      whole image stretched to 224x224" "$work/log" || fail "--resize none summary"
"$repvk" info "$work/a0-stretch.rpvk" | grep -q "^resize:  whole image stretched" || fail "info of a stretch model"
for bad in 100 abc 5000; do
  out=$("$train" import --pytorch "$fixtures/A0-deploy.pth" --arch A0 --resize $bad --out "$work/bad-resize.rpvk" 2>&1)
  [ $? -eq 2 ] || fail "--resize $bad accepted"
  printf '%s\n' "$out" | grep -q "error: --resize" || fail "--resize $bad: error does not name the flag: $out"
done
head -n 999 "$work/labels.txt" >"$work/short.txt"
out=$("$train" import --pytorch "$fixtures/A0-deploy.pth" --arch A0 --labels "$work/short.txt" --out "$work/bad-labels.rpvk" 2>&1)
[ $? -eq 2 ] || fail "a 999-line labels file accepted"
printf '%s\n' "$out" | grep -q "999 lines but the checkpoint has 1000 classes" || fail "labels error: $out"
ls "$work" | grep -q "bad-" && fail "a refused import left a file: $(ls "$work")"
# ClusterQAT fine-tuning starts from an imported model (quantize --model): a few steps
# on Fashion-MNIST write a 4-bit model the engine reads.
if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte ] ||
   [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  out=$("$train" quantize --model "$work/small.rpvk" --method cluster --bits 4 --epochs 1 \
        --steps-per-epoch 2 --val 200 --threads 1 --no-progress --out "$work/ft" \
        --export "$work/ft/model.rpvk" 2>&1) || fail "quantize --model on an imported model: $out"
  printf '%s\n' "$out" | tail -2
  "$repvk" info "$work/ft/model.rpvk" | grep -q "4-bit channel" || fail "the fine-tuned import is not 4-bit"
else
  echo "skip: fine-tuning an import (Fashion-MNIST not installed)"
fi
echo ok
