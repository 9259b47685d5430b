"""bench/submit.py --quick still runs (figures are not asserted: benchmarks are not timed tests)."""

from __future__ import annotations


def test_submit_benchmark_runs_quick() -> None:
    from bench.submit import run

    results = run(quick=True)
    assert [r.issue for r in results] == [8, 8]
    assert "2,000 tasks" in results[1].figure
    assert "extrapolated" in results[1].baseline
