from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Severity
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Edit, Example, Finding, Fix, FormulaRule


class EmptyStatement(FormulaRule):
    """An empty statement: a `;` that ends no statement (`;;`, or a leading `;`).

    The language has no use for it and whether the service accepts it is undocumented; it is usually a leftover
    of editing. `--fix` removes it.
    """

    code = "FM219"
    name = "empty-statement"
    default_severity = Severity.WARNING
    fixable = True
    examples = (
        Example(
            bad="$TargetDedicatedNodes = 1;;",
            good="$TargetDedicatedNodes = 1;",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        for span in ctx.formula.empty_statements:
            yield self.report(
                span,
                'empty statement: this ";" ends no statement',
                hint='remove the extra ";" (--fix does this)',
                fix=Fix('remove the extra ";"', (Edit(span, ""),)),
            )
