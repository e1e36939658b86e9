#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks what `repvk classify` prints, value by value, with the bundled default model.

    check_classify.py REPVK SAMPLES_DIR

SAMPLES_DIR holds sample_000.png ... and labels.tsv (assets/samples: the first test
images of Fashion-MNIST). For those images:
- the top-1 label and name of `classify --json` (Vulkan) are those of `eval --predictions`
  on the same test images (a separate code path: the dataset reader, no PNG decoding),
  and the names are the dataset's names in labels.tsv;
- the top-5 are distinct labels in falling probability, and `classify --cpu --json`
  gives the same labels with probabilities within 1e-4;
- the text output names the same classes with the same percentages (to 0.01);
- the number of correct top-1 labels equals what eval counts on those images.
"""
import json
import os
import re
import subprocess
import sys

TOP = 5


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def run(cmd, env):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        fail(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stderr}")
    return r.stdout


def text_tops(text):
    """Per image in the text output: [(name, percent)] of its ranked lines."""
    images, current = [], None
    for line in text.splitlines():
        m = re.match(r"^ +(\d+)\. (.+?) +([0-9.]+)%$", line)
        if m:
            current.append((m.group(2), float(m.group(3))))
        elif line.endswith(")") and " (" in line and not line.startswith(" "):
            current = []
            images.append(current)
    return images


def main():
    repvk, samples = sys.argv[1], sys.argv[2]
    env = dict(os.environ, REPVK_MODEL_DIR="")
    with open(os.path.join(samples, "labels.tsv"), encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f][1:]
    files = [os.path.join(samples, r[0]) for r in rows]
    truth = [int(r[1]) for r in rows]
    n = len(files)
    if n < 10:
        fail(f"{samples}/labels.tsv lists {n} images")

    ev = json.loads(run([repvk, "eval", "--limit", str(n), "--json", "--predictions"], env))
    names = {c["label"]: c["name"] for c in ev["per_class"]}
    for r in rows:
        if names[int(r[1])] != r[2]:
            fail(f"{r[0]}: label {r[1]} is '{r[2]}' in labels.tsv, '{names[int(r[1])]}' in the model")
    gpu = json.loads(run([repvk, "classify", "--json", "--top", str(TOP)] + files, env))["results"]
    cpu = json.loads(run([repvk, "classify", "--cpu", "--json", "--top", str(TOP)] + files, env))["results"]
    text = text_tops(run([repvk, "classify", "--top", str(TOP)] + files, env))
    if not (len(gpu) == len(cpu) == len(text) == n):
        fail(f"{n} images in, results: {len(gpu)} GPU, {len(cpu)} CPU, {len(text)} in the text output")

    correct = 0
    for i in range(n):
        g, c, t = gpu[i]["top"], cpu[i]["top"], text[i]
        where = os.path.basename(files[i])
        if len(g) != TOP or len(c) != TOP or len(t) != TOP:
            fail(f"{where}: top-{TOP} has {len(g)} GPU, {len(c)} CPU, {len(t)} text entries")
        if g[0]["label"] != ev["predictions"][i]:
            fail(f"{where}: classify says {g[0]['label']} ({g[0]['name']}), eval predicts "
                 f"{ev['predictions'][i]} ({names[ev['predictions'][i]]})")
        labels = [e["label"] for e in g]
        if len(set(labels)) != TOP:
            fail(f"{where}: repeated labels {labels}")
        probs = [e["probability"] for e in g]
        if probs != sorted(probs, reverse=True) or not 0 < sum(probs) <= 1 + 1e-5:
            fail(f"{where}: probabilities {probs}")
        for k in range(TOP):
            if g[k]["name"] != names[g[k]["label"]]:
                fail(f"{where}: rank {k + 1} label {g[k]['label']} named '{g[k]['name']}', "
                     f"the model calls it '{names[g[k]['label']]}'")
            if c[k]["label"] != g[k]["label"] or abs(c[k]["probability"] - g[k]["probability"]) > 1e-4:
                fail(f"{where}: rank {k + 1}: GPU {g[k]}, CPU reference {c[k]}")
            if t[k][0] != g[k]["name"] or abs(t[k][1] - 100 * g[k]["probability"]) > 0.0051:
                fail(f"{where}: rank {k + 1}: text '{t[k][0]} {t[k][1]}%', JSON {g[k]}")
        correct += g[0]["label"] == truth[i]
    if correct != ev["correct"]:
        fail(f"classify gets {correct} of {n} right, eval counts {ev['correct']}")
    print(f"PASS: {n} samples, {correct} classified correctly; GPU, CPU, text and eval agree")


if __name__ == "__main__":
    main()
