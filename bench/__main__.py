"""``python -m bench [--quick] [--only NAME ...] [--no-write]``: run every benchmark, rewrite bench/RESULTS.md.

Each module in BENCHMARKS exposes ``run(quick: bool) -> list[harness.Result]`` and measures its baseline in the same
run. A module that is missing or crashes is reported as such in RESULTS.md (never silently dropped).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from bench.harness import Result

# (module, what it measures) — order = order in RESULTS.md
BENCHMARKS: list[tuple[str, str]] = [
    ("bench.formula", "formula front end: parse + type check, validate process (issue 2)"),
    ("bench.lint", "linter overhead over the front end (issue 3)"),
    ("bench.evaluate", "compiled evaluator vs tree-walking interpreter (issue 4)"),
    ("bench.simulate", "autoscale simulator (issue 5)"),
    ("bench.validate", "spec/pool validation vs check-jsonschema (issue 6)"),
    ("bench.local", "local Batch service (issue 7)"),
    ("bench.submit", "task submission vs a sequential create_task loop (issue 8)"),
    ("bench.campaign", "fuzz and fault campaigns (issue 9)"),
]

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def _machine() -> str:
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.machine()}"
    )


def _table(results: list[Result]) -> list[str]:
    lines = [
        "| issue | benchmark | figure (median, range) | baseline (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        met = {True: "yes", False: "**no**", None: "—"}[r.met]
        cells = [str(r.issue), r.name, r.figure, r.baseline or "—", r.ratio or "—", r.target, met]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="a one-minute subset (fewer repeats, smaller sizes)")
    ap.add_argument("--only", nargs="*", default=None, help="module names, e.g. formula evaluate")
    ap.add_argument("--no-write", action="store_true", help="print only; do not rewrite bench/RESULTS.md")
    args = ap.parse_args(argv)
    all_results: list[Result] = []
    problems: list[str] = []
    notes: list[str] = []
    started = time.perf_counter()
    for module, what in BENCHMARKS:
        short = module.split(".", 1)[1]
        if args.only and short not in args.only:
            continue
        print(f"== {short}: {what}", file=sys.stderr, flush=True)
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                problems.append(f"`{short}`: not written yet ({what})")
                print("   (not written yet)", file=sys.stderr)
                continue
            raise
        t0 = time.perf_counter()
        try:
            results = mod.run(args.quick)
        except Exception:
            problems.append(f"`{short}`: crashed:\n\n```\n{traceback.format_exc()}```")
            traceback.print_exc()
            continue
        for r in results:
            print(f"   {r.name}: {r.figure}" + (f" vs {r.baseline} ({r.ratio})" if r.baseline else "")
                  + f" — target {r.target}: {'met' if r.met else 'NOT met' if r.met is False else '-'}",
                  file=sys.stderr)
            notes.extend(f"{r.name}: {n}" for n in r.notes)
        print(f"   ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
        all_results.extend(results)
    cmd = "python -m bench" + (" --quick" if args.quick else "") + (
        " --only " + " ".join(args.only) if args.only else "")
    out = [
        "# Benchmark results",
        "",
        f"Produced by `{cmd}` on {dt.date.today().isoformat()}, {_machine()}.",
        f"Total wall time {time.perf_counter() - started:.0f} s. Machines are shared and noisy: figures are medians "
        "with their range; targets stated as ratios are measured against a baseline in the same run.",
        "",
        *_table(all_results),
        "",
    ]
    if notes:
        out += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    if problems:
        out += ["## Not measured", "", *[f"- {p}" for p in problems], ""]
    text = "\n".join(out)
    print(text)
    if not args.no_write and not args.only:
        RESULTS.write_text(text, encoding="utf-8")
    elif not args.no_write:
        print("(partial run: bench/RESULTS.md not rewritten; run without --only to rewrite it)", file=sys.stderr)
    return 1 if any("crashed" in p for p in problems) else 0


if __name__ == "__main__":
    raise SystemExit(main())
