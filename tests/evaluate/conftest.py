"""Helpers for the evaluator tests: build states tersely, evaluate with BOTH strategies and insist they agree."""

# ruff: noqa: E501 - formulas and expected results strings are verbatim from the reference: never split them

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from batchspec.formula import check_formula
from batchspec.sim.compiled import compile_formula
from batchspec.sim.evaluator import interpret
from batchspec.sim.state import EvalResult, EvalState, MetricSeries, PoolState

T0 = datetime(2023, 3, 13, 22, 0, tzinfo=timezone.utc)  # a Monday
P = "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"


def state(
    *,
    time: datetime = T0,
    dedicated: int = 0,
    low_priority: int = 0,
    current_dedicated: int = 0,
    slots: int = 1,
    seed: int | None = None,
    **metrics: list[float | None] | MetricSeries,
) -> EvalState:
    """``state(ActiveTasks=[1, 2, 3])``: each metric's values oldest first, the newest taken at ``time``."""
    series = {
        f"${name}": value if isinstance(value, MetricSeries) else MetricSeries(list(value), time)
        for name, value in metrics.items()
    }
    pool = PoolState(
        target_dedicated_nodes=dedicated,
        target_low_priority_nodes=low_priority,
        current_dedicated_nodes=current_dedicated,
        task_slots_per_node=slots,
    )
    return EvalState(time=time, pool=pool, metrics=series, seed=seed)


def window(available: int, expected: int, value: float = 0.0, *, time: datetime = T0) -> MetricSeries:
    """``expected`` 30-s samples ending at ``time`` of which only ``available`` are present (the oldest missing)."""
    values: list[float | None] = [None] * (expected - available) + [value] * available
    return MetricSeries(values, time, timedelta(seconds=30))


def evaluate(text: str, st: EvalState | None = None) -> EvalResult:
    """Evaluate ``text`` (which must pass the front end) with the interpreter and the compiled form; they must agree."""
    formula, diagnostics = check_formula(text)
    errors = [d for d in diagnostics if d.severity.name == "ERROR"]
    assert formula is not None and not errors, errors
    st = st or state()
    reference = interpret(formula, st)
    compiled = compile_formula(formula).evaluate(st)
    assert compiled == reference, f"compiled form disagrees:\n{compiled}\n{reference}"
    return reference


def message(result: EvalResult) -> str:
    assert result.error is not None, result
    assert [v.name for v in result.error.values] == ["Message"]
    return result.error.values[0].value


def rejected(text: str) -> list[str]:
    """The codes of the front end's error diagnostics (the formula never reaches the evaluator)."""
    _, diagnostics = check_formula(text)
    codes = [d.code for d in diagnostics if d.severity.name == "ERROR"]
    assert codes, f"expected {text!r} to be rejected"
    return codes
