#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ABI check of librepvk.so against the committed dump of the last release
# (engine/package/abi/repvk-<version>.dump.gz), with Debian's abi-dumper and
# abi-compliance-checker. The policy it enforces (docs/embedding.md, "ABI policy"):
#
#   ABI version = major.minor before 1.0, major from 1.0 on; it is the SONAME's
#   version and the symbol version node (REPVK_<abi>).
#   An incompatible change (binary or source) is allowed only with a new ABI version.
#
#   scripts/ci_abi.sh                 build (Debug, -g), dump, compare with the newest dump
#                                     whose version is <= this one; fail on a break
#                                     that keeps the ABI version
#   scripts/ci_abi.sh --write-dump    same, then (on success) write this version's dump
#                                     into engine/package/abi/ (the release step)
#   scripts/ci_abi.sh --self-test     checks the policy logic on the committed dumps alone:
#                                     0.2.0 -> 0.3.0 passes (ABI version bumped), the same
#                                     change labelled 0.2.1 or 1.0.0 -> 1.1.0 fails,
#                                     1.4.2 -> 2.0.0 passes, identical dumps pass
#   scripts/ci_abi.sh --compare OLD.dump[.gz] OLD_VERSION NEW.dump[.gz] NEW_VERSION
#
# Environment: REPVK_ABI_BUILD_DIR (default build-abi).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${REPVK_ABI_BUILD_DIR:-build-abi}
ABI_DIR=engine/package/abi
WORK=$BUILD/abi-check

log() { echo "ci_abi: $*"; }

# 0.2.1 -> 0.2, 1.4.0 -> 1
abi_version() {
  local major minor
  IFS=. read -r major minor _ <<<"$1"
  if [ "$major" = 0 ]; then echo "0.$minor"; else echo "$major"; fi
}

# Version-sorted list of the committed dumps' versions.
committed_versions() {
  local f
  for f in "$ABI_DIR"/repvk-*.dump.gz; do
    [ -e "$f" ] || continue
    f=${f##*/repvk-}
    echo "${f%.dump.gz}"
  done | sort -V
}

unpack() {  # unpack SRC DEST: a .gz is decompressed, anything else copied
  case "$1" in
    *.gz) gzip -dc "$1" >"$2" ;;
    *) cp "$1" "$2" ;;
  esac
}

# compare OLD_DUMP OLD_VERSION NEW_DUMP NEW_VERSION -> 0 when the policy holds.
compare() {
  local old=$1 old_version=$2 new=$3 new_version=$4
  local name="${old_version}_to_${new_version}"
  mkdir -p "$WORK"
  unpack "$old" "$WORK/old-$name.dump"
  unpack "$new" "$WORK/new-$name.dump"
  local report="$WORK/compat_report_$name.html" rc=0
  abi-compliance-checker -l repvk -old "$WORK/old-$name.dump" -new "$WORK/new-$name.dump" \
    -report-path "$report" >"$WORK/acc-$name.log" 2>&1 || rc=$?
  grep -E "Binary compatibility|Source compatibility|Total binary|Total source" "$WORK/acc-$name.log" \
    | sed 's/^/  /' || true
  if [ "$rc" -gt 1 ]; then
    cat "$WORK/acc-$name.log" >&2
    log "abi-compliance-checker failed (exit $rc)"
    return 2
  fi
  local old_abi new_abi
  old_abi=$(abi_version "$old_version")
  new_abi=$(abi_version "$new_version")
  if [ "$rc" -eq 0 ]; then
    log "$old_version -> $new_version: compatible (report: $report)"
    return 0
  fi
  if [ "$old_abi" != "$new_abi" ]; then
    log "$old_version -> $new_version: incompatible, allowed: the ABI version goes $old_abi -> $new_abi (report: $report)"
    return 0
  fi
  log "$old_version -> $new_version: INCOMPATIBLE change without a new ABI version ($old_abi);"
  log "  bump the version in CMakeLists.txt (minor before 1.0, major from 1.0), or keep the ABI."
  log "  report: $report"
  return 1
}

self_test() {
  local d02="$ABI_DIR/repvk-0.2.0.dump.gz" d03="$ABI_DIR/repvk-0.3.0.dump.gz"
  [ -e "$d02" ] && [ -e "$d03" ] || { log "self-test needs $d02 and $d03"; return 2; }
  log "self-test 1/5: 0.2.0 -> 0.3.0, incompatible with a new ABI version: must pass"
  compare "$d02" 0.2.0 "$d03" 0.3.0 || { log "self-test FAILED: a bumped break was refused"; return 1; }
  log "self-test 2/5: the same change labelled 0.2.1 (ABI version kept): must fail"
  if compare "$d02" 0.2.0 "$d03" 0.2.1; then
    log "self-test FAILED: a break without a version bump passed"; return 1
  fi
  log "self-test 3/5: 0.3.0 against itself: must pass"
  compare "$d03" 0.3.0 "$d03" 0.3.0 || { log "self-test FAILED: identical dumps differ"; return 1; }
  log "self-test 4/5: the same change labelled 1.0.0 -> 1.1.0 (from 1.0 the major counts): must fail"
  if compare "$d02" 1.0.0 "$d03" 1.1.0; then
    log "self-test FAILED: a break in a 1.x minor release passed"; return 1
  fi
  log "self-test 5/5: labelled 1.4.2 -> 2.0.0: must pass"
  compare "$d02" 1.4.2 "$d03" 2.0.0 || { log "self-test FAILED: a major bump was refused"; return 1; }
  log "self-test passed"
}

version_from_cmake() {
  sed -n 's/^project(repvk VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt
}

build_and_dump() {
  local version=$1 out=$2
  log "building librepvk.so $version with debug info in $BUILD"
  local launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DREPVK_WERROR=ON \
    -DREPVK_BUILD_TESTS=OFF -DREPVK_BUILD_FUZZ=OFF -DREPVK_BUILD_TRAINER=OFF "${launcher[@]}" \
    >"$WORK/configure.log" 2>&1 || { cat "$WORK/configure.log" >&2; return 2; }
  cmake --build "$BUILD" --target repvk_shared -j "$(nproc)"
  local lib abi
  lib=$(ls "$BUILD"/engine/package/librepvk.so."$version")
  abi=$(abi_version "$version")
  # The SONAME and the symbol version node follow the ABI version.
  local soname
  soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
  if [ "$soname" != "librepvk.so.$abi" ]; then
    log "SONAME is '$soname', expected librepvk.so.$abi"; return 1
  fi
  if readelf --dyn-syms -W "$lib" | awk '$7 != "UND" && $8 ~ /^repvk_/' | grep -v "@@REPVK_$abi\$" | grep -q .; then
    log "exported symbols without the version node REPVK_$abi:"
    readelf --dyn-syms -W "$lib" | awk '$7 != "UND" && $8 ~ /^repvk_/' | grep -v "@@REPVK_$abi\$" | head
    return 1
  fi
  log "SONAME librepvk.so.$abi, every repvk_* symbol versioned REPVK_$abi"
  # Only the installed headers count as API.
  local headers="$WORK/include/repvk"
  rm -rf "$WORK/include" && mkdir -p "$headers"
  cp engine/include/repvk/*.h "$headers/"
  cp "$BUILD/engine/include/repvk/version.h" "$headers/"
  abi-dumper "$lib" -lver "$version" -public-headers "$headers" -o "$out" >"$WORK/abi-dumper.log" 2>&1 \
    || { cat "$WORK/abi-dumper.log" >&2; log "abi-dumper failed"; return 2; }
  # The dump records where it was made; keep the committed one free of this machine's paths.
  sed -i "s|$ROOT/||g" "$out"
}

main() {
  case "${1:-}" in
    --self-test) self_test; return ;;
    --compare) shift; [ $# -eq 4 ] || { log "--compare OLD OLD_VERSION NEW NEW_VERSION"; return 2; }
               compare "$1" "$2" "$3" "$4"; return ;;
    ""|--write-dump) ;;
    *) sed -n '2,22p' "$0"; return 2 ;;
  esac
  for tool in abi-dumper abi-compliance-checker readelf; do
    command -v "$tool" >/dev/null || { log "$tool is missing (scripts/bootstrap.sh installs it)"; return 2; }
  done
  mkdir -p "$WORK"
  local version baseline="" v
  version=$(version_from_cmake)
  for v in $(committed_versions); do
    # The newest committed dump not newer than this version.
    if [ "$(printf '%s\n%s\n' "$v" "$version" | sort -V | tail -1)" = "$version" ]; then baseline=$v; fi
  done
  [ -n "$baseline" ] || { log "no committed dump <= $version in $ABI_DIR"; return 2; }
  local dump="$WORK/repvk-$version.dump"
  build_and_dump "$version" "$dump"
  log "comparing $version with the committed $baseline dump"
  compare "$ABI_DIR/repvk-$baseline.dump.gz" "$baseline" "$dump" "$version"
  if [ "${1:-}" = --write-dump ]; then
    gzip -9 -n -c "$dump" >"$ABI_DIR/repvk-$version.dump.gz"
    log "wrote $ABI_DIR/repvk-$version.dump.gz"
  fi
}

main "$@"
