"""The terminal chart, CSV and percentile helpers."""

from __future__ import annotations

import pytest

from batchspec.sim.report import chart_lines, run_percentiles, to_csv
from batchspec.sim.simulator import FixedController, simulate
from tests.simulate.conftest import Scripted, scenario

SC = """
duration: 2h
evaluation_interval: 15m
pool: {allocation_delay: 10m, max_dedicated: 40}
workload: [{at: 0s, tasks: 30, duration: 20m}]
"""


def test_chart_shows_queue_nodes_target_gap_and_errors() -> None:
    from batchspec.sim.state import EvalError, EvalResult

    class FirstFails:
        n = 0

        def evaluate(self, state):  # type: ignore[no-untyped-def]
            self.n += 1
            if self.n == 1:
                return EvalResult("", 0, 0, "requeue", error=EvalError("InsufficientSampleData", "x"))
            return EvalResult("", 20, 0, "requeue")

    res = simulate(scenario(SC), FirstFails())
    lines = chart_lines(res, width=24, height=6)
    text = "\n".join(lines)
    assert lines[1].startswith("  30 │")  # the queue starts at 30 and fills the first columns
    assert lines[1].split("│")[1].startswith("██")
    node_rows = [line for line in lines if line.startswith(("  20 │", "     │")) and "·" in line]
    assert node_rows, text  # the target (20) is above the nodes while they are being allocated
    # the legend sits with the other node symbols; the row under the axis holds only the markers, under the time
    # of the failed evaluation (the first, at t=0: the first column)
    header = next(line for line in lines if "nodes: █ dedicated" in line)
    assert header.endswith("· target not reached   ✗ failed evaluation (1 of 9)")
    assert lines[-1] == " " * (len(lines[-1]) - 1) + "✗"
    assert lines[-1].index("✗") == lines[1].index("│") + 1
    assert "\x1b[" not in text
    colored = "\n".join(chart_lines(res, width=24, height=6, color=True))
    assert "\x1b[36m" in colored and "\x1b[34m" in colored and "\x1b[31m" in colored


def test_one_node_stays_visible_on_a_large_scale() -> None:
    ctl = Scripted(lambda t: (1, 30) if t < 3600 else (1, 0))
    res = simulate(scenario(SC), ctl)
    lines = chart_lines(res, width=30, height=5)
    nodes = lines[lines.index(next(line for line in lines if line.strip().startswith("nodes:"))) + 1 :]
    bottom = nodes[4]
    assert bottom.split("│")[1].rstrip().endswith("█"), lines  # the dedicated node after the spot nodes left


def test_csv_compare_has_formula_column() -> None:
    sc = scenario(SC)
    a = simulate(sc, FixedController(1, 0), name="a")
    b = simulate(sc, FixedController(2, 0), name="b")
    text = to_csv([a, b])
    header, first = text.splitlines()[:2]
    assert header.startswith("formula,t_s,time,active,running")
    assert first.startswith("a,0,2024-01-01T00:00:00.000Z,")
    assert text.count("\nb,") == len(b.timeline)


def test_run_percentiles() -> None:
    summaries = [{"cost": float(i), "makespan_s": None if i == 3 else i * 10.0} for i in range(1, 101)]
    full = [dict(s, **{k: 0 for k in ("tasks_submitted",)}) for s in summaries]
    pct = run_percentiles(full)
    assert pct["cost"]["p50"] == 50 and pct["cost"]["p95"] == 95 and pct["cost"]["p5"] == 5
    assert pct["makespan_s"]["n"] == 99 and pct["makespan_s"]["min"] == 10
    assert pct["wait_p95_s"]["p50"] is None


@pytest.mark.parametrize(
    ("span", "unit", "step"),
    [
        (48, "hours", 6),
        (6, "hours", 1),
        (8, "hours", 1),
        (3, "hours", 0.5),
        (24, "hours", 3),
        (7, "days", 1),
        (30, "days", 7),
    ],
)
def test_plot_time_ticks_fall_on_clock_steps(span: float, unit: str, step: float) -> None:
    from batchspec.sim.plot import time_tick_step

    assert time_tick_step(span, unit) == step
    assert span / step <= 8
