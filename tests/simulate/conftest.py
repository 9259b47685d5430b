"""Helpers for simulator tests: small scenarios and Python controllers (for the pure simulation logic)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from batchspec.sim.scenario import Scenario, parse_scenario
from batchspec.sim.state import EvalResult, EvalState, MetricSeries


def scenario(text: str, path: str = "test.yaml", files: dict[str, str] | None = None) -> Scenario:
    """Parse a scenario that must be valid."""

    def read(rel: str) -> tuple[str, str]:
        if files is None or rel not in files:
            raise FileNotFoundError(2, "No such file or directory")
        return rel, files[rel]

    sc, diags = parse_scenario(text, path, read)
    assert sc is not None, diags
    return sc


def result(ded: int, lp: int = 0, option: str = "requeue") -> EvalResult:
    return EvalResult(
        f"$TargetDedicatedNodes={ded};$TargetLowPriorityNodes={lp};$NodeDeallocationOption={option}",
        ded,
        lp,
        option,
    )


@dataclass
class Scripted:
    """Targets as a function of the evaluation time (seconds since start); records every state it sees."""

    decide: Callable[[float], tuple[int, int]]
    option: str = "requeue"
    start_epoch: float = 1704067200.0  # 2024-01-01T00:00:00Z, the scenario default
    seen: list[EvalState] = field(default_factory=list)

    def evaluate(self, state: EvalState) -> EvalResult:
        # the simulator shares its growing sample lists between evaluations: keep a copy
        metrics = {k: MetricSeries(list(v.values), v.end, v.period) for k, v in state.metrics.items()}
        self.seen.append(replace(state, metrics=metrics))
        t = state.time.timestamp() - self.start_epoch
        ded, lp = self.decide(t)
        return result(ded, lp, self.option)


@dataclass
class PendingProportional:
    """One node per ``per_node`` pending tasks, from the newest available $PendingTasks sample, capped."""

    per_node: int = 1
    cap: int = 10
    low_priority: bool = False

    def evaluate(self, state: EvalState) -> EvalResult:
        series = state.metrics.get("$PendingTasks")
        values = [v for v in (series.values if series else []) if v is not None]
        want = min(self.cap, math.ceil(values[-1] / self.per_node)) if values else 0
        return result(0, want) if self.low_priority else result(want, 0)
