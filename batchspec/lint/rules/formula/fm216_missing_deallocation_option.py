from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Severity
from batchspec.formula import ast
from batchspec.formula import builtins as b
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Example, Finding, FormulaRule


class MissingDeallocationOption(FormulaRule):
    """The formula scales the pool but never sets `$NodeDeallocationOption`.

    When the pool shrinks, the default `requeue` stops the tasks running on the removed nodes at once and puts
    them back in the queue, so their work so far is lost. The docs' formulas set
    `$NodeDeallocationOption = taskcompletion;` to let running tasks finish first. Reported only when a target
    varies (a constant target never shrinks the pool by itself). Information only: `requeue` is a valid choice for
    short or checkpointed tasks.
    """

    code = "FM216"
    name = "missing-deallocation-option"
    default_severity = Severity.INFO
    examples = (
        Example(
            bad="$TargetDedicatedNodes = min(10, max(0, $PendingTasks.GetSample(1)));",
            good="$TargetDedicatedNodes = min(10, max(0, $PendingTasks.GetSample(1)));\n"
            "$NodeDeallocationOption = taskcompletion;",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        last_target: ast.Assignment | None = None
        for st in ctx.formula.statements:
            if not isinstance(st, ast.Assignment):
                continue
            info = b.SERVICE_VARIABLES.get(st.target.name)
            if info is None:
                continue
            if info.canonical == "$NodeDeallocationOption":
                return
            if info.canonical in b.TARGET_VARIABLES:
                last_target = st
        if last_target is None:
            return
        final = ctx.analysis.final_targets()
        keep = (
            "$CurrentDedicatedNodes",
            "$CurrentLowPriorityNodes",
            "$TargetDedicatedNodes",
            "$TargetLowPriorityNodes",
        )
        varying = [
            t
            for t in final.values()
            if t.value.known
            and t.value.lo != t.value.hi
            # "= $CurrentDedicatedNodes" keeps the pool as it is (the docs' harmless formula)
            and not (
                isinstance(ast.unparen(t.statement.value), ast.Var)
                and ast.unparen(t.statement.value).name in keep
            )  # type: ignore[union-attr]
        ]
        if not varying:
            return  # constant (or unknown) targets: the formula itself never shrinks a running pool
        yield self.report(
            last_target.target.span,
            'the formula never sets "$NodeDeallocationOption", so nodes removed while shrinking stop their '
            "running tasks and requeue them (the default)",
            hint='add "$NodeDeallocationOption = taskcompletion;" to let running tasks finish first',
        )
