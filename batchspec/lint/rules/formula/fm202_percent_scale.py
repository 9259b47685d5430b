from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Severity
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Example, Finding, FormulaRule
from batchspec.lint.rules.formula._util import fmt_num


class PercentScale(FormulaRule):
    """A percentage on the 0–100 scale compared with a fraction between 0 and 1.

    `GetSamplePercent` returns 0–100 (observed: `96.6667`), `$CPUPercent` samples are percentages, and the
    `samplePercent` argument of `GetSample` is 0–100 too. Comparing them with `0.7` tests for 0.7%, not 70%: the
    docs' own CPU example (`min($CPUPercent.GetSample(...)) > 0.7`) scales up on almost any load. The `p` of
    `percentile(v, p)` is read on the same scale (undocumented; reference A31), so `percentile(v, 0.9)` is reported
    too.
    """

    code = "FM202"
    name = "percent-scale"
    default_severity = Severity.WARNING
    examples = (
        Example(
            bad="$busy = avg($CPUPercent.GetSample(TimeInterval_Minute * 10)) > 0.7;",
            good="$busy = avg($CPUPercent.GetSample(TimeInterval_Minute * 10)) > 70;",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        a = ctx.analysis
        for cmp in a.comparisons:
            for pct_side, other_side, other_node in (
                (cmp.left, cmp.right, cmp.node.right),
                (cmp.right, cmp.left, cmp.node.left),
            ):
                k = other_side.const
                if not pct_side.percent or other_side.percent or k is None or not (0 < k < 1):
                    continue
                what = f'"{pct_side.pct_of}.GetSamplePercent"' if pct_side.pct_of else "a percentage"
                yield self.report(
                    other_node.span,
                    f"{what} (0–100) is compared with {fmt_num(k)}, which means {fmt_num(k)}% on that scale",
                    hint=f"did you mean {fmt_num(k * 100)}?",
                )
                break
        for call, args in a.calls:
            if call.name == "percentile" and len(args) == 2 and len(call.args) == 2:
                k = args[1].const
                if k is not None and 0 < k < 1:
                    yield self.report(
                        call.args[1].span,
                        f'the percentile argument of "percentile" is on the 0–100 scale; {fmt_num(k)} asks for '
                        "the lowest values",
                        hint=f"did you mean {fmt_num(k * 100)}? (the scale is undocumented; batchspec reads 0–100)",
                    )
        for use in a.samples:
            if (
                use.method == "GetSample"
                and use.percent is not None
                and 0 < use.percent < 1
                and use.percent_node
            ):
                node = use.percent_node
                yield self.report(
                    node.span,
                    f'the samplePercent argument of "{use.metric}.GetSample" is on the 0–100 scale; '
                    f"{fmt_num(use.percent)} asks for {fmt_num(use.percent)}% of the samples",
                    hint=f"did you mean {fmt_num(use.percent * 100)}?",
                )
