"""Turn a scenario's workload items into a seeded, time-ordered list of tasks.

The workload depends only on the scenario and the seed, never on the formula, so ``--compare`` runs every
formula on exactly the same tasks.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from batchspec.sim.scenario import Burst, Diurnal, Replay, Scenario, Stream, WorkloadItem


@dataclass(frozen=True, slots=True)
class Workload:
    """Tasks in submission order (ties keep item order). Parallel tuples for speed."""

    submit_s: tuple[float, ...]
    duration_s: tuple[float, ...]
    slots: tuple[int, ...]
    fails: tuple[bool, ...]  # the task ends in failure (exit code != 0) when it runs to the end

    def __len__(self) -> int:
        return len(self.submit_s)


def generate(scenario: Scenario, seed: int | None = None) -> Workload:
    """All tasks submitted within ``[0, duration]``."""
    seed = scenario.seed if seed is None else seed
    horizon = scenario.duration_s
    rows: list[tuple[float, int, float, int, bool]] = []
    for index, item in enumerate(scenario.workload):
        # one RNG stream per item, so adding an item does not reshuffle the others
        rng = random.Random(f"batchspec-workload:{seed}:{index}")
        rows.extend((t, index, d, s, f) for t, d, s, f in _item_tasks(item, rng, horizon, scenario))
    rows.sort(key=lambda r: (r[0], r[1]))
    return Workload(
        tuple(r[0] for r in rows),
        tuple(r[2] for r in rows),
        tuple(r[3] for r in rows),
        tuple(r[4] for r in rows),
    )


def _item_tasks(
    item: WorkloadItem, rng: random.Random, horizon: float, sc: Scenario
) -> list[tuple[float, float, int, bool]]:
    out: list[tuple[float, float, int, bool]] = []
    if isinstance(item, Replay):
        fr = item.failure_rate
        for t, d, s in zip(item.submit_s, item.duration_s, item.slots, strict=False):
            if t <= horizon:
                out.append((t, d, s, fr > 0 and rng.random() < fr))
        return out
    times: list[float]
    if isinstance(item, Burst):
        if item.over_s > 0 and item.tasks > 1:
            step = item.over_s / item.tasks
            times = [item.at_s + i * step for i in range(item.tasks)]
        else:
            times = [item.at_s] * item.tasks
    elif isinstance(item, Stream):
        times = _poisson(rng, item.rate_per_s, item.from_s, min(horizon, item.until_s or horizon))
    else:
        times = _diurnal(rng, item, min(horizon, item.until_s or horizon), sc)
    dist, slots, fr = item.duration, item.slots, item.failure_rate
    sample = dist.sample
    for t in times:
        if t <= horizon:
            out.append((t, sample(rng), slots, fr > 0 and rng.random() < fr))
    return out


def _poisson(rng: random.Random, rate: float, start: float, end: float) -> list[float]:
    out: list[float] = []
    if rate <= 0:
        return out
    t = start
    expo = rng.expovariate
    while True:
        t += expo(rate)
        if t > end:
            return out
        out.append(t)


def _diurnal(rng: random.Random, item: Diurnal, end: float, sc: Scenario) -> list[float]:
    """Non-homogeneous Poisson process by thinning: candidates at the peak rate, kept with probability
    rate(t) / peak."""
    peak = item.peak_per_s * max(1.0, item.weekend_factor)
    if peak <= 0:
        return []
    start_epoch = sc.start.timestamp()
    candidates = _poisson(rng, peak, item.from_s, end)
    out = []
    for t in candidates:
        if rng.random() * peak <= diurnal_rate(item, start_epoch + t):
            out.append(t)
    return out


def diurnal_rate(item: Diurnal, epoch_s: float) -> float:
    """Tasks per second at a POSIX time: a cosine with its maximum at ``peak_at`` UTC."""
    day_s = epoch_s % 86400.0
    phase = 2 * math.pi * (day_s - item.peak_at_s) / 86400.0
    rate = item.trough_per_s + (item.peak_per_s - item.trough_per_s) * (1 + math.cos(phase)) / 2
    weekday = int(epoch_s // 86400.0 + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday
    if weekday >= 5:
        rate *= item.weekend_factor
    return rate
