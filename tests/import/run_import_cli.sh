#!/bin/sh
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
echo ok
