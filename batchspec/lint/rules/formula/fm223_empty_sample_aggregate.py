from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Severity, Span
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Edit, Example, Finding, Fix, FormulaRule
from batchspec.lint.rules.formula._util import quote


class EmptySampleAggregate(FormulaRule):
    """`avg`, `max`, `min`… of samples that can be empty, with no default value in the list.

    `GetSample(1)` returns nothing while a metric has no samples: on a new pool, and right after autoscale is
    enabled. `max($PendingTasks.GetSample(1))` then has nothing to take the maximum of. The service's behaviour
    for an empty list is undocumented (batchspec's evaluator fails the evaluation); the docs' idiom
    `max(0, $PendingTasks.GetSample(1))` always has a value. Not reported behind a condition that shows the metric
    has samples (`GetSamplePercent(...) >= 70 ? … : …`, `$M.Count() ? … : …`). `--fix` adds the `0` to `max`,
    where it changes nothing else (task counts are never negative).
    """

    code = "FM223"
    name = "empty-sample-aggregate"
    default_severity = Severity.WARNING
    fixable = True
    examples = (
        Example(
            bad="$pending = max($PendingTasks.GetSample(1));",
            good="$pending = max(0, $PendingTasks.GetSample(1));",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        for call in ctx.analysis.empty_aggregates:
            fix = None
            if call.name == "max" and call.args:
                first = call.args[0].span
                fix = Fix(
                    'add a default 0 to "max"', (Edit(Span(first.path, first.start, first.start), "0, "),)
                )
            what = quote(ctx, call.span, 50)
            yield self.report(
                call.name_span,
                f'"{what}" has no value while the metric has no samples (a new pool, or just after autoscale is '
                "enabled)",
                hint=(
                    "add a default: max(0, …) (--fix does this); the service's behaviour on an empty list is "
                    "undocumented and batchspec's evaluator fails"
                    if call.name == "max"
                    else "add a value to the list, or test GetSamplePercent first; the service's behaviour on an "
                    "empty list is undocumented and batchspec's evaluator fails"
                ),
                fix=fix,
            )
