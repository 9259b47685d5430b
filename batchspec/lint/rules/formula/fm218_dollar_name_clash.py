from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Related, Severity
from batchspec.formula import ast
from batchspec.formula import builtins as b
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Example, Finding, FormulaRule


class DollarNameClash(FormulaRule):
    """Both `$x` and `x` are used: two different variables that look like one.

    For user variables the `$` is optional, and batchspec (like the service's results, which print names as
    written) treats `$tasks` and `tasks` as distinct variables. A formula that sets one and reads the other reads
    a different value than intended.
    """

    code = "FM218"
    name = "dollar-name-clash"
    default_severity = Severity.WARNING
    examples = (
        Example(
            bad="tasks = 4;\n$tasks = 5;\n$TargetDedicatedNodes = min(10, tasks);",
            good="$tasks = 4;\n$tasks = 5;\n$TargetDedicatedNodes = min(10, $tasks);",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        a = ctx.analysis
        names = set(a.var_writes) | set(a.var_reads)
        if not any(n.startswith("$") and n[1:] in names for n in names):
            return
        first: dict[str, ast.Var] = {}
        for st in ctx.formula.statements:
            for node in ast.walk(st):
                if isinstance(node, ast.Var) and node.name not in b.SERVICE_VARIABLES:
                    first.setdefault(node.name, node)
        for name, var in sorted(first.items()):
            if not name.startswith("$") or name[1:] not in first:
                continue
            other = first[name[1:]]
            later, earlier = (var, other) if other.span.start < var.span.start else (other, var)
            yield self.report(
                later.span,
                f'"{later.name}" and "{earlier.name}" are two different variables',
                hint="use one spelling throughout",
                related=(Related(earlier.span, f'"{earlier.name}" is first used here'),),
            )
