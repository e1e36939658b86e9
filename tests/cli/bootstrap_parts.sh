#!/bin/sh
# SPDX-License-Identifier: MIT
# scripts/bootstrap.sh --only: each part lists what it needs and nothing of the
# others; the default is the union of all parts (and CI's tools), so the README's
# commands install the same set as before; an unknown part is a usage error.
# usage: bootstrap_parts.sh SOURCE_DIR
set -u
b="bash $1/scripts/bootstrap.sh"
fail() { echo "FAIL: $*"; exit 1; }
has() { printf '%s\n' "$1" | grep -qx -- "$2"; }
all=$($b --list) || fail "--list"
engine=$($b --list --only engine) || fail "--only engine"
demo=$($b --list --only demo) || fail "--only demo"
trainer=$($b --list --only trainer) || fail "--only trainer"
has "$engine" libvulkan-dev && has "$engine" vulkan-validationlayers || fail "engine lacks Vulkan"
has "$engine" libglfw3-dev && fail "engine installs the demo's GLFW"
has "$engine" libtorch-dev && fail "engine installs libtorch"
has "$demo" libglfw3-dev && has "$demo" libimgui-dev && has "$demo" xvfb || fail "demo lacks its libraries"
has "$demo" libtorch-dev && fail "demo installs libtorch"
has "$trainer" libtorch-dev || fail "trainer lacks libtorch"
has "$trainer" libimgui-dev && fail "trainer installs Dear ImGui"
for p in $engine $demo $trainer clang abi-dumper; do has "$all" "$p" || fail "default lacks $p"; done
$b --only nonsense >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown part not a usage error"
echo ok
