#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Gathers the step outputs of tools/bench/gpu_report.sh into report.json and report.md.

usage: gpu_report_summary.py OUTDIR COMMIT
Each step left OUTDIR/NAME.out (its stdout: JSON for every step) and NAME.log
(stderr); OUTDIR/steps.txt lists "NAME STATUS SECONDS" per step, STATUS being the exit
code or "skipped" (the run's time budget was spent before the step began).
Exit 0: written, every step passed; 3: written, some step failed or was skipped.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shader_stats_table  # noqa: E402


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def tail(path, n=5):
    try:
        with open(path) as f:
            return "".join(f.readlines()[-n:]).strip()
    except OSError:
        return ""


def main(out, commit):
    steps = []
    with open(os.path.join(out, "steps.txt")) as f:
        for line in f:
            name, rc, secs = line.split()
            steps.append({"name": name, "status": None if rc == "skipped" else int(rc),
                          "skipped": rc == "skipped", "seconds": int(secs),
                          "result": load(os.path.join(out, name + ".out")),
                          "stderr_tail": tail(os.path.join(out, name + ".log"))})
    tests = load(os.path.join(out, "gpu_tests.json"))
    report = {"commit": commit, "steps": steps}
    if tests:
        report["gpu_tests"] = {k: tests.get(k) for k in ("tests", "failures", "disabled", "errors", "time")}
    with open(os.path.join(out, "report.json.tmp"), "w") as f:
        json.dump(report, f, indent=2)
    os.replace(os.path.join(out, "report.json.tmp"), os.path.join(out, "report.json"))

    md = [f"# GPU report, commit `{commit}`", ""]
    dev = next((s["result"] for s in steps if s["name"] == "devices"), None)
    if dev and dev.get("devices"):
        sel = dev.get("selected")
        for d in dev["devices"]:
            mark = " (selected)" if d.get("index") == sel else ""
            md.append(f"- device {d['index']}: {d['name']}, {d['driver_name']} {d['driver_info']}{mark}")
        md.append("")
    md += ["| step | exit | seconds |", "|---|---|---|"]
    md += [f"| {s['name']} | {'skipped' if s['skipped'] else s['status']} | {s['seconds']} |"
           for s in steps]
    md.append("")
    if tests:
        md.append(f"GPU tests: {tests.get('tests')} run, {tests.get('failures')} failed, "
                  f"{tests.get('disabled')} disabled.\n")
    roof = next((s["result"] for s in steps if s["name"] == "roofline"), None)
    if roof and roof.get("roofline"):
        r = roof["roofline"]
        def num(key):
            v = r.get(key)
            return "n/a" if v is None else f"{v:.1f}"
        md.append(f"Roofline: fp32 {num('fp32_gflops')} GFLOP/s, fp16 {num('fp16_gflops')} GFLOP/s, "
                  f"copy {num('copy_gbps')} GB/s (storage), {num('texel_copy_gbps')} GB/s (texel).\n")
    md += ["| bench | kernel | images/s | GPU ms (median) | GFLOP/s | speedup vs direct (GPU) |",
           "|---|---|---|---|---|---|"]
    for s in steps:
        r = s["result"]
        if not s["name"].startswith("bench_") or not r or "kernels" not in r:
            continue
        for k, v in sorted(r["kernels"].items()):
            md.append(f"| {s['name'][6:]} | {k} | {v.get('images_per_second', 0):.1f} | "
                      f"{v.get('gpu_ms_median', 0):.3f} | {v.get('gflops_per_second', 0):.1f} | "
                      f"{v.get('speedup_gpu', 0):.2f} |")
    md.append("")
    md += ["| igemm split-K | images/s | GPU ms (median) | GFLOP/s |", "|---|---|---|---|"]
    for s in steps:
        r = s["result"]
        if not s["name"].startswith("splitk_") or not r or "images_per_second" not in r:
            continue
        md.append(f"| {s['name'][7:]} | {r.get('images_per_second', 0):.1f} | "
                  f"{r.get('gpu_ms_median', 0):.3f} | {r.get('gflops_per_second', 0):.1f} |")
    md.append("")
    for s in steps:
        r = s["result"]
        if not s["name"].startswith("shader_stats_") or not r:
            continue
        if not r.get("supported"):
            md.append(f"shader-stats: {r.get('device')} has no VK_KHR_pipeline_executable_properties.\n")
            break
        md.append(shader_stats_table.markdown(r))
    failed = [s["name"] for s in steps if not s["skipped"] and s["status"] != 0]
    skipped = [s["name"] for s in steps if s["skipped"]]
    md.append("Failed steps: " + (", ".join(failed) if failed else "none") + "\n")
    if skipped:
        md.append("Skipped (time budget spent): " + ", ".join(skipped) + "\n")
    with open(os.path.join(out, "report.md.tmp"), "w") as f:
        f.write("\n".join(md))
    os.replace(os.path.join(out, "report.md.tmp"), os.path.join(out, "report.md"))
    return 3 if failed or skipped else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
