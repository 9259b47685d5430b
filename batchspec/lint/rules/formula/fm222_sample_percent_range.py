from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Severity
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Example, Finding, FormulaRule
from batchspec.lint.rules.formula._util import fmt_num


class SamplePercentRange(FormulaRule):
    """A GetSample percentage outside 0–100: above 100 the evaluation always fails.

    The `samplePercent` argument is the share of the window's samples that must exist. No window can have more
    than 100% of its samples, so `GetSample(window, 150)` fails every evaluation with `InsufficientSampleData`;
    a negative percentage requires nothing and is probably a mistake.
    """

    code = "FM222"
    name = "sample-percent-range"
    default_severity = Severity.ERROR
    examples = (
        Example(
            bad="$v = avg($PendingTasks.GetSample(TimeInterval_Minute * 10, 700));",
            good="$v = avg($PendingTasks.GetSample(TimeInterval_Minute * 10, 70));",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        for use in ctx.analysis.samples:
            if use.method != "GetSample" or use.percent is None or use.percent_node is None:
                continue
            if use.percent > 100:
                yield self.report(
                    use.percent_node.span,
                    f'"{use.metric}.GetSample" requires {fmt_num(use.percent)}% of the samples, more than can '
                    "exist; the evaluation always fails",
                    hint="use a percentage between 0 and 100, e.g. 70",
                )
            elif use.percent < 0:
                yield self.report(
                    use.percent_node.span,
                    f'"{use.metric}.GetSample" requires {fmt_num(use.percent)}% of the samples, which requires nothing',
                    hint="use a percentage between 0 and 100, or drop the argument",
                    severity=Severity.WARNING,
                )
