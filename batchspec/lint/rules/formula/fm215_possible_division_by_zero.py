from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Severity
from batchspec.lint.analysis import POOL_SIZE
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Example, Finding, FormulaRule
from batchspec.lint.rules.formula._util import fmt_num, quote


class PossibleDivisionByZero(FormulaRule):
    """A division whose divisor can be zero.

    The range analysis knows that node counts, task counts and `len(…)` can be 0 (an empty pool, an idle queue, a
    fresh pool without samples). What the service does on a division by zero is undocumented (batchspec's
    evaluator fails the evaluation rather than produce an infinite target). Guard the divisor, e.g.
    `$n > 0 ? x / $n : 0`, or divide by `max(1, $n)`.
    """

    code = "FM215"
    name = "possible-division-by-zero"
    default_severity = Severity.WARNING
    examples = (
        Example(
            bad="$perNode = 10 / $CurrentDedicatedNodes;",
            good="$perNode = $CurrentDedicatedNodes > 0 ? 10 / $CurrentDedicatedNodes : 10;",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        for d in ctx.analysis.divisions:
            right = d.right
            if not right.known or right.kind != "num":
                continue
            node = d.node.right
            if right.const == 0:
                yield self.report(
                    node.span,
                    f'division by zero: "{quote(ctx, node.span)}" is always 0',
                    hint="divide by a non-zero value",
                )
                continue
            if right.knob or right.lit or not (right.lo <= 0 <= right.hi):
                continue
            span_text = (
                ""
                if right.hi >= POOL_SIZE
                else f" (it ranges from {fmt_num(right.lo)} to {fmt_num(right.hi)})"
            )
            yield self.report(
                node.span,
                f'the divisor "{quote(ctx, node.span)}" can be 0{span_text}',
                hint="guard it, e.g. n > 0 ? x / n : 0, or divide by max(1, n)",
            )
