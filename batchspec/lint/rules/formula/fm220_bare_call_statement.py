from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Severity
from batchspec.formula import ast
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Example, Finding, FormulaRule
from batchspec.lint.rules.formula._util import quote


class BareCallStatement(FormulaRule):
    """A function call used as a statement on its own.

    Only assignments are documented as statements. A bare call's result is thrown away, and a bare `stop();`
    stops the evaluation unconditionally, so every statement after it is dead. To stop conditionally, put `stop()`
    in a ternary branch: `x = done ? stop() : 0;`.
    """

    code = "FM220"
    name = "bare-call-statement"
    default_severity = Severity.WARNING
    examples = (
        Example(
            bad="$TargetDedicatedNodes = 3;\nstop();\n$TargetDedicatedNodes = 9;",
            good="$TargetDedicatedNodes = 3;",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        statements = ctx.formula.statements
        for index, st in enumerate(statements):
            if not isinstance(st, ast.ExprStatement):
                continue
            expr = ast.unparen(st.expr)
            if isinstance(expr, ast.Call) and expr.name == "stop":
                after = len(statements) - index - 1
                yield self.report(
                    st.span,
                    '"stop()" as a statement always stops the evaluation here'
                    + (
                        f"; the {after} statement{'s' if after != 1 else ''} after it never run"
                        if after
                        else ""
                    ),
                    hint="remove it, or stop conditionally: x = condition ? stop() : 0;",
                )
            else:
                yield self.report(
                    st.span,
                    f'the result of "{quote(ctx, st.span)}" is thrown away',
                    hint="assign it to a variable, or remove it",
                )
