from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from batchspec.diagnostics.model import Related, Severity
from batchspec.lint.analysis import AgeFact, PercentFact, metric_group
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Example, Finding, FormulaRule
from batchspec.lint.rules.formula._util import fmt_num, fmt_seconds, receiver_and_method


class GetsampleUnguarded(FormulaRule):
    """A time-window GetSample that can fail the whole evaluation for lack of samples.

    `$M.GetSample(window)` and `$M.GetSample(window, percent)` fail the evaluation (`InsufficientSampleData`, and
    the pool does not change at all) when fewer than the required percentage of the window's 30-second samples
    exist. Without a percentage argument the service requires 70% (observed: Azure/batch-shipyard#138). A new
    pool, and any pool right after autoscale is enabled, has no samples at all, so an unguarded window read fails
    every evaluation until enough samples arrive. `GetSample(count)` never fails, and neither does a window read
    with a percentage of 0.

    The read is guarded when, on the path that reaches it, a condition has checked
    `$M.GetSamplePercent(...) >= P` with P at least the required percentage: the ternary and `&&`/`||` are lazy, so
    `p < 70 ? fallback : avg($M.GetSample(window))` never evaluates the branch that would fail. A guard on another
    task metric counts too (task metrics are sampled together); `same-metric = true` requires the same metric.
    A pool-age guard (`lifespan > startup ? …GetSample(span, ratio)… : n`, as in the docs' Example 4) is not
    enough: samples also vanish for a while whenever autoscale is enabled again (observed by the ga4gh-tes team),
    and when the pool is too young for the window the evaluation fails at once. Percentages of task metrics are
    equal, so a guard on their sum (`$A.GetSamplePercent(w) + $R.GetSamplePercent(w) < 70`) ensures only half.
    A guard over a shorter look-back than the read (guard 5 minutes, read 10 minutes back) passes on a young pool
    while the read still fails; that brief window is reported as information.
    """

    code = "FM201"
    name = "getsample-unguarded"
    default_severity = Severity.WARNING

    @dataclass(frozen=True)
    class Options:
        implicit_percent: float = field(
            default=70.0,
            metadata={
                "doc": "the percentage a window read without one requires (observed 70%, reference A14)",
                "min": 0,
                "max": 100,
            },
        )
        same_metric: bool = field(
            default=False, metadata={"doc": "only a GetSamplePercent on the same metric guards a read"}
        )
        propagation_delay: float = field(
            default=60.0,
            metadata={"doc": "seconds before a sample is available (for pool-age guards)", "min": 0},
        )

    examples = (
        Example(
            bad="$tasks = avg($PendingTasks.GetSample(TimeInterval_Minute * 10));",
            good="$p = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 10);\n"
            "$tasks = $p < 70 ? max(0, $PendingTasks.GetSample(1))"
            " : avg($PendingTasks.GetSample(TimeInterval_Minute * 10));",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        opts = ctx.options(self)
        for use in ctx.analysis.samples:
            if use.method != "GetSample" or not use.is_window:
                continue
            if use.percent is not None:
                required: float | None = use.percent
            elif use.percent_unknown:
                required = None
            else:
                required = opts.implicit_percent
            if required is not None and required <= 0:
                continue
            group = metric_group(use.metric)
            guards = [
                f
                for f in use.facts
                if isinstance(f, PercentFact)
                and (
                    f.group == group
                    if not opts.same_metric
                    else metric_group(f.metric) == group and f.metric == use.metric
                )
            ]
            best = max(guards, key=lambda f: f.threshold) if guards else None
            if best is not None and (required is None or best.threshold >= required):
                # the guard passes, but over a window that does not reach as far back as this read: while the
                # pool is young (or autoscale was just enabled) the guarded window is full and this one is not
                if best.window is not None and use.window is not None and use.window[1] > best.window[1]:
                    yield self.report(
                        receiver_and_method(use.node),
                        f'the guard measures "{best.metric}" samples over the last {fmt_seconds(best.window[1])}, '
                        f"but this window reaches back {fmt_seconds(use.window[1])}: for a few minutes after the "
                        "pool starts (or autoscale is enabled) the guard passes and this read fails",
                        hint="guard the same window, e.g. GetSamplePercent with the same look-back arguments",
                        related=(Related(best.span, "the guard"),),
                        severity=Severity.INFO,
                    )
                continue
            ages = [f for f in use.facts if isinstance(f, AgeFact)]
            oldest = max(ages, key=lambda f: f.seconds) if ages else None
            old_enough = (
                oldest is not None
                and use.window is not None
                and required is not None
                and oldest.seconds >= use.window[1] * required / 100.0 + opts.propagation_delay
            )
            span = receiver_and_method(use.node)
            metric = use.metric
            need = f"{fmt_num(required)}%" if required is not None else "the requested percentage"
            implicit = use.percent is None and not use.percent_unknown
            if best is not None:
                yield self.report(
                    span,
                    f'the guard only ensures {fmt_num(best.threshold)}% of "{best.metric}" samples, '
                    f'but "{metric}.GetSample" needs {need}'
                    + (" (the default without a percentage)" if implicit else ""),
                    hint=f"raise the guard to {need}, or give GetSample a lower percentage argument",
                    related=(Related(best.span, "the guard"),),
                )
            elif oldest is not None and old_enough:
                yield self.report(
                    span,
                    f'"{metric}.GetSample" is guarded only by the pool\'s age; a pool also has no samples for a while '
                    "after autoscale is enabled again, and the evaluation fails then",
                    hint=f'guard it with "{metric}.GetSamplePercent(…) < {need.rstrip("%")} ? fallback : …"',
                    related=(Related(oldest.span, "the pool-age check"),),
                )
            elif oldest is not None and use.window is not None:
                yield self.report(
                    span,
                    f'the pool is only known to be {fmt_seconds(oldest.seconds)} old here, but "{metric}.GetSample" '
                    f"needs {need} of a {fmt_seconds(use.window[1])} window; the evaluation fails until then",
                    hint=f'guard it with "{metric}.GetSamplePercent(…) < {need.rstrip("%")} ? fallback : …", '
                    "or wait longer before reading the window",
                    related=(Related(oldest.span, "the pool-age check"),),
                )
            else:
                yield self.report(
                    span,
                    f'"{metric}.GetSample" reads a time window without a "GetSamplePercent" guard; the evaluation '
                    f"fails while fewer than {need} of its samples exist (a new pool has none)",
                    hint=f'test "{metric}.GetSamplePercent(<window>)" first, e.g. '
                    f'"p < {need.rstrip("%") if required is not None else "70"} ? max(0, {metric}.GetSample(1)) : '
                    f'avg({metric}.GetSample(<window>))"',
                )
