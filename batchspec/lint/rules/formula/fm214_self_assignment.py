from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Severity
from batchspec.formula import ast
from batchspec.formula import builtins as b
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Example, Finding, FormulaRule


def _canonical(name: str) -> str:
    info = b.SERVICE_VARIABLES.get(name)
    return info.canonical if info is not None else name


class SelfAssignment(FormulaRule):
    """A variable assigned to itself, which does nothing.

    `x = x` changes nothing, and `$TargetDedicatedNodes = $TargetDedicatedNodes` neither: a target that is not
    assigned keeps its value anyway. It is usually a leftover or a typo for another variable.
    """

    code = "FM214"
    name = "self-assignment"
    default_severity = Severity.WARNING
    examples = (
        Example(
            bad="cap = 10;\ncap = cap;\n$TargetDedicatedNodes = cap;",
            good="cap = 10;\n$TargetDedicatedNodes = cap;",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        for st in ctx.formula.statements:
            if not isinstance(st, ast.Assignment):
                continue
            value = ast.unparen(st.value)
            if isinstance(value, ast.Var) and _canonical(value.name) == _canonical(st.target.name):
                yield self.report(
                    st.span,
                    f'"{st.target.name}" is assigned to itself; this does nothing',
                    hint="remove the statement, or assign the value you meant",
                )
