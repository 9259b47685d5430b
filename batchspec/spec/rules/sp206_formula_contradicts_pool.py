from __future__ import annotations

import re
from collections.abc import Iterator

from batchspec.diagnostics.model import Diagnostic, Severity
from batchspec.spec.rules.base import Example, PoolContext, SpecRule

ASSIGN = re.compile(r"(?m)^[ \t]*([A-Za-z_]\w*)[ \t]*=[ \t]*(\d+(?:\.\d+)?)[ \t]*;")
PER_NODE = re.compile(r"(tasks?|slots?)_?(per)_?(node|vm|machine)|(tasks?|slots?)(per)(node|vm)", re.I)


class FormulaContradictsPool(SpecRule):
    """Formula constant that contradicts the pool settings.

    A formula that divides pending tasks by a hard-coded tasks-per-node value sizes the pool wrongly when
    ``taskSlotsPerNode`` says something else (and silently goes stale when someone edits one of the two).
    """

    code = "SP206"
    name = "formula-contradicts-pool"
    default_severity = Severity.WARNING
    examples = (
        Example(
            bad='{"properties": {"taskSlotsPerNode": 4, "scaleSettings": {"autoScale": {"formula": '
            '"tasksPerNode = 2;\\n$TargetDedicatedNodes = $PendingTasks.GetSample(1) / tasksPerNode;"}}}}',
            good='{"properties": {"taskSlotsPerNode": 4, "scaleSettings": {"autoScale": {"formula": '
            '"tasksPerNode = 4;\\n$TargetDedicatedNodes = $PendingTasks.GetSample(1) / tasksPerNode;"}}}}',
        ),
    )

    def check(self, ctx: PoolContext) -> Iterator[Diagnostic]:
        if ctx.formula is None:
            return
        slots = ctx.get(ctx.path("slots"))
        if slots is None:
            slots = 1
        if not isinstance(slots, int) or isinstance(slots, bool):
            return
        for m in ASSIGN.finditer(ctx.formula.text):
            name, number = m.group(1), float(m.group(2))
            if PER_NODE.search(name) and number != slots:
                yield self.report_text(
                    ctx.formula,
                    m.start(2),
                    m.end(2),
                    f'the formula assumes {m.group(2)} tasks per node ("{name}") but taskSlotsPerNode is {slots}',
                    hint=f"use the service variable $TaskSlotsPerNode instead of a constant (or write {slots})",
                )
