#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fails a CI run that skipped a test, or never registered one, without a reviewed reason.

    scripts/ci_check_skips.py JUNIT.xml [JUNIT.xml ...]
        [--allow tests/ci/skip_allowlist.txt] [--require tests/ci/required_tests.txt]

Each JUNIT.xml is what `ctest --output-junit` wrote. A skip is any of:
  - a CTest test that did not run to a pass or fail: SKIP_RETURN_CODE (exit 77),
    SKIP_REGULAR_EXPRESSION, a failed fixture, disabled;
  - a GoogleTest test that reported "[  SKIPPED ]" (GTEST_SKIP, test::skip_case), found
    in the test's captured output, since gtest exits 0 and CTest counts it as passed.
Every skip must match a line of the allow-list: an extended regular expression over
the test's name (the CTest name, or for a gtest skip the gtest name too), then a reason.
Every line of the required list (a regular expression, then the dependency it needs) must
match at least one test that ran, so a test family that configure left out (the import
tests without torch, the fuzzers without clang, the CLI runs without Fashion-MNIST) fails
the run instead of shrinking it. Exit status 0 when all hold, 1 otherwise, 2 on bad usage.
"""
import argparse
import re
import sys
import xml.etree.ElementTree as ET

# "[  SKIPPED ] Suite.Name (12 ms)" after a skipped test; the summary repeats the names
# without a time, which the set below deduplicates.
GTEST_SKIPPED = re.compile(r"^\[  SKIPPED \] (\S+\.\S+?)(?: \(\d+ ms\))?\s*$", re.M)


def read_patterns(path):
    """(regex, reason, line) per non-comment line: a pattern, whitespace, the reason."""
    out = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 1)
            if len(parts) < 2:
                sys.exit(f"{path}:{number}: '{line}' has no reason after the pattern")
            try:
                out.append((re.compile(parts[0]), parts[1], f"{path}:{number}"))
            except re.error as e:
                sys.exit(f"{path}:{number}: bad pattern '{parts[0]}': {e}")
    return out


def read_junit(path):
    """(name, status, output) per test case in one `ctest --output-junit` file."""
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        name = case.get("name", "")
        status = case.get("status", "")
        skipped = case.find("skipped") is not None
        failed = case.find("failure") is not None or case.find("error") is not None
        out = case.find("system-out")
        text = out.text if out is not None and out.text else ""
        if failed:
            state = "failed"
        elif skipped or status in ("notrun", "disabled"):
            state = "skipped"
        else:
            state = "passed"
        cases.append((name, state, text))
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("junit", nargs="+")
    ap.add_argument("--allow", default="tests/ci/skip_allowlist.txt")
    ap.add_argument("--require", default="tests/ci/required_tests.txt")
    args = ap.parse_args()
    allow = read_patterns(args.allow)
    require = read_patterns(args.require)

    ran = set()
    skips = []  # (what, names to match)
    for path in args.junit:
        try:
            cases = read_junit(path)
        except (OSError, ET.ParseError) as e:
            print(f"ci_check_skips: cannot read {path}: {e}", file=sys.stderr)
            return 1
        for name, state, text in cases:
            if state == "skipped":
                skips.append((f"{name} (CTest: not run or skipped)", [name]))
                continue
            ran.add(name)
            for gtest_name in sorted(set(GTEST_SKIPPED.findall(text))):
                skips.append((f"{name}: gtest {gtest_name} SKIPPED", [name, gtest_name]))

    bad = 0
    used = set()
    for what, names in skips:
        hit = next((a for a in allow if any(a[0].search(n) for n in names)), None)
        if hit:
            used.add(hit[2])
            print(f"ci_check_skips: allowed skip: {what} ({hit[2]}: {hit[1]})")
        else:
            print(f"ci_check_skips: FAIL: skip not on the allow-list: {what}", file=sys.stderr)
            bad += 1
    for pattern, why, where in require:
        if not any(pattern.search(n) for n in ran):
            print(f"ci_check_skips: FAIL: no test matching '{pattern.pattern}' ran ({where}: {why})",
                  file=sys.stderr)
            bad += 1
    print(f"ci_check_skips: {len(ran)} tests ran, {len(skips)} skip(s), "
          f"{len(require)} required families; {bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
