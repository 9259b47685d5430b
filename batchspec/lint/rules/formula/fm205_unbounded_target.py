from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from batchspec.diagnostics.model import Severity
from batchspec.lint.analysis import POOL_SIZE
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Edit, Example, Finding, Fix, FormulaRule
from batchspec.lint.rules.formula._util import fmt_num


def _negative_witness(ctx: FormulaContext, canonical: str) -> float | None:
    """Intervals only allow a negative value; report it when a concrete pool state reaches it."""
    from batchspec.lint.witness import find_negative_target

    return find_negative_target(ctx.formula, canonical)


class UnboundedTarget(FormulaRule):
    """A node target that can grow without an upper bound, or go negative.

    An interval (range) analysis follows every value through the formula: task metrics can be any count,
    `min(cap, …)`, `max(0, …)`, ternaries such as `x > 20 ? 20 : x` and clamps through variables bound them, and
    a target that grows from the pool's own size (`$CurrentDedicatedNodes * 1.1`) is unbounded even though each
    step is small. An unbounded target follows a burst of queued tasks up to the account's quota, which costs
    money and can exhaust the quota other pools need. A negative target is undocumented (batchspec assumes the
    service clamps it to 0); it is reported only when a concrete pool state reaches it (the range analysis is not
    relational, so a value the intervals merely allow is checked first).

    Set `max-nodes` to also flag targets whose bound is above it, and to let `--fix` add the cap
    (`min(max-nodes, …)`); `--fix` always adds `max(0, …)` to a target that can go negative.
    """

    code = "FM205"
    name = "unbounded-target"
    default_severity = Severity.WARNING
    fixable = True

    @dataclass(frozen=True)
    class Options:
        max_nodes: int | None = field(
            default=None,
            metadata={
                "doc": "the largest target you intend: higher bounds are reported, and --fix inserts this cap",
                "min": 0,
            },
        )

    examples = (
        Example(
            bad="$tasks = max(0, $PendingTasks.GetSample(1));\n$TargetDedicatedNodes = $tasks;",
            good="$tasks = max(0, $PendingTasks.GetSample(1));\n$TargetDedicatedNodes = min(20, $tasks);",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        opts = ctx.options(self)
        for canonical, t in sorted(ctx.analysis.final_targets().items()):
            v = t.value
            if not v.known or v.kind not in ("num", "vec"):
                continue
            st = t.statement
            name = st.target.name
            too_high = v.hi > POOL_SIZE * (1 + 1e-12)
            over_cap = opts.max_nodes is not None and not too_high and v.hi > opts.max_nodes
            witness = _negative_witness(ctx, canonical) if v.lo < 0 else None
            negative = witness is not None
            if not (too_high or over_cap or negative):
                continue
            value_text = ctx.source(st.value.span)
            wrapped = value_text
            if (too_high or over_cap) and opts.max_nodes is not None:
                wrapped = f"min({opts.max_nodes}, {wrapped})"
            if negative:
                wrapped = f"max(0, {wrapped})"
            fix = None
            if wrapped != value_text:
                fix = Fix(f"clamp {name}", (Edit(st.value.span, wrapped),))
            if too_high:
                if v.hi == float("inf") and v.src:
                    why = f'it grows with "{v.src}"'
                else:
                    why = "it grows from the pool's own size at every evaluation"
                message = f'"{name}" has no upper bound: {why}'
                if negative:
                    message += ", and it can be negative"
                hint = f"cap it, e.g. {name} = min(20, …)"
                if opts.max_nodes is None:
                    hint += (
                        "; set max-nodes in [tool.batchspec.rules.unbounded-target] to let --fix add the cap"
                    )
            elif over_cap:
                message = f'"{name}" can reach {fmt_num(v.hi)}, above max-nodes = {opts.max_nodes}'
                hint = f"cap it with min({opts.max_nodes}, …)"
            else:
                message = f'"{name}" can be negative (for example {fmt_num(witness or 0)})'
                hint = "clamp it with max(0, …); a negative target is undocumented"
            yield self.report(st.target.span, message, hint=hint, fix=fix)
