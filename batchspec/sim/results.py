"""Turning the end state of an evaluation into an ``EvalResult``: the exact ``results`` string and the
targets.

Shared by the interpreter and the compiled form so that both print byte-identical results.

``results`` (reference §6.5, R1-R7): ``$TargetDedicatedNodes``, ``$TargetLowPriorityNodes`` (always both,
canonical names even when an alias was assigned), ``$NodeDeallocationOption``, then every user variable sorted
by ordinal order of its name as written; ``;`` between items, none at the end; targets print their raw value
(``0.5``), the pool applies them truncated toward zero and clamped to 0..2147483647 (A19). On an error the
string still holds what was assigned before the failing statement (A22) but the pool keeps its targets.
"""

from __future__ import annotations

from batchspec.sim.state import EvalError, EvalErrorValue, EvalResult, EvalState
from batchspec.sim.values import EvalFailure, format_value

INT32_MAX = 2_147_483_647


def applied_target(value: float) -> int:
    """The node count the service applies for a target value: truncated toward zero, clamped at 0 (A19)."""
    if value <= 0.0:
        return 0
    if value >= INT32_MAX:
        return INT32_MAX
    return int(value)


def results_string(dedicated: float, low_priority: float, deallocation: str, user: dict[str, object]) -> str:
    head = (
        "$TargetDedicatedNodes="
        + format_value(dedicated)
        + ";$TargetLowPriorityNodes="
        + format_value(low_priority)
        + ";$NodeDeallocationOption="
        + deallocation
    )
    if not user:
        return head
    return head + "".join([";" + name + "=" + format_value(user[name]) for name in sorted(user)])


def to_error(failure: EvalFailure) -> EvalError:
    return EvalError(
        code=failure.code,
        message=failure.message,
        values=(EvalErrorValue("Message", failure.value),),
        line=failure.line,
        col=failure.col,
    )


def assemble(
    state: EvalState,
    *,
    dedicated: float,
    low_priority: float,
    deallocation: str,
    user: dict[str, object],
    service: dict[str, object],
    error: EvalFailure | None,
    results: str | None = None,
) -> EvalResult:
    """``service`` holds the service variables assigned (canonical names); ``results`` may be precomputed."""
    if results is None:
        results = results_string(dedicated, low_priority, deallocation, user)
    variables = dict(user)
    variables.update(service)
    if error is not None:
        pool = state.pool
        return EvalResult(
            results=results,
            target_dedicated_nodes=pool.target_dedicated_nodes,
            target_low_priority_nodes=pool.target_low_priority_nodes,
            node_deallocation_option=pool.node_deallocation_option,
            variables=variables,
            error=to_error(error),
        )
    return EvalResult(
        results=results,
        target_dedicated_nodes=applied_target(dedicated),
        target_low_priority_nodes=applied_target(low_priority),
        node_deallocation_option=deallocation,
        variables=variables,
    )
