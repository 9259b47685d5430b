from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from batchspec.diagnostics.model import Severity
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Example, Finding, FormulaRule
from batchspec.lint.rules.formula._util import receiver_and_method


class LastSampleOnly(FormulaRule):
    """Scaling on the last sample alone of a metric where the docs advise a trend.

    `GetSample(1)` is "the last sample you have, no matter how long ago", and one CPU sample is noise: the docs
    advise against relying only on `GetSample(1)` for metrics such as `$CPUPercent` and recommend a trend over a
    window instead. A formula that also reads a window (or several samples) of the same metric is fine, e.g. the
    docs' `$samples < 70 ? max(0, $M.GetSample(1)) : max($M.GetSample(1), avg($M.GetSample(window)))`. The
    `metrics` option lists the metrics this applies to (task counts are exact, so they are not listed by
    default).
    """

    code = "FM207"
    name = "last-sample-only"
    default_severity = Severity.WARNING

    @dataclass(frozen=True)
    class Options:
        metrics: tuple[str, ...] = field(
            default=("$CPUPercent",), metadata={"doc": "metrics whose last sample alone is reported"}
        )

    examples = (
        Example(
            bad="$busy = max($CPUPercent.GetSample(1)) > 80;",
            good="$p = $CPUPercent.GetSamplePercent(TimeInterval_Minute * 10);\n"
            "$busy = $p < 70 ? 0 : avg($CPUPercent.GetSample(TimeInterval_Minute * 10)) > 80;",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        metrics = set(ctx.options(self).metrics)
        samples = ctx.analysis.samples
        trend = {
            u.canonical
            for u in samples
            if u.method == "GetSample" and (u.is_window or (u.count is not None and u.count >= 3))
        }
        for u in samples:
            if u.method != "GetSample" or u.count is None or u.count > 2:
                continue
            if u.canonical not in metrics and u.metric not in metrics:
                continue
            if u.canonical in trend:
                continue
            yield self.report(
                receiver_and_method(u.node),
                f'"{u.metric}.GetSample({int(u.count) if float(u.count).is_integer() else u.count})" reads only the '
                "latest sample, however old; one sample of this metric is noise",
                hint=f"scale on a trend, e.g. avg({u.metric}.GetSample(TimeInterval_Minute * 10)) guarded by "
                "GetSamplePercent",
            )
