"""Autoscale for the local service: metric samples, the evaluation state, and batchspec's formula evaluator.

The service takes a sample of every task and resource metric each 30 s of *service time* and exposes it to formulas
after a 60-s latency, as Batch does. ``time_scale`` compresses service time: with ``time_scale=60`` a 5-minute
evaluation interval passes in 5 real seconds and samples are taken every 0.5 s, while formulas still see 30-s
samples and 5-minute windows.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import deque
from dataclasses import dataclass

from batchspec.sim.state import EvalError, EvalResult, EvalState, MetricSeries, PoolState

SAMPLE_PERIOD = dt.timedelta(seconds=30)
SAMPLE_LATENCY = dt.timedelta(seconds=60)
HISTORY_LIMIT = 2 * 24 * 60 * 2  # two days of 30-s samples
METRICS = (
    "$CPUPercent", "$WallClockSeconds", "$MemoryBytes", "$DiskBytes", "$DiskReadBytes", "$DiskWriteBytes",
    "$DiskReadOps", "$DiskWriteOps", "$NetworkInBytes", "$NetworkOutBytes", "$SampleNodeCount",
    "$ActiveTasks", "$RunningTasks", "$PendingTasks", "$SucceededTasks", "$FailedTasks",
    "$TaskSlotsPerNode",
)


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


def eval_state(now: dt.datetime, pool: PoolState, history: MetricHistory, seed: int | None = None) -> EvalState:
    return EvalState(time=now, pool=pool, metrics=history.series(now), seed=seed)


# --- the evaluator -----------------------------------------------------------------------------------------------
_cache: dict[str, object] = {}
_cache_lock = threading.Lock()


def _compile(text: str):
    """batchspec's compiled evaluator (EVAL's ``batchspec.sim.compile_text``), cached per formula text.

    Raises ``FormulaError`` with the service-style message when the formula does not compile.
    """
    with _cache_lock:
        hit = _cache.get(text)
    if hit is not None:
        return hit
    try:
        from batchspec.sim import compile_text  # type: ignore[attr-defined]
    except ImportError:  # the evaluator is not in this build yet: a minimal stand-in (see _fallback)
        compiled = _FallbackFormula(text)
    else:
        from batchspec.errors import BatchspecError

        try:
            compiled = compile_text(text)
        except BatchspecError as exc:
            diags = getattr(exc, "diagnostics", None) or []
            first = diags[0] if diags else None
            if first is not None:
                raise FormulaError(
                    f"Line {first.span.start.line}, Col {first.span.start.col}: {first.message}"
                ) from None
            raise FormulaError(str(exc)) from None
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
        return EvalResult("", state.pool.target_dedicated_nodes, state.pool.target_low_priority_nodes,
                          state.pool.node_deallocation_option,
                          error=EvalError("InvalidAutoScaleFormula", str(exc)))
    return compiled.evaluate(state)  # type: ignore[attr-defined]


class _FallbackFormula:
    """Stand-in until the compiled evaluator is available: ``$Name = <arithmetic>;`` statements only."""

    def __init__(self, text: str) -> None:
        import ast
        import re

        self.statements: list[tuple[str, object]] = []
        stripped = re.sub(r"//[^\n]*", "", text)
        for raw in stripped.split(";"):
            raw = raw.strip()
            if not raw:
                continue
            name, eq, expr = raw.partition("=")
            name = name.strip()
            if not eq or not re.fullmatch(r"\$?[A-Za-z_]\w*", name):
                raise FormulaError(f"Unsupported statement {raw!r}")
            try:
                tree = ast.parse(expr.replace("$", "S_").strip(), mode="eval")
            except SyntaxError:
                raise FormulaError(f"Unsupported expression {expr.strip()!r}") from None
            self.statements.append((name, tree))

    def evaluate(self, state: EvalState) -> EvalResult:
        import ast

        env: dict[str, float] = {
            "S_CurrentDedicatedNodes": state.pool.current_dedicated_nodes,
            "S_CurrentLowPriorityNodes": state.pool.current_low_priority_nodes,
            "S_TargetDedicatedNodes": state.pool.target_dedicated_nodes,
            "S_TargetLowPriorityNodes": state.pool.target_low_priority_nodes,
        }
        dealloc = state.pool.node_deallocation_option
        variables: dict[str, object] = {}

        def ev(node):
            if isinstance(node, ast.Expression):
                return ev(node.body)
            if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
                return float(node.value)
            if isinstance(node, ast.Name):
                if node.id in env:
                    return env[node.id]
                if node.id in ("requeue", "terminate", "taskcompletion", "retaineddata"):
                    return node.id
                raise FormulaError(f"undefined variable {node.id.replace('S_', '$')}")
            if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
                return -ev(node.operand)
            if isinstance(node, ast.BinOp):
                a, b = ev(node.left), ev(node.right)
                ops = {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b} if not isinstance(node.op, ast.Div) else {}
                if isinstance(node.op, ast.Div):
                    return a / b if b else float("inf")
                if type(node.op) in ops:
                    return ops[type(node.op)]
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max"):
                args = [ev(a) for a in node.args]
                return (min if node.func.id == "min" else max)(args)
            raise FormulaError("unsupported expression")

        try:
            for name, tree in self.statements:
                value = ev(tree)
                key = name if name.startswith("$") else name
                variables[key] = value
                if name.startswith("$"):
                    env["S_" + name[1:]] = value  # type: ignore[assignment]
                    if name == "$NodeDeallocationOption":
                        dealloc = str(value)
        except FormulaError as exc:
            return EvalResult("", state.pool.target_dedicated_nodes, state.pool.target_low_priority_nodes, dealloc,
                              error=EvalError("FormulaEvaluationError", str(exc)))
        ded = int(env["S_TargetDedicatedNodes"])
        low = int(env["S_TargetLowPriorityNodes"])
        shown = "".join(f"{k}={_fmt(v)};" for k, v in variables.items())
        results = shown + "".join(
            f"{k}={v};" for k, v in (("$TargetDedicatedNodes", ded), ("$TargetLowPriorityNodes", low),
                                     ("$NodeDeallocationOption", dealloc)) if k not in variables
        )
        return EvalResult(results.rstrip(";"), ded, low, dealloc, variables)


def _fmt(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
