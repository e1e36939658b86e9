#!/bin/sh
# SPDX-License-Identifier: MIT
# `repvk bench --json` carries what a result needs to be compared, with the right
# values: the model file's SHA-256 (checked against sha256sum), repvk's version and
# the checkout's commit, the driver and Vulkan API of the device `repvk devices`
# selects, the OS, and the kernel/precision/fp16-math choices that were forced.
# `--report` writes the results table's header and one row with the same values.
# usage: bench_provenance.sh REPVK JSON_CHECK MODEL VERSION SOURCE_DIR WORKDIR CONFIGURED_COMMIT
# CONFIGURED_COMMIT is what CMake read when it configured the build; the commit in the
# JSON must be it and, in a checkout, a commit of HEAD's history (HEAD itself right
# after a build; an ancestor when commits were made since the last build).
set -u
repvk=$1 check=$2 model=$3 version=$4 src=$5 work=$6 configured=$7
mkdir -p "$work" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

# What the checks expect, found independently of bench.
sha=$(sha256sum "$model" | cut -d' ' -f1) || fail "sha256sum"
commit=$configured
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  git -C "$src" merge-base --is-ancestor "$commit" HEAD ||
    fail "configured commit '$commit' is not in the history of $src's HEAD"
else
  [ "$commit" = unknown ] || fail "outside a checkout the commit must be 'unknown', not '$commit'"
fi
"$repvk" devices --json >"$work/devices.json" || fail "repvk devices"
sel=$("$check" --get /selected <"$work/devices.json") || fail "no selected device"
drv_name=$("$check" --get "/devices/$sel/driver_name" <"$work/devices.json") || fail "driver_name"
api=$("$check" --get "/devices/$sel/api_version" <"$work/devices.json") || fail "api_version"
os=$(uname -s)

"$repvk" bench "$model" --batch 2 --runs 1 --warmup 0 --conv igemm --fp32 --fp16-math off \
  --json --report "$work/report.md" >"$work/bench.json" || { cat "$work/bench.json"; fail "bench"; }
"$check" "/schema_version==1" "/model_hash==sha256:$sha" "/repvk/version==$version" \
  "/repvk/commit==$commit" "/driver/name==$drv_name" "/driver/version~=[0-9]+\\.[0-9]+\\.[0-9]+.*" \
  "/driver/info" "/device_info/vulkan_api==$api" "/os~=.*$os.*" "/conv_algorithm==igemm" \
  "/precision==fp32" "/fp16_math/used==false" "/batch==2" <"$work/bench.json" || fail "bench --json"

# The report: the table's header, then one row with the same device, commit and choices.
head -n 1 "$work/report.md" |
  grep -qx '| device | driver | OS | commit | model | batch | precision | kernel | GPU ms | images/s |' ||
  fail "report header: $(head -n 1 "$work/report.md")"
row=$(sed -n 3p "$work/report.md")
short=$(echo "$sha" | cut -c1-12)
echo "$row" | grep -q "| \`$commit\` | .*\`sha256:$short\` | 2 | fp32 | igemm | [0-9.]* | [0-9.]* |\$" ||
  fail "report row: $row"
[ "$(wc -l <"$work/report.md")" -eq 3 ] || fail "report is not header + one row"

# A synthetic model is named by what generates it.
"$repvk" bench --synthetic small --bits 3 --seed 5 --batch 1 --runs 1 --warmup 0 --json \
  >"$work/synthetic.json" || fail "bench --synthetic"
"$check" "/schema_version==1" \
  "/model_hash==synthetic:'small', 3-bit per-channel codebooks, seed 5" "/model_file==null" \
  <"$work/synthetic.json" || fail "bench --synthetic --json"
echo ok
