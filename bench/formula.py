"""Formula front end (issue 2): parse + type-check throughput, and ``batchspec validate one.formula`` as a process.

Targets: at least 2,000 seed-sized formulas per second on one core (parse + type check), and a median under 150 ms
for the whole ``batchspec validate`` process. Baselines measured in the same run: the Lark grammar alone (the
parser every error goes through), and a bare ``python -c pass`` process.

Run alone: ``python -m bench.formula [--quick]``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import Result, Stats, rate, repeat

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "corpus" / "formulas" / "seed__seed-pool.formula"
CORPUS = ROOT / "tests" / "corpus" / "formulas"


def _seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def _variants(base: str, n: int) -> list[str]:
    """Distinct seed-sized formulas (different constants), so no cache could help."""
    return [
        base.replace("cappedPoolSize = 1;", f"cappedPoolSize = {i + 1};").replace("70", str(50 + i % 40))
        for i in range(n)
    ]


def _cpu_rate(fn, items_per_call: int, runs: int) -> Stats:  # type: ignore[no-untyped-def]
    fn()
    samples = []
    for _ in range(runs):
        t0 = time.process_time()
        fn()
        samples.append(items_per_call / (time.process_time() - t0))
    samples.sort()
    return Stats(statistics.median(samples), samples[0], samples[-1], runs)


def run(quick: bool) -> list[Result]:
    from batchspec.formula import check_formula
    from batchspec.formula.parser import parse_with_lark

    seed = _seed_text()
    batch = _variants(seed, 200 if quick else 1000)
    runs = 3 if quick else 7

    def check_all() -> None:
        for text in batch:
            formula, diagnostics = check_formula(text)
            assert formula is not None and not diagnostics

    def lark_all() -> None:
        for text in batch:
            parse_with_lark(text)

    checked = rate(check_all, len(batch), runs)
    lark = rate(lark_all, len(batch), runs)
    # "on one core": CPU seconds of this single-threaded process, which other load on a shared machine cannot inflate
    cpu = _cpu_rate(check_all, len(batch), runs)
    cpu_lark = _cpu_rate(lark_all, len(batch), max(3, runs // 2))

    corpus = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.formula"))]

    def corpus_all() -> None:
        for text in corpus:
            check_formula(text)

    corpus_rate = rate(corpus_all, len(corpus), runs)

    results = [
        Result(
            issue=2,
            name=f"parse + type check, seed-sized formulas ({len(seed)} chars), CPU time of one core",
            figure=cpu.fmt("formulas/s", 4),
            target=">= 2,000 formulas/s",
            met=cpu.median >= 2000,
            baseline=f"Lark grammar alone (parse only), CPU time: {cpu_lark.fmt('formulas/s', 4)}",
            ratio=f"{cpu.median / cpu_lark.median:.2f}x",
        ),
        Result(
            issue=2,
            name=f"parse + type check, seed-sized formulas ({len(seed)} chars), wall clock",
            figure=checked.fmt("formulas/s", 4),
            target=">= 2,000 formulas/s",
            met=checked.median >= 2000,
            baseline=f"Lark grammar alone (parse only): {lark.fmt('formulas/s', 4)}",
            ratio=f"{checked.median / lark.median:.2f}x",
        ),
        Result(
            issue=2,
            name=f"parse + type check, the {len(corpus)}-formula real-world corpus",
            figure=corpus_rate.fmt("formulas/s", 4),
            target="(no target)",
            met=None,
        ),
    ]

    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.formula"
        one.write_text(seed, encoding="utf-8")
        cmd = [sys.executable, "-m", "batchspec", "validate", str(one), "--format", "concise"]
        probe = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        assert probe.returncode == 0, probe.stdout + probe.stderr
        process_runs = 5 if quick else 15
        validate = repeat(
            lambda: subprocess.run(cmd, capture_output=True, cwd=ROOT, check=True), process_runs
        )
        bare = repeat(
            lambda: subprocess.run([sys.executable, "-c", "pass"], capture_output=True, check=True),
            process_runs,
        )
    results.append(
        Result(
            issue=2,
            name="`batchspec validate one.formula` (seed formula), whole process",
            figure=f"{validate.median * 1000:.0f} ms (range {validate.low * 1000:.0f}–{validate.high * 1000:.0f}, "
            f"n={validate.runs})",
            target="median < 150 ms",
            met=validate.median < 0.150,
            baseline=f"`python -c pass`: {bare.median * 1000:.0f} ms",
            ratio=f"{validate.median / bare.median:.1f}x",
        )
    )
    return results


def main() -> int:
    quick = "--quick" in sys.argv
    for r in run(quick):
        print(json.dumps({k: v for k, v in vars(r).items() if v not in ("", [], None)}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
