"""bench/simulate.py must not rot: its scenario and formula still work (tiny sizes; no timing is asserted)."""

from __future__ import annotations

from bench import simulate as bench_simulate


def test_bench_pieces_run() -> None:
    seconds, tasks, summary = bench_simulate._sim_time(0.25, 300, 1)
    assert seconds > 0 and 200 < tasks < 400
    assert summary["evaluations"] == 73 and summary["evaluation_errors"] == 0
    assert summary["tasks_completed"] > 0
