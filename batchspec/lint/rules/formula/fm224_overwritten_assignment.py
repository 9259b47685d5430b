from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Related, Severity
from batchspec.formula import ast
from batchspec.formula import builtins as b
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Example, Finding, FormulaRule


def _key(name: str) -> str:
    info = b.SERVICE_VARIABLES.get(name)
    return info.canonical if info is not None else name


class OverwrittenAssignment(FormulaRule):
    """A value assigned and then overwritten before anything reads it.

    The formula runs top to bottom, so the first assignment has no effect at all: neither on the pool nor on the
    evaluation results (which show final values). It is usually a leftover, or a sign that the second assignment
    meant to build on the first (`x = x + …`). A lost node target or deallocation option is a warning; a lost
    intermediate value of a user variable is only information (dead code, as in one of Batch Shipyard's
    generated formulas).
    """

    code = "FM224"
    name = "overwritten-assignment"
    default_severity = Severity.WARNING
    examples = (
        Example(
            bad="$TargetDedicatedNodes = 2;\n$TargetDedicatedNodes = 4;",
            good="$TargetDedicatedNodes = 2;\n$TargetDedicatedNodes = max(4, $TargetDedicatedNodes);",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        a = ctx.analysis
        if len(a.var_writes) == sum(len(w) for w in a.var_writes.values()):
            return  # every variable is assigned once
        pending: dict[str, ast.Assignment] = {}  # variable -> its latest assignment not read yet
        for st in ctx.formula.statements:
            expr = st.value if isinstance(st, ast.Assignment) else st.expr
            for node in ast.walk(expr):
                if isinstance(node, ast.Var):
                    pending.pop(_key(node.name), None)
            if not isinstance(st, ast.Assignment):
                continue
            key = _key(st.target.name)
            previous = pending.get(key)
            if previous is not None and not (
                # an alias and its full name: legacy-alias explains which one wins
                previous.target.name != st.target.name
            ):
                yield self.report(
                    previous.target.span,
                    f'the value assigned to "{previous.target.name}" here is never used: it is overwritten on line '
                    f"{st.span.start.line} before anything reads it",
                    hint="remove this assignment, or build on it in the next one",
                    related=(Related(st.target.span, "overwritten here"),),
                    # a lost node target is likely a bug; a lost intermediate value only dead code
                    severity=None
                    if key in b.TARGET_VARIABLES or key == "$NodeDeallocationOption"
                    else Severity.INFO,
                )
            pending[key] = st
