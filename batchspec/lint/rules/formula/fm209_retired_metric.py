from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Severity
from batchspec.formula import builtins as b
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Example, Finding, FormulaRule


class RetiredMetric(FormulaRule):
    """A resource metric the service stopped sampling in March 2024.

    `$WallClockSeconds`, `$MemoryBytes`, `$DiskBytes`, `$DiskReadBytes`, `$DiskWriteBytes`, `$DiskReadOps`,
    `$DiskWriteOps`, `$NetworkInBytes`, `$NetworkOutBytes` and `$SampleNodeCount` receive no sample data after
    31 March 2024: reads return nothing, and a guarded formula silently takes its fallback branch forever.
    """

    code = "FM209"
    name = "retired-metric"
    default_severity = Severity.WARNING
    examples = (
        Example(
            bad="$mem = avg($MemoryBytes.GetSample(TimeInterval_Minute * 10));",
            good="$cpu = avg($CPUPercent.GetSample(TimeInterval_Minute * 10));",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        seen: set[int] = set()
        for var in ctx.analysis.all_vars:
            info = b.SERVICE_VARIABLES.get(var.name)
            if info is None or info.retired_since is None or id(var) in seen:
                continue
            seen.add(id(var))
            yield self.report(
                var.span,
                f'"{var.name}" was retired: it has received no samples since {info.retired_since:%d %B %Y}',
                hint="scale on task metrics ($PendingTasks, $ActiveTasks, $RunningTasks) or $CPUPercent instead",
            )
