#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks the bundled models against assets/README.md, which documents them.

    check_assets.py REPVK SOURCE_ROOT [--limit N]

- The README's model tables and assets/models/*.rpvk name the same files.
- Each file is under the 2,000,000-byte cap, `repvk info` reads it, and its row gives
  its exact size and the first 16 hex digits of its sha256.
- `repvk eval` on Vulkan gives each model's documented test accuracy within 0.05
  points on the 10,000 test images (--limit N evaluates only the first N and skips this
  comparison; for trying the script by hand).
- `repvk eval` with no model named picks the trained default, not the synthetic
  fallback, and its top-1 predictions on the first 1,000 test images are the CPU
  reference's (`--cpu`), image for image.
Prints each model's measured accuracy and the time taken.
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time

TOLERANCE_POINTS = 0.05  # the README rounds to 0.01; the eval is deterministic
SIZE_CAP = 2_000_000


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def readme_rows(readme):
    """{file name: {"accuracy": percent, "size": bytes, "sha": 16 hex}} from every
    Markdown table whose header names 'test accuracy (repvk eval)' and 'sha256'."""
    rows = {}
    header = None
    for line in readme.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            continue
        if set("".join(cells)) <= set("-: "):
            continue  # the separator row
        try:
            acc_col = header.index("test accuracy (repvk eval)")
            sha_col = next(i for i, h in enumerate(header) if h.startswith("sha256"))
            size_col = header.index("size")
        except (ValueError, StopIteration):
            continue
        name = re.fullmatch(r"`([^`]+\.rpvk)`", cells[0])
        if not name:
            fail(f"assets/README.md: a model row without a `file.rpvk` in its first cell: {line}")
        acc = re.fullmatch(r"([0-9]+\.[0-9]+)%", cells[acc_col])
        size = re.search(r"\(([0-9,]+) bytes\)", cells[size_col])
        sha = re.fullmatch(r"`([0-9a-f]{16})`", cells[sha_col])
        if not (acc and size and sha):
            fail(f"assets/README.md: cannot read accuracy, size or sha256 in: {line}")
        if name.group(1) in rows:
            fail(f"assets/README.md lists {name.group(1)} twice")
        rows[name.group(1)] = {"accuracy": float(acc.group(1)),
                               "size": int(size.group(1).replace(",", "")),
                               "sha": sha.group(1)}
    return rows


def run_json(cmd, env=None):
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        fail(f"{' '.join(cmd)} exited {result.returncode}:\n{result.stderr}")
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as e:
        fail(f"{' '.join(cmd)}: not JSON ({e}):\n{result.stdout[:2000]}")


def check_files(repvk, models, rows):
    files = sorted(f for f in os.listdir(models) if f.endswith(".rpvk"))
    if "default.rpvk" not in files:
        fail(f"{models}/default.rpvk is missing")
    if sorted(rows) != files:
        fail(f"assets/models has {files}, assets/README.md documents {sorted(rows)}")
    for name in files:
        path = os.path.join(models, name)
        data = open(path, "rb").read()
        if len(data) > SIZE_CAP:
            fail(f"{name} is {len(data)} bytes, over the {SIZE_CAP:,}-byte cap")
        if len(data) != rows[name]["size"]:
            fail(f"{name} is {len(data):,} bytes, assets/README.md says {rows[name]['size']:,}")
        sha = hashlib.sha256(data).hexdigest()[:16]
        if sha != rows[name]["sha"]:
            fail(f"{name}: sha256 starts {sha}, assets/README.md says {rows[name]['sha']}")
        if subprocess.run([repvk, "info", path], capture_output=True).returncode != 0:
            fail(f"repvk info cannot read {name}")
    return files


def check_accuracy(repvk, models, rows, files, limit):
    for name in files:
        t0 = time.time()
        cmd = [repvk, "eval", "--model", os.path.join(models, name), "--batch", "100", "--json"]
        if limit:
            cmd += ["--limit", str(limit)]
        r = run_json(cmd)
        got = 100.0 * r["correct"] / r["images"]
        want = rows[name]["accuracy"]
        print(f"{name}: {got:.2f}% on {r['images']} test images (README {want:.2f}%), "
              f"{r['precision']}, {time.time() - t0:.1f} s")
        if limit:
            continue
        if r["images"] != 10000:
            fail(f"{name}: evaluated {r['images']} images, expected the 10,000 test images")
        if abs(got - want) > TOLERANCE_POINTS:
            fail(f"{name}: {got:.2f}% on the test set, assets/README.md says {want:.2f}% "
                 f"(tolerance {TOLERANCE_POINTS} points)")


def check_default_matches_cpu(repvk, models):
    env = dict(os.environ, REPVK_MODEL_DIR="")
    base = [repvk, "eval", "--limit", "1000", "--batch", "100", "--json", "--predictions"]
    t0 = time.time()
    gpu = run_json(base, env)
    cpu = run_json(base + ["--cpu"], env)
    for r, where in ((gpu, "GPU"), (cpu, "--cpu")):
        if r["synthetic"] is not False:
            fail(f"{where}: eval without a model fell back to the synthetic model")
        if not os.path.samefile(r["model_source"], os.path.join(models, "default.rpvk")):
            fail(f"{where}: eval without a model used {r['model_source']}")
        if r["images"] != 1000 or len(r["predictions"]) != 1000:
            fail(f"{where}: {r['images']} images, {len(r['predictions'])} predictions, expected 1000")
    differ = [i for i, (a, b) in enumerate(zip(gpu["predictions"], cpu["predictions"])) if a != b]
    if differ:
        i = differ[0]
        fail(f"GPU ({gpu['precision']}) and CPU reference disagree on {len(differ)} of 1000 images, "
             f"first image {i}: GPU {gpu['predictions'][i]}, CPU {cpu['predictions'][i]}")
    if gpu["correct"] != cpu["correct"]:
        fail(f"GPU {gpu['correct']} correct, CPU {cpu['correct']}, with equal predictions")
    print(f"default model: GPU ({gpu['precision']}) and CPU predictions identical on 1000 images, "
          f"{gpu['correct'] / 10:.1f}% correct, {time.time() - t0:.1f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("repvk")
    ap.add_argument("root")
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    models = os.path.join(args.root, "assets", "models")
    with open(os.path.join(args.root, "assets", "README.md"), encoding="utf-8") as f:
        rows = readme_rows(f.read())
    files = check_files(args.repvk, models, rows)
    check_default_matches_cpu(args.repvk, models)
    check_accuracy(args.repvk, models, rows, files, args.limit)
    print(f"PASS ({len(files)} models)")


if __name__ == "__main__":
    main()
