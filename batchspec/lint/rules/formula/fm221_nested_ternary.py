from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Severity
from batchspec.formula import ast
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Edit, Example, Finding, Fix, FormulaRule


class NestedTernary(FormulaRule):
    """A conditional nested in another one's branch without parentheses.

    `a ? b : c ? d : e` is read as `a ? b : (c ? d : e)` (right-associative, like C), but the docs always
    parenthesise nested conditionals and the precedence is undocumented. `--fix` adds the parentheses.
    """

    code = "FM221"
    name = "nested-ternary"
    default_severity = Severity.INFO
    fixable = True
    examples = (
        Example(
            bad="$x = $PendingTasks.Count() > 10 ? 4 : $PendingTasks.Count() > 0 ? 2 : 0;",
            good="$x = $PendingTasks.Count() > 10 ? 4 : ($PendingTasks.Count() > 0 ? 2 : 0);",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        for node in ctx.analysis.ternaries:
            if True:
                for branch in (node.if_true, node.if_false):
                    if isinstance(branch, ast.Ternary):
                        text = ctx.source(branch.span)
                        yield self.report(
                            branch.span,
                            "a conditional nested in a branch without parentheses",
                            hint="add parentheses to make the grouping explicit (--fix does this)",
                            fix=Fix("add parentheses", (Edit(branch.span, f"({text})"),)),
                        )
