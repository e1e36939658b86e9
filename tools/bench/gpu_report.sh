#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One GPU report (JSON + markdown) from a machine that has a GPU but no Vulkan SDK,
# no glslc and no package access: the Release binaries and the Debian packages they
# need are built and packed here, carried there, and run there.
#
#   tools/bench/gpu_report.sh --prepare        here: build Release (in $REPVK_BUILD_DIR,
#                                              default build-gpu-report/), pack .gpu-report/
#   tools/bench/gpu_report.sh OUTDIR           there (or here): run everything, write
#                                              OUTDIR/report.json and OUTDIR/report.md
#
# The pack (.gpu-report/, ignored by git; well under the 64 MiB carry limit) holds
# bin/repvk, bin/test_gpu, the .deb files of the Vulkan loader, the Khronos
# validation layer (the GPU tests run with it on) and libstb0 (repvk links it), and
# the commit plus a checksum of every tracked file, so that a report is never taken
# from binaries that do not match the tree they travelled with.
# Steps there: 1. check the pack against the tree; 2. GPU tests; 3. roofline;
# 4. bench small and A0, batch 1 and 16, every conv kernel in one run
# (--compare-conv), fp32 and 4-bit weights; 4b. A0 igemm with split-K (the chooser)
# and without, batch 1 and 16; 5. shader-stats. On a 16-core machine
# with a GPU it is meant to finish in well under 8 minutes. Each step is time-boxed,
# and all of them together by GPU_REPORT_BUDGET_S (default 480 s, inside the lent
# machine's 10-minute command limit with room for the copy back): a step that would
# start past the budget is recorded as skipped, so report.json/.md are always written.
# On the project's lent machine (at most 8 files come back from $OUT), with
# carry [".gpu-report"]:
#   tools/bench/gpu_report.sh /tmp/r; cp /tmp/r/report.json /tmp/r/report.md $OUT/;
#   tar czf $OUT/steps.tgz -C /tmp r
# GPU_REPORT_MODELS (default "small A0") and GPU_REPORT_TEST_FILTER (a gtest filter,
# default "*") narrow a run, e.g. for a smoke test on lavapipe. The tree sent to the lent
# machine is the checkout the session started in: prepare the pack in that checkout.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
pack="$root/.gpu-report"

die() { echo "gpu_report: $*" >&2; exit 1; }

prepare() {
  command -v apt-get >/dev/null || die "--prepare needs apt-get (Debian)"
  local build="${REPVK_BUILD_DIR:-$root/build-gpu-report}"
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DREPVK_WERROR=ON \
    -DREPVK_BUILD_TRAINER=OFF $(command -v ccache >/dev/null &&
      echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache) >/dev/null ||
    die "cmake configure failed"
  cmake --build "$build" --target repvk test_gpu -j"$(nproc)" || die "build failed"
  rm -rf "$pack.tmp" && mkdir -p "$pack.tmp/bin" "$pack.tmp/debs"
  cp "$build/tools/cli/repvk" "$build/tests/gpu/test_gpu" "$pack.tmp/bin/"
  (cd "$pack.tmp/debs" && apt-get download libvulkan1 vulkan-validationlayers libstb0) ||
    die "apt-get download failed"
  (cd "$root" && git rev-parse HEAD >"$pack.tmp/commit" &&
     git ls-files -z | xargs -0 sha256sum >"$pack.tmp/sources.sha256") || die "git failed"
  if [ -n "$(cd "$root" && git status --porcelain --untracked-files=no)" ]; then
    echo "gpu_report: warning: the tree has uncommitted changes; the pack checks files, not the commit" >&2
  fi
  rm -rf "$pack" && mv "$pack.tmp" "$pack"
  du -sh "$pack"
  echo "gpu_report: packed; carry .gpu-report and run: tools/bench/gpu_report.sh OUTDIR"
}

# Runs one step with a time limit, cut to what is left of the whole run's budget (less
# a reserve for the summary); its stdout goes to OUTDIR/NAME.out (JSON for every step),
# its stderr to OUTDIR/NAME.log. Records the status for the report: the exit code
# (124: stopped at its limit), or "skipped" when the budget was spent before it began.
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((deadline - SECONDS - 15))
  if [ "$left" -lt 10 ]; then
    echo "$name skipped 0" >>"$out/steps.txt"
    echo "gpu_report: $name: skipped (the ${budget} s budget is spent)"
    return
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  local t0=$SECONDS
  timeout -k 10 "$limit" "$@" >"$out/$name.out" 2>"$out/$name.log"
  local rc=$?
  echo "$name $rc $((SECONDS - t0))" >>"$out/steps.txt"
  echo "gpu_report: $name: exit $rc, $((SECONDS - t0)) s"
}

run_report() {
  out=$1
  mkdir -p "$out" || die "cannot create $out"
  out="$(cd "$out" && pwd)"
  : >"$out/steps.txt"
  budget=${GPU_REPORT_BUDGET_S:-480}
  [[ "$budget" =~ ^[0-9]+$ ]] || die "GPU_REPORT_BUDGET_S must be a whole number of seconds, got '$budget'"
  deadline=$((SECONDS + budget))
  [ -d "$pack" ] || die "no $pack: run --prepare where the tree was built, and carry .gpu-report"
  # 1. The pack must match the tree it came with.
  (cd "$root" && sha256sum --quiet -c "$pack/sources.sha256") >"$out/check.log" 2>&1 ||
    die "the tree differs from the one the pack was built from (see $out/check.log)"
  if git -C "$root" rev-parse HEAD >/dev/null 2>&1; then
    [ "$(git -C "$root" rev-parse HEAD)" = "$(cat "$pack/commit")" ] ||
      die "HEAD is $(git -C "$root" rev-parse HEAD), the pack was built at $(cat "$pack/commit")"
  fi
  # The carried libraries, unpacked beside the run, never into /.
  local sys=/tmp/gpu-report-root
  rm -rf "$sys" && mkdir -p "$sys"
  for f in "$pack"/debs/*.deb; do dpkg -x "$f" "$sys" || die "cannot unpack $f"; done
  export LD_LIBRARY_PATH="$sys/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export VK_LAYER_PATH="$sys/usr/share/vulkan/explicit_layer.d"
  # A fresh driver and pipeline cache (first-compile times are part of the report),
  # kept out of OUTDIR so that a tar of OUTDIR stays small.
  export XDG_CACHE_HOME="$sys/cache"
  local repvk="$pack/bin/repvk"
  # NVIDIA's ICD lives outside the standard paths on some containers: then the loader
  # finds no device, or only a CPU one (lavapipe) that the report would silently run on.
  if ! "$repvk" devices --json 2>/dev/null | grep -Eq '"type": *"(discrete|integrated|virtual)"'; then
    for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json; do
      [ -f "$icd" ] && export VK_DRIVER_FILES="$icd" && break
    done
  fi
  step devices 60 "$repvk" devices --json
  # 2. GPU tests (validation on, as in CI).
  step gpu_tests 240 "$pack/bin/test_gpu" --gtest_output="json:$out/gpu_tests.json" --gtest_brief=1 \
    --gtest_filter="${GPU_REPORT_TEST_FILTER:-*}"
  # 3. Roofline (with a small run attached, so it is checked against the CPU first).
  step roofline 90 "$repvk" bench --synthetic small --batch 16 --runs 5 --roofline --json
  # 4. Every conv kernel, interleaved, per model, batch and weight format.
  for model in ${GPU_REPORT_MODELS:-small A0}; do
    for batch in 1 16; do
      for w in fp32 q4; do
        local wflag=(--bits 4)
        [ "$w" = fp32 ] && wflag=(--fp32-weights)
        step "bench_${model}_b${batch}_${w}" 120 "$repvk" bench --synthetic "$model" \
          "${wflag[@]}" --batch "$batch" --runs 10 --warmup 2 --compare-conv --json
      done
    done
  done
  # 4b. igemm's split-K (the chooser, on the device's compute units) against igemm unsplit.
  for batch in 1 16; do
    for split in auto off; do
      local sflag=0
      [ "$split" = off ] && sflag=1
      step "splitk_A0_b${batch}_${split}" 120 "$repvk" bench --synthetic A0 --bits 4 \
        --batch "$batch" --runs 10 --warmup 2 --conv igemm --igemm-split-k "$sflag" --json
    done
  done
  # 5. What the driver's compiler made of the default pipelines.
  for model in ${GPU_REPORT_MODELS:-small A0}; do
    for batch in 1 16; do
      step "shader_stats_${model}_b${batch}" 60 "$repvk" shader-stats --synthetic "$model" \
        --batch "$batch" --json
    done
  done
  python3 "$root/tools/bench/gpu_report_summary.py" "$out" "$(cat "$pack/commit")"
  local rc=$?
  [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || die "the summary failed (exit $rc)"
  echo "gpu_report: wrote $out/report.json and $out/report.md"
  # Exit 1 when a step failed or was skipped: the report says which.
  [ "$rc" -eq 0 ] || { echo "gpu_report: some steps failed or were skipped (see report.md)" >&2; exit 1; }
}

case "${1:-}" in
  --prepare) prepare ;;
  ""|-h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; [ -n "${1:-}" ] ;;
  *) run_report "$1" ;;
esac
