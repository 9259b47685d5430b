from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Severity
from batchspec.formula import ast
from batchspec.formula import builtins as b
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Edit, Example, Finding, Fix, FormulaRule

_LOWER = {name.lower(): name for name in b.SERVICE_VARIABLES}


def intended_service_name(name: str) -> str | None:
    """The service variable a user variable was probably meant to be: the same letters in another case, or a
    writable one (a target) without its "$". A bare ``pendingTasks`` is a normal name for a user variable that
    holds pending tasks, so read-only names without "$" are left alone."""
    if name in b.SERVICE_VARIABLES:
        return None
    if name.startswith("$"):
        return _LOWER.get(name.lower())
    found = _LOWER.get("$" + name.lower())
    if found is not None and b.SERVICE_VARIABLES[found].writable:
        return found
    return None


class ServiceVariableCase(FormulaRule):
    """A user variable spelled like a service variable with another case, or without its "$".

    Names are case-sensitive, and a name that is not exactly a service variable is an ordinary user variable:
    `$targetDedicatedNodes = 5` (a typo found in the REST reference's own sample) or `TargetDedicatedNodes = 5`
    assigns a variable nobody reads, and the pool never changes. `--fix` corrects the spelling. Without "$", only
    the writable names (the targets, `$NodeDeallocationOption`) are reported: `pendingTasks` is a fine name for a
    user variable.
    """

    code = "FM211"
    name = "service-variable-case"
    default_severity = Severity.WARNING
    fixable = True
    examples = (
        Example(
            bad="$targetDedicatedNodes = 2;",
            good="$TargetDedicatedNodes = 2;",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        a = ctx.analysis
        names = set(a.var_writes) | {v.name for v in a.all_vars}
        if not any(intended_service_name(n) for n in names):
            return
        seen: set[int] = set()
        targets = [st.target for st in ctx.formula.statements if isinstance(st, ast.Assignment)]
        for var in [*targets, *ctx.analysis.all_vars]:
            if id(var) in seen:
                continue
            seen.add(id(var))
            intended = intended_service_name(var.name)
            if intended is None:
                continue
            if (
                var.name.startswith("$")
                or var.name.lower() != intended[1:].lower()
                or var.name == intended[1:]
            ):
                what = "differs only in case from" if var.name.startswith("$") else 'lacks the "$" of'
            else:
                what = 'differs in case and lacks the "$" of'
            yield self.report(
                var.span,
                f'"{var.name}" {what} the service variable "{intended}", so it is an ordinary user variable',
                hint=f'write "{intended}" (--fix does this)',
                fix=Fix(f"rename to {intended}", (Edit(var.span, intended),)),
            )
