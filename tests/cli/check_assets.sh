#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks the bundled models: each file is under the 2 MB cap, loads, and is listed
# in assets/README.md with its exact size; and `repvk eval` with no model named
# picks the trained default (not the synthetic fallback) and classifies well.
#   check_assets.sh REPVK SOURCE_ROOT
set -euo pipefail
repvk="$1" root="$2"
models="$root/assets/models" readme="$root/assets/README.md"
fail() { echo "FAIL: $*" >&2; exit 1; }
[[ -f "$models/default.rpvk" ]] || fail "$models/default.rpvk is missing"
n=0
for f in "$models"/*.rpvk; do
  name="$(basename "$f")" size="$(stat -c %s "$f")"
  (( size <= 2000000 )) || fail "$name is $size bytes, over the 2,000,000-byte cap"
  "$repvk" info "$f" >/dev/null || fail "repvk info cannot read $name"
  grep -q "\`$name\`" "$readme" || fail "$name is not listed in assets/README.md"
  grep -qF "$(python3 -c "print(f'{$size:,}')") bytes" "$readme" || fail "assets/README.md does not give $name's size ($size bytes)"
  n=$((n + 1))
done
(( n >= 5 )) || fail "expected the default plus 2-, 3-, 8-bit and fp32 models, found $n files"
out="$(REPVK_MODEL_DIR= "$repvk" eval --limit 1000 --batch 100 --json)"
python3 - "$out" "$models/default.rpvk" <<'PY' || fail "default model check failed: $out"
import json, os, sys
r = json.loads(sys.argv[1])
assert r["synthetic"] is False, "fell back to the synthetic model"
assert os.path.samefile(r["model_source"], sys.argv[2]), r["model_source"]
assert r["images"] == 1000
assert r["accuracy"] >= 0.90, f"accuracy {r['accuracy']} on the first 1000 test images"
print(f"default model: {100 * r['accuracy']:.1f}% on 1000 test images")
PY
echo "PASS ($n models)"
