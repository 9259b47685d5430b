"""bench/local.py --quick still runs (figures are reported, not asserted: benchmarks are not timed tests)."""

from __future__ import annotations


def test_local_benchmark_runs_quick() -> None:
    from bench.local import run

    results = run(quick=True)
    assert [r.issue for r in results] == [7, 7, 7]
    assert "0 failed" in results[1].figure
    assert results[2].figure.endswith("ms/task")
