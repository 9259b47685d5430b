"""Shared benchmark plumbing: repeated timing, medians and ranges, results with their baselines.

A benchmark module under ``bench/`` exposes ``run(quick: bool) -> list[Result]``. Each Result carries the figure,
the baseline measured in the same run (when the target is a ratio), and the target it is judged against.
Machines are shared and noisy: quote medians, compare ratios.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Stats:
    median: float
    low: float
    high: float
    runs: int

    def fmt(self, unit: str, digits: int = 3) -> str:
        return f"{self.median:.{digits}g} {unit} (range {self.low:.{digits}g}–{self.high:.{digits}g}, n={self.runs})"


def repeat(fn: Callable[[], object], runs: int, warmup: int = 1) -> Stats:
    """Wall-clock seconds of ``fn`` over ``runs`` calls, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return Stats(statistics.median(samples), min(samples), max(samples), runs)


def rate(fn: Callable[[], object], items_per_call: int, runs: int, warmup: int = 1) -> Stats:
    """Items per second of ``fn`` (each call handles ``items_per_call`` items); median over ``runs``."""
    s = repeat(fn, runs, warmup)
    rates = sorted(items_per_call / x for x in (s.median, s.low, s.high))
    return Stats(items_per_call / s.median, rates[0], rates[-1], runs)


@dataclass
class Result:
    issue: int  # the issue that set the target
    name: str  # what was measured
    figure: str  # the measured value with unit, median and range
    target: str  # the target as the issue states it
    met: bool | None  # None when there is no pass/fail target
    baseline: str = ""  # the baseline figure measured in the same run, if any
    ratio: str = ""  # figure vs baseline
    notes: list[str] = field(default_factory=list)
