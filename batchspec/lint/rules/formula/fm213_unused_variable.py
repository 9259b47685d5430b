from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Severity
from batchspec.formula import builtins as b
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Example, Finding, FormulaRule
from batchspec.lint.rules.formula._util import misspelt_writable


class UnusedVariable(FormulaRule):
    """A user variable that is assigned but never read.

    It does nothing for scaling. The service does print every user variable in the evaluation `results`, so a
    variable kept only for inspection is fine: that is why this is only information. A name that is a small
    misspelling of a writable service variable (`$NodeDeallocationOptions`) gets the right name as its hint.
    """

    code = "FM213"
    name = "unused-variable"
    default_severity = Severity.INFO
    examples = (
        Example(
            bad="spare = 3;\n$TargetDedicatedNodes = 2;",
            good="spare = 3;\n$TargetDedicatedNodes = spare;",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        a = ctx.analysis
        for name, writes in a.var_writes.items():
            if name in b.SERVICE_VARIABLES or name in a.var_reads:
                continue
            if name.lower().lstrip("$") in (
                "targetdedicatednodes",
                "targetlowprioritynodes",
                "nodedeallocationoption",
            ):
                continue  # a misspelled target: service-variable-case reports it
            intended = misspelt_writable(name)
            hint = (
                f'did you mean "{intended}"? "{name}" is an ordinary user variable'
                if intended
                else "remove it, or keep it on purpose to see its value in the evaluation results"
            )
            message = f'variable "{name}" is assigned but never used'
            yield self.report(writes[0].target.span, message, hint=hint)
