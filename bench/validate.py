"""Validate benchmark (issue 6), whole processes as a user (or pre-commit) runs them, side by side in one run:

1. ``batchspec validate seed-pool.json`` (schema + formula linter + pool rules + start-task checks) vs
   ``check-jsonschema --schemafile schemas/pool.schema.json seed-pool.json`` (the same file, the same pool schema,
   schema only). Target: batchspec is no slower.
2. ``batchspec validate TREE`` on a generated tree of 200 specs (each with its own formula file and start-task
   script, varied sizes, ids and constants). Target: under 3 s. Measured with a warm shellcheck cache (as every
   pre-commit or CI run after the first); the first, cold run is reported in the notes.

Run alone with ``python -m bench.validate [--quick]``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.harness import Result, Stats, repeat

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "tests" / "corpus" / "pools" / "seed-pool.json"
BIN = Path(sys.executable).parent

SIZES = ["Standard_D2s_v5", "Standard_D4s_v5", "Standard_F8s_v2", "Standard_E16s_v5", "Standard_D2a_v4"]


_ENV: dict[str, str] = dict(os.environ)


def _run(args: list[str]) -> None:
    subprocess.run(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO, check=False, env=_ENV
    )


def make_tree(root: Path, count: int = 200) -> None:
    for i in range(count):
        d = root / f"team{i % 10}" / f"pool{i:03d}"
        d.mkdir(parents=True)
        slots = 1 + i % 4
        (d / "batchspec.yaml").write_text(
            f"""batchspec: 1
variables:
  max_nodes: {5 + i % 20}
pool:
  id: pool-{i:03d}
  vmSize: {SIZES[i % len(SIZES)]}
  image:
    publisher: canonical
    offer: 0001-com-ubuntu-server-jammy
    sku: 22_04-lts
    version: latest
  taskSlotsPerNode: {slots}
  taskSchedulingPolicy:
    nodeFillType: Pack
  autoScale:
    formulaFile: autoscale.formula
    evaluationInterval: PT5M
  startTask:
    scriptFile: start.sh
    elevation: admin
    waitForSuccess: true
  metadata:
    owner: team{i % 10}
jobs:
  - id: job-{i:03d}
    tasks:
      - id: t1
        commandLine: /bin/bash -c 'echo {i}'
"""
        )
        (d / "autoscale.formula").write_text(
            f"""// pool {i}
$samples = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 5);
$pending = $samples < 70 ? max(0, $PendingTasks.GetSample(1)) : max($PendingTasks.GetSample(TimeInterval_Minute * 5));
$TargetDedicatedNodes = min({5 + i % 20}, ceil($pending / {slots}));
$NodeDeallocationOption = taskcompletion;
"""
        )
        (d / "start.sh").write_text(
            f"apt-get update\napt-get install -y --no-install-recommends tool{i}\n"
            f"python3 -m pip install package{i}==1.{i}.0\n"
        )


def _interleaved(a: Callable[[], None], b: Callable[[], None], runs: int) -> tuple[Stats, Stats]:
    """Time a and b alternately (a, b, a, b, ...) so a shared machine's load swings hit both alike."""
    a()
    b()
    sa: list[float] = []
    sb: list[float] = []
    for _ in range(runs):
        for fn, out in ((a, sa), (b, sb)):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return (
        Stats(statistics.median(sa), min(sa), max(sa), runs),
        Stats(statistics.median(sb), min(sb), max(sb), runs),
    )


def _load() -> str:
    try:
        return "load average %.1f, %.1f, %.1f" % os.getloadavg()
    except OSError:
        return "load average unknown"


def run(quick: bool) -> list[Result]:
    tmp = Path(tempfile.mkdtemp(prefix="batchspec-bench-"))
    _ENV["BATCHSPEC_CACHE_DIR"] = str(tmp / "cache")  # never the user's cache
    runs = 3 if quick else 7
    batchspec = [str(BIN / "batchspec"), "validate", "--format", "concise", str(SEED)]
    checker = [
        str(BIN / "check-jsonschema"),
        "--schemafile",
        str(REPO / "schemas" / "pool.schema.json"),
        str(SEED),
    ]
    ours, theirs = _interleaved(lambda: _run(batchspec), lambda: _run(checker), runs)
    results = [
        Result(
            issue=6,
            name="validate the seed pool (whole process)",
            figure=ours.fmt("s"),
            target="no slower than check-jsonschema on the same file and schema",
            met=ours.median <= theirs.median,
            baseline=f"check-jsonschema {theirs.fmt('s')}",
            ratio=f"{theirs.median / ours.median:.2f}x as fast",
            notes=[
                "batchspec also lints the formula, runs the pool rules and the start-task checks (shellcheck)",
                "timed interleaved with the baseline; " + _load(),
            ],
        )
    ]
    try:
        make_tree(tmp / "tree")
        t0 = time.perf_counter()
        _run([str(BIN / "batchspec"), "validate", "--format", "concise", str(tmp / "tree")])
        cold = time.perf_counter() - t0
        tree = repeat(
            lambda: _run([str(BIN / "batchspec"), "validate", "--format", "concise", str(tmp / "tree")]),
            2 if quick else 5,
        )
        results.append(
            Result(
                issue=6,
                name="validate a tree of 200 specs (+200 formula files, 200 scripts)",
                figure=tree.fmt("s"),
                target="< 3 s",
                met=tree.median < 3.0,
                notes=[
                    f"first run with an empty shellcheck cache: {cold:.2f} s (shellcheck runs once per script)",
                    _load() + " (2 cores shared with other work inflates these figures)",
                ],
            )
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results


if __name__ == "__main__":
    for r in run("--quick" in sys.argv):
        status = {True: "met", False: "NOT met", None: "-"}[r.met]
        print(
            f"[{status}] {r.name}: {r.figure}  target {r.target}"
            + (f"  baseline {r.baseline} ({r.ratio})" if r.baseline else "")
        )
