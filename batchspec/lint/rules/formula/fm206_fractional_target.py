from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Related, Severity
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Example, Finding, FormulaRule
from batchspec.lint.rules.formula._util import quote


class FractionalTarget(FormulaRule):
    """A node target computed with a division (or a fractional factor) and no ceil/floor/round.

    Targets are whole numbers of nodes and the service truncates a fractional target: 0.5 node becomes 0
    (MicrosoftDocs/azure-docs#95350), and `$CurrentDedicatedNodes * 1.1` never grows a pool of fewer than 10
    nodes. Round explicitly: `ceil(…)` to round up, `floor(…)` to make the truncation visible. Not reported:
    shrinking the current size (`$TargetDedicatedNodes / 2`, `* 0.9`), where rounding down is the intent, and the
    round-up idioms `(x + 3) / 4` of the docs and `x / 4 + 0.99` (the service's truncation finishes them).
    """

    code = "FM206"
    name = "fractional-target"
    default_severity = Severity.WARNING
    examples = (
        Example(
            bad="$tasks = max(0, $PendingTasks.GetSample(1));\n$TargetDedicatedNodes = min(10, $tasks / 4);",
            good="$tasks = max(0, $PendingTasks.GetSample(1));\n$TargetDedicatedNodes = min(10, ceil($tasks / 4));",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        by_span: dict[object, list] = {}
        for _canonical, t in sorted(ctx.analysis.final_targets().items()):
            span = t.value.frac
            if span is None or t.value.kind not in ("num", "vec"):
                continue
            k = t.value.const
            if k is not None and float(k).is_integer():
                continue  # always the same whole number
            by_span.setdefault(span, []).append(t)
        for span, targets in by_span.items():
            names = " and ".join(f'"{t.statement.target.name}"' for t in targets)
            expr = quote(ctx, span, 40)  # type: ignore[arg-type]
            full = quote(ctx, span, 100_000)  # type: ignore[arg-type]
            kind = "a division" if "/" in full else "a fractional factor"
            verb = "are" if len(targets) > 1 else "is"
            yield self.report(
                span,  # type: ignore[arg-type]
                f'{names} {verb} computed with {kind} ("{expr}") and can be fractional; the service truncates '
                "targets (0.5 node becomes 0, 2.5 nodes become 2)",
                hint="round explicitly: ceil(…) to round up, floor(…) to round down",
                related=tuple(
                    Related(t.statement.target.span, f"{t.statement.target.name} is assigned here")
                    for t in targets
                ),
            )
