"""Formula evaluation (interpreter and compiled form) and the autoscale simulator. Pure: no I/O.

* ``batchspec.sim.evaluator.interpret(formula, state)``: the reference interpreter.
* ``batchspec.sim.compiled.compile_formula(formula).evaluate(state)``: the fast, exactly equivalent form.
* ``compile_text(text, path)``: check and compile in one step, raising ``FormulaCheckError`` on front-end
  errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from batchspec.diagnostics.model import Diagnostic, Severity
from batchspec.errors import BatchspecError

if TYPE_CHECKING:
    from batchspec.formula.typecheck import CheckOptions
    from batchspec.sim.compiled import CompiledFormula


class FormulaCheckError(BatchspecError):
    """The formula has error-level diagnostics (syntax, names, types, limits): it cannot be evaluated.

    ``diagnostics`` holds all of them (warnings included), for rendering; the message names the first error.
    """

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        errors = [d for d in self.diagnostics if d.severity >= Severity.ERROR]
        first = errors[0] if errors else None
        if first is None:
            message = "the formula cannot be evaluated"
        else:
            where = f"{first.span.path}:" if first.span.path else ""
            message = f"{where}{first.span.start.line}:{first.span.start.col}: {first.message}"
            if len(errors) > 1:
                message += f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})"
        super().__init__(message, exit_code=2)


def compile_text(text: str, path: str = "", *, options: CheckOptions | None = None) -> CompiledFormula:
    """Check ``text`` with the formula front end and compile it; ``FormulaCheckError`` if it has errors.

    ``options`` are the type checker's (e.g. the A8 leniency ``allow_double_op_doublevec``)."""
    from batchspec.formula import check_formula
    from batchspec.sim.compiled import compile_formula

    formula, diagnostics = check_formula(text, path, options=options)
    if formula is None or any(d.severity >= Severity.ERROR for d in diagnostics):
        raise FormulaCheckError(diagnostics)
    return compile_formula(formula)


__all__ = ["FormulaCheckError", "compile_text"]
