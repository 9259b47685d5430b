"""Autoscale for the local service: metric samples, the evaluation state, and batchspec's formula evaluator.

The service takes a sample of every task and resource metric each 30 s of *service time* and exposes it to formulas
after a 30-s latency (one sample period; see SAMPLE_LATENCY). ``time_scale`` compresses service time: with ``time_scale=60`` a 5-minute
evaluation interval passes in 5 real seconds and samples are taken every 0.5 s, while formulas still see 30-s
samples and 5-minute windows.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import deque
from dataclasses import dataclass

from batchspec.formula.builtins import SERVICE_VARIABLES
from batchspec.sim.state import EvalError, EvalResult, EvalState, MetricSeries, PoolState

SAMPLE_PERIOD = dt.timedelta(seconds=30)
# Samples reach formulas late; the service ground truth GetSamplePercent(15 min) = 96.6667 (29 of 30 samples)
# puts the delay at up to one sample period.
SAMPLE_LATENCY = dt.timedelta(seconds=30)
HISTORY_LIMIT = 2 * 24 * 60 * 2  # two days of 30-s samples
# every sampled metric, by canonical name, from the one builtins table (retired ones included: they still read as
# series, with no samples)
METRICS = tuple(v.name for v in SERVICE_VARIABLES.values() if v.sampled and v.alias_of is None)


class ServiceClock:
    """Service time: real time since ``origin`` stretched by ``time_scale``."""

    def __init__(self, time_scale: float, origin: dt.datetime | None = None) -> None:
        self.time_scale = time_scale
        self.origin = origin or dt.datetime.now(dt.timezone.utc)

    def now(self) -> dt.datetime:
        real = dt.datetime.now(dt.timezone.utc) - self.origin
        return self.origin + real * self.time_scale

    def real_seconds(self, service: dt.timedelta) -> float:
        return service.total_seconds() / self.time_scale


@dataclass
class Sample:
    time: dt.datetime
    values: dict[str, float]


class MetricHistory:
    def __init__(self) -> None:
        self.samples: deque[Sample] = deque(maxlen=HISTORY_LIMIT)
        self._lock = threading.Lock()

    def add(self, sample: Sample) -> None:
        with self._lock:
            self.samples.append(sample)

    def clear(self) -> None:
        with self._lock:
            self.samples.clear()

    def series(self, now: dt.datetime) -> dict[str, MetricSeries]:
        """What a formula evaluated at ``now`` can read: samples older than the latency, oldest first."""
        cutoff = now - SAMPLE_LATENCY
        with self._lock:
            available = [s for s in self.samples if s.time <= cutoff]
        end = available[-1].time if available else now
        return {
            name: MetricSeries([s.values.get(name) for s in available], end=end, period=SAMPLE_PERIOD)
            for name in METRICS
        }


def eval_state(
    now: dt.datetime, pool: PoolState, history: MetricHistory, seed: int | None = None
) -> EvalState:
    return EvalState(time=now, pool=pool, metrics=history.series(now), seed=seed)


# --- the evaluator -----------------------------------------------------------------------------------------------
_cache: dict[str, object] = {}
_cache_lock = threading.Lock()


def _compile(text: str):
    """batchspec's compiled evaluator (``batchspec.sim.compile_text``), cached per formula text.

    Raises ``FormulaError`` with the service-style message when the formula does not compile.
    """
    with _cache_lock:
        hit = _cache.get(text)
    if hit is not None:
        return hit
    from batchspec.diagnostics.model import Severity
    from batchspec.sim import FormulaCheckError, compile_text

    try:
        compiled = compile_text(text)
    except FormulaCheckError as exc:
        first = next((d for d in exc.diagnostics if d.severity >= Severity.ERROR), None)
        if first is None:
            raise FormulaError(str(exc)) from None
        raise FormulaError(
            f"Line {first.span.start.line}, Col {first.span.start.col}: {first.message}"
        ) from None
    with _cache_lock:
        if len(_cache) > 256:
            _cache.clear()
        _cache[text] = compiled
    return compiled


class FormulaError(Exception):
    """The formula does not compile (the service's InvalidAutoScaleFormula)."""


def check(text: str) -> None:
    """Raise FormulaError when ``text`` is not a valid formula."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("The autoscale formula is empty")
    if len(text) > 8192:
        raise FormulaError(f"The autoscale formula has {len(text)} characters; the limit is 8192")
    _compile(text)


def evaluate(text: str, state: EvalState) -> EvalResult:
    """Evaluate a formula; compile errors come back as an EvalResult with ``error`` set, like the service's run."""
    try:
        compiled = _compile(text)
    except FormulaError as exc:
        return EvalResult(
            "",
            state.pool.target_dedicated_nodes,
            state.pool.target_low_priority_nodes,
            state.pool.node_deallocation_option,
            error=EvalError("InvalidAutoScaleFormula", str(exc)),
        )
    return compiled.evaluate(state)  # type: ignore[attr-defined]
