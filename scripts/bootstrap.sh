#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages repvk needs. Idempotent and non-interactive;
# run as root (or with sudo available). Safe to re-run: apt skips what is there.
#
#   bootstrap.sh                  everything: library, CLI, tests, demo, trainer, CI tools
#   bootstrap.sh --only engine    the library, the `repvk` tool and its tests
#   bootstrap.sh --only demo      the above plus repvk-demo (GLFW, Dear ImGui, Xvfb)
#   bootstrap.sh --only trainer   the engine part plus repvk-train (libtorch, ONNX import)
#   bootstrap.sh --list [...]     print the chosen packages, one a line; install nothing
set -euo pipefail

# The library, the CLI and the test suite: compilers, Vulkan (loader, lavapipe,
# validation layer, shader compilers), the header-only libraries, the dataset.
ENGINE=(
  build-essential cmake ninja-build pkg-config git
  libgtest-dev googletest
  libvulkan-dev vulkan-tools mesa-vulkan-drivers vulkan-validationlayers
  glslang-tools glslc spirv-tools
  libstb-dev libcli11-dev nlohmann-json3-dev zlib1g-dev
  dataset-fashion-mnist
)
DEMO=(libglfw3-dev libimgui-dev xvfb xauth)
TRAINER=(libtorch-dev python3-torch libgloo-dev libonnx-dev python3-onnx python3-opencv)
# What CI adds: sanitizers (clang), the ABI check, the study's plots and images.
CI_TOOLS=(clang libclang-rt-14-dev abi-dumper abi-compliance-checker gnuplot-nox imagemagick)

usage() {
  echo "usage: $0 [--list] [--only engine|demo|trainer]" >&2
  exit 2
}

only="" list=0
while [ $# -gt 0 ]; do
  case $1 in
    --only) [ $# -ge 2 ] || usage; only=$2; shift 2 ;;
    --only=*) only=${1#--only=}; shift ;;
    --list) list=1; shift ;;
    -h|--help) sed -n '3,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) usage ;;
  esac
done

case $only in
  "") PACKAGES=("${ENGINE[@]}" "${DEMO[@]}" "${TRAINER[@]}" "${CI_TOOLS[@]}") ;;
  engine) PACKAGES=("${ENGINE[@]}") ;;
  demo) PACKAGES=("${ENGINE[@]}" "${DEMO[@]}") ;;
  trainer) PACKAGES=("${ENGINE[@]}" "${TRAINER[@]}") ;;
  *) echo "bootstrap: unknown part '$only' (engine, demo or trainer)" >&2; usage ;;
esac

if [ "$list" -eq 1 ]; then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "bootstrap: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
