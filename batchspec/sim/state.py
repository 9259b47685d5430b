"""What a formula evaluation reads and what it produces.

Shared contract between the evaluator (interpreter and compiled form), ``batchspec evaluate formula``,
the simulator and the local Batch service. Keep field names stable; add fields with defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(slots=True)
class MetricSeries:
    """Samples of one service metric that are *available* at evaluation time, oldest first.

    ``values[-1]`` is the newest sample, taken at ``end``; sample i is at ``end - (len-1-i) * period``.
    ``None`` is a sample that is missing (it counts against GetSamplePercent).
    """

    values: list[float | None]
    end: datetime
    period: timedelta = timedelta(seconds=30)


@dataclass(slots=True)
class PoolState:
    """The pool's current state, as the service exposes it to the formula."""

    target_dedicated_nodes: int = 0
    target_low_priority_nodes: int = 0
    current_dedicated_nodes: int = 0
    current_low_priority_nodes: int = 0
    preempted_node_count: int = 0
    usable_node_count: int = 0
    task_slots_per_node: int = 1
    node_deallocation_option: str = "requeue"


@dataclass(slots=True)
class EvalState:
    time: datetime  # the evaluation instant (timezone-aware UTC)
    pool: PoolState = field(default_factory=PoolState)
    metrics: dict[str, MetricSeries] = field(default_factory=dict)  # keyed by canonical name with "$"
    seed: int | None = None  # seeds rand()
    # what a time-window GetSample requires when the formula gives no percentage (reference A14: SHIP's 70%)
    default_sample_percent: float = 70.0
    # the order of the vectors GetSample returns (reference A15: undocumented; chronological by default)
    newest_first: bool = False
    # val(v, i) with i outside v (or fractional) is an error instead of 0 (the strict mode of reference A32)
    strict_index: bool = False


@dataclass(frozen=True, slots=True)
class EvalErrorValue:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class EvalError:
    """Shaped like the service's AutoScaleRun.error: code, message, values [{name, value}]."""

    code: str
    message: str
    values: tuple[EvalErrorValue, ...] = ()
    line: int | None = None  # 1-based position of the failing expression, when known
    col: int | None = None


@dataclass(frozen=True, slots=True)
class EvalResult:
    """One evaluation. ``results`` is the exact string the service prints.

    On an error, ``results`` still lists what was assigned before the failing statement (reference A22) and
    the targets are the pool's current ones (the service leaves the pool unchanged).
    """

    results: str
    target_dedicated_nodes: int  # after truncation to an integer, as the service applies it
    target_low_priority_nodes: int
    node_deallocation_option: str
    variables: dict[str, object] = field(default_factory=dict)  # every assigned variable, by name with "$"
    error: EvalError | None = None
