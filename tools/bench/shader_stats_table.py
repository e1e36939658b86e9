#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Markdown tables from `repvk shader-stats --json` reports (one or more files).

One row per distinct pipeline (kernel + specialization constants) of each report,
with the number of layers using it. Columns are found by the driver's statistic
names, matched loosely so that RADV ("VGPRs", "Spilled VGPRs", "LDS size",
"Subgroups per SIMD"), ANV and NVIDIA names all land somewhere; a statistic the
driver does not report shows as "-".

usage: shader_stats_table.py REPORT.json [REPORT.json ...] > table.md
"""
import json
import re
import sys

COLUMNS = [  # (header, regex on the lower-cased statistic name; first match wins)
    ("VGPRs", r"^(vgprs|.*register.*count|registers)$"),
    ("SGPRs", r"^sgprs$"),
    ("spills", r"spill"),
    ("shared B", r"(lds|shared).*(size|memory)"),
    ("waves/SIMD", r"(per simd|occupancy|waves)"),
    ("instr", r"^(instructions|instruction count)$"),
]


def pick(stats, regex):
    found = [v for k, v in stats.items() if re.search(regex, k.lower())]
    if not found:
        return "-"
    if regex == r"spill":  # every spill statistic counts
        return str(sum(int(v) for v in found))
    return str(found[0])


def rows(report):
    seen = {}
    for layer in report["layers"]:
        for p in layer["pipelines"]:
            key = (p["kernel"], tuple(p["spec"]))
            if key in seen:
                seen[key]["layers"] += 1
                continue
            ex = p["executables"][0] if p["executables"] else {"statistics": {}}
            seen[key] = {"layers": 1, "first": layer["layer"], "kernel": p["kernel"],
                         "spec": p["spec"], "ex": ex}
    return seen.values()


def loop_cells(ex):
    loop = ex.get("hottest_loop")
    if not loop or not loop.get("valu"):
        return ["-", "-", "-"]
    fma = loop["fma"]
    per_fma = f"{loop['vmem_loads'] / fma:.3f}" if fma else "-"
    return [f"{100 * loop['fma_share']:.0f}%", f"{loop['vmem_loads']}/{loop['lds_loads']}", per_fma]


def markdown(r):
    lines = [f"**{r['model']}, batch {r['batch']}, {r['conv_algorithm']}, {r['precision']}** on "
             f"{r['device']} ({r['driver']}); spills in total: {r['spills']}", ""]
    head = ["layers", "first layer", "kernel", "subgroup"] + [c[0] for c in COLUMNS] + \
           ["loop FMA share", "loop vmem/LDS loads", "vmem loads per FMA"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for row in rows(r):
        ex = row["ex"]
        stats = ex.get("statistics", {})
        cells = [str(row["layers"]), row["first"], row["kernel"], str(ex.get("subgroup_size", "-"))]
        cells += [pick(stats, rx) for _, rx in COLUMNS] + loop_cells(ex)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(paths):
    for path in paths:
        with open(path) as f:
            print(markdown(json.load(f)))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
