#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs every Debian 12 package repvk needs. Idempotent and non-interactive;
# run as root (or with sudo available). Safe to re-run: apt skips what is there.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libgtest-dev googletest
  libvulkan-dev vulkan-tools mesa-vulkan-drivers vulkan-validationlayers
  glslang-tools glslc spirv-tools
  libstb-dev libcli11-dev nlohmann-json3-dev
  dataset-fashion-mnist
  clang libclang-rt-14-dev
  abi-dumper abi-compliance-checker
  libglfw3-dev libimgui-dev xvfb xauth
  libtorch-dev python3-torch libgloo-dev
  libonnx-dev python3-onnx python3-opencv
  gnuplot-nox zlib1g-dev imagemagick
)

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
