from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from batchspec.diagnostics.model import Severity
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Example, Finding, FormulaRule
from batchspec.lint.rules.formula._util import args_span, fmt_num, fmt_seconds


class LookbackTooShort(FormulaRule):
    """A sample window shorter than one sample period, or lying entirely in the last minute.

    The service records a sample every 30 seconds, and samples take about a minute to become available. A window
    shorter than 30 seconds may hold no sample at all, and a window that ends less than a minute ago *and* starts
    less than a minute ago (`GetSample(TimeInterval_Second * 45)`) usually holds none: its `GetSamplePercent` is
    near 0 and a window read fails. The docs advise starting look-backs more than a minute back. A window that
    starts further back but ends now (`GetSample(TimeInterval_Minute * 10)`) is fine: only its newest samples are
    missing. But a window that ends now can never be complete: when it requires more of its samples than can
    exist (`GetSample(TimeInterval_Minute * 2, 80)`: the newest 30 seconds are always missing, so at most 75%), the
    read fails at every evaluation.
    """

    code = "FM208"
    name = "lookback-too-short"
    default_severity = Severity.WARNING

    @dataclass(frozen=True)
    class Options:
        sample_period: float = field(default=30.0, metadata={"doc": "seconds between two samples", "min": 1})
        propagation_delay: float = field(
            default=60.0, metadata={"doc": "seconds before a sample is available", "min": 0}
        )
        always_missing: float = field(
            default=30.0,
            metadata={"doc": "seconds of newest samples that are never available (observed: one sample)", "min": 0},
        )
        implicit_percent: float = field(
            default=70.0,
            metadata={"doc": "the percentage a window GetSample without one requires", "min": 0, "max": 100},
        )

    examples = (
        Example(
            bad="$p = $PendingTasks.GetSamplePercent(TimeInterval_Second * 45);",
            good="$p = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 5);",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        opts = ctx.options(self)
        for u in ctx.analysis.samples:
            if u.window is None or u.method not in ("GetSample", "GetSamplePercent"):
                continue
            near, far = u.window
            length = far - near
            call = f"{u.metric}.{u.method}"
            if length < opts.sample_period:
                yield self.report(
                    args_span(u.node),
                    f'"{call}" reads a window of {fmt_seconds(length)}, shorter than one sample period '
                    f"({fmt_seconds(opts.sample_period)}); it may hold no sample at all",
                    hint="use a window of several minutes, e.g. TimeInterval_Minute * 5",
                )
            elif far <= opts.propagation_delay:
                yield self.report(
                    args_span(u.node),
                    f'"{call}" looks back only {fmt_seconds(far)}; samples take about '
                    f"{fmt_seconds(opts.propagation_delay)} to arrive, so this window is usually empty",
                    hint="start the look-back more than a minute back, e.g. TimeInterval_Minute * 5",
                )
            elif u.method == "GetSample" and near < opts.always_missing:
                # the newest samples are never there yet: a window ending now can never be complete
                required = (
                    u.percent
                    if u.percent is not None
                    else None
                    if u.percent_unknown
                    else opts.implicit_percent
                )
                best = (far - max(near, opts.always_missing)) / length * 100
                if required is not None and required > best + 1e-9:
                    yield self.report(
                        args_span(u.node),
                        f'"{call}" requires {fmt_num(required)}% of a {fmt_seconds(length)} window that ends now, '
                        f"but the newest {fmt_seconds(opts.always_missing)} of samples are never available yet: at "
                        f"most {fmt_num(round(best, 1))}% can exist, so this read fails whenever it runs",
                        hint="look back further (the window's share of missing samples shrinks), or require less",
                    )
