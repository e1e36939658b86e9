#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs repvk-demo under a virtual X server on the Vulkan CPU driver with validation on,
# writes a screenshot, and checks: exit status 0, no validation message, the PNG's size
# and content, and (when IMAGE is given) that the label equals `repvk classify`'s.
# usage: run_demo.sh DEMO REPVK CHECK WORK NAME W H IMAGE|- MODEL|- [DEMO ARG...]
# $DEMO_EXPECT, when set, is an extended regex the JSON or stderr must match.
# Exits 77 (ctest SKIP_RETURN_CODE) only when no X server can be started.
demo=$1 repvk=$2 check=$3 work=$4 name=$5 width=$6 height=$7 image=$8 model=$9
shift 9
mkdir -p "$work"
export XDG_CACHE_HOME="$work/cache"  # pipeline caches stay out of the user's home
unset WAYLAND_DISPLAY

if ! command -v xvfb-run >/dev/null 2>&1 || ! command -v Xvfb >/dev/null 2>&1; then
  echo "SKIP: Xvfb/xvfb-run not installed (Debian: apt-get install xvfb xauth)"
  exit 77
fi
if ! xvfb-run -a true >/dev/null 2>&1; then
  echo "SKIP: xvfb-run cannot start an X server here"
  exit 77
fi

png="$work/$name.png" json="$work/$name.json" err="$work/$name.err"
rm -f "$png" "$json"
set -- --validation --json --screenshot "$png" "$@"
[ "$model" = "-" ] || set -- "$@" --model "$model"
[ "$image" = "-" ] || set -- "$@" "$image"
echo "+ xvfb-run -a $demo $*"
xvfb-run -a -s "-screen 0 1600x1200x24" "$demo" "$@" >"$json" 2>"$err"
status=$?
cat "$err"
cat "$json"
echo "--- exit status $status"
[ "$status" -eq 0 ] || { echo "FAIL: repvk-demo exited with $status"; exit 1; }
if grep -q "validation" "$err"; then echo "FAIL: validation messages above"; exit 1; fi
grep -q '"validation_messages": 0' "$json" || { echo "FAIL: JSON does not report 0 validation messages"; exit 1; }
"$check" png "$png" "$width" "$height" || exit 1
if [ -n "$DEMO_EXPECT" ] && ! grep -Eq -- "$DEMO_EXPECT" "$json" "$err"; then
  echo "FAIL: output does not match /$DEMO_EXPECT/"; exit 1
fi

if [ "$image" != "-" ]; then
  cli="$work/$name.classify.json"
  set -- classify --json
  [ "$model" = "-" ] || set -- "$@" "$model"
  REPVK_VALIDATION=1 "$repvk" "$@" "$image" >"$cli" || { echo "FAIL: repvk classify failed"; exit 1; }
  "$check" label "$json" "$cli" || exit 1
fi
echo ok
