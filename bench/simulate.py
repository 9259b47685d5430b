"""Autoscale simulator benchmark (issue 5).

* A 7-day simulation with 30-s samples, a 5-minute evaluation interval and 50,000 tasks, driven by a real compiled
  formula: target < 2 s. Baseline in the same run: the same simulation with a fixed-size pool (no formula), which
  shows what the formula evaluations cost on top of the pool model.
* ``--runs 100`` (100 seeds of that 7-day simulation, parallel worker processes): target < 60 s.
* How the cost grows with the simulated duration and with the task count (a small table in the notes).

Run alone with ``python -m bench.simulate [--quick]``.
"""

from __future__ import annotations

import os
import sys
import time

from batchspec.sim import compile_text
from batchspec.sim.scenario import parse_scenario
from batchspec.sim.simulator import FixedController, Settings, metrics_read_by, simulate
from batchspec.sim.workloads import generate
from bench.harness import Result, repeat

FORMULA = """\
// pending tasks, guarded for a new pool; spot nodes up to 100, one dedicated node
samplePercent = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 10);
pending = samplePercent < 70 ? max(0, $PendingTasks.GetSample(1)) : max($PendingTasks.GetSample(1), avg($PendingTasks.GetSample(TimeInterval_Minute * 10)));
$TargetDedicatedNodes = 1;
$TargetLowPriorityNodes = min(100, max(0, ceil(pending / $TaskSlotsPerNode) - 1));
$NodeDeallocationOption = taskcompletion;
"""

WEEK = """
duration: {duration}
evaluation_interval: 5m
seed: 1
pool:
  task_slots_per_node: 2
  allocation_delay: {{dedicated: 4m, low_priority: {{exponential: {{mean: 6m}}}}}}
  start_task: 2m
  preemption_rate: 0.05/h
  max_low_priority: 200
workload:
  - rate: {rate}/h
    duration: {{lognormal: {{median: 5m, sigma: 0.6}}}}
"""


def _scenario(text: str):  # type: ignore[no-untyped-def]
    sc, diags = parse_scenario(text, "bench.yaml")
    assert sc is not None, diags
    return sc


def _week(days: float, tasks: int):  # type: ignore[no-untyped-def]
    return _scenario(WEEK.format(duration=f"{days * 24:g}h", rate=f"{tasks / (days * 24):.4f}"))


def _sim_time(days: float, tasks: int, runs: int) -> tuple[float, int, dict]:  # type: ignore[type-arg]
    sc = _week(days, tasks)
    formula = compile_text(FORMULA, "bench.formula")
    metrics = metrics_read_by(FORMULA)
    workload = generate(sc)
    out: dict = {}  # type: ignore[type-arg]

    def once() -> None:
        out["res"] = simulate(sc, formula, workload=workload, metrics=metrics)

    stats = repeat(once, runs)
    return stats.median, len(workload), out["res"].summary


def run(quick: bool) -> list[Result]:
    results: list[Result] = []
    runs = 3 if quick else 5
    # --- 7 days, 50,000 tasks, real formula vs a fixed pool
    sc = _week(7, 50_000)
    workload = generate(sc)
    formula = compile_text(FORMULA, "bench.formula")
    metrics = metrics_read_by(FORMULA)
    t_gen = repeat(lambda: generate(sc), 1 if quick else 3, warmup=0)
    holder: dict = {}  # type: ignore[type-arg]

    def with_formula() -> None:
        holder["res"] = simulate(sc, formula, workload=workload, metrics=metrics)

    def fixed_pool() -> None:
        simulate(sc, FixedController(1, 25), workload=workload, metrics=frozenset())

    cpu0 = time.process_time()
    with_formula()
    cpu_one = time.process_time() - cpu0  # CPU seconds of one run: robust when the shared cores are busy
    s_formula = repeat(with_formula, runs)
    s_fixed = repeat(fixed_pool, runs)
    summary = holder["res"].summary
    total = s_formula.median + t_gen.median
    results.append(
        Result(
            issue=5,
            name=f"simulate 7 days, 30-s samples, PT5M, {len(workload):,} tasks, real formula (incl. workload generation)",
            figure=s_formula.fmt("s") + f" + {t_gen.median:.3f} s workload generation",
            target="< 2 s",
            met=total < 2.0,
            baseline=f"{s_fixed.median:.3f} s with a fixed-size pool (no formula)",
            ratio=f"{s_formula.median / s_fixed.median:.2f}x",
            notes=[
                f"CPU time of one run {cpu_one:.3f} s (wall-clock figures depend on how busy the shared cores are; "
                f"load average {os.getloadavg()[0]:.1f})",
                f"{summary['evaluations']} evaluations, {summary['preemptions']} preemptions, peak "
                f"{summary['peak_low_priority_nodes']} spot nodes, {summary['tasks_completed']:,} tasks completed"
            ],
        )
    )
    # --- --runs 100 through the CLI's parallel driver
    from batchspec.cli.simulate import Progress, Subject, run_many

    subject = Subject("bench.formula", "bench.formula", FORMULA, 300.0, 2, "spread")
    example = sc  # the 7-day, 50,000-task scenario above: the heavy case
    n_runs = 10 if quick else 100
    jobs = min(2, os.cpu_count() or 1)
    import resource

    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    summaries = run_many(subject, example, n_runs, jobs, Progress("", False))
    elapsed = time.perf_counter() - t0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker_cpu = (children.ru_utime - children_before.ru_utime) + (
        children.ru_stime - children_before.ru_stime
    )
    single = repeat(
        lambda: simulate(example, formula, metrics=metrics, settings=Settings.resolve(example)),
        1 if quick else 3,
    )
    results.append(
        Result(
            issue=5,
            name=f"--runs {n_runs}: {n_runs} seeds of the 7-day 50,000-task simulation, {jobs} worker processes",
            figure=f"{elapsed:.2f} s ({n_runs / elapsed:.1f} runs/s)",
            target="< 60 s for 100 runs" + (" (quick: 10 runs, scaled)" if quick else ""),
            met=elapsed * (100 / n_runs) < 60.0,
            baseline=f"{single.median * n_runs:.2f} s for {n_runs} sequential runs in this process (median run x N)",
            ratio=f"{single.median * n_runs / elapsed:.2f}x",
            notes=[
                f"{len(summaries)} summaries; tasks submitted per run {min(s['tasks_submitted'] for s in summaries)}"
                f"..{max(s['tasks_submitted'] for s in summaries)}; worker CPU time {worker_cpu:.1f} s in total "
                f"({worker_cpu / n_runs:.2f} s per run; wall time depends on how busy the shared cores are, load "
                f"average {os.getloadavg()[0]:.1f})"
            ],
        )
    )
    # --- cost vs duration and task count
    grid = (
        [(1, 10_000), (7, 10_000), (7, 50_000)]
        if quick
        else [(1, 10_000), (3, 10_000), (7, 10_000), (7, 50_000), (7, 100_000), (14, 100_000)]
    )
    rows = ["| simulated days | tasks | events/s | wall time |", "|---|---|---|---|"]
    for days, tasks in grid:
        median, n, _ = _sim_time(days, tasks, 1 if quick else 3)
        rows.append(f"| {days} | {n:,} | {(n * 2 + days * 86400 / 30) / median:,.0f} | {median:.3f} s |")
    results.append(
        Result(
            issue=5,
            name="simulator cost vs simulated duration and task count (table in notes)",
            figure=" · ".join(r.split("|")[4].strip() for r in rows[2:]),
            target="grows linearly with events (tasks x 2 + samples)",
            met=None,
            notes=["cost table:\n\n  " + "\n  ".join(rows) + "\n"],
        )
    )
    return results


if __name__ == "__main__":
    for r in run("--quick" in sys.argv):
        print(
            f"{r.name}: {r.figure} — baseline {r.baseline or '-'} ({r.ratio or '-'}) — target {r.target}: "
            f"{'met' if r.met else 'NOT met' if r.met is False else '-'}"
        )
        for n in r.notes:
            print("   ", n)
