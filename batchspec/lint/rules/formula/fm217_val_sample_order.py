from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Severity
from batchspec.formula import ast
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Example, Finding, FormulaRule
from batchspec.lint.rules.formula._util import quote


def _multi_sample(e: ast.Expr) -> bool:
    e = ast.unparen(e)
    if not (isinstance(e, ast.MethodCall) and e.method == "GetSample" and e.args):
        return False
    if len(e.args) == 1:
        first = ast.unparen(e.args[0])
        if isinstance(first, ast.Number):
            return first.value > 1
    return True


class ValSampleOrder(FormulaRule):
    """`val()` picks one element of a vector of several samples, whose order is undocumented.

    The docs never say whether `GetSample` returns the oldest or the newest sample first, so `val(v, 0)` on a
    window or on `GetSample(5)` may be either end. `val($M.GetSample(1), 0)` (one sample) is fine. Use
    `max`/`min`/`avg` of the samples, or `GetSample(1)` for the latest one.
    """

    code = "FM217"
    name = "val-sample-order"
    default_severity = Severity.WARNING
    examples = (
        Example(
            bad="$latest = val($PendingTasks.GetSample(5), 0);",
            good="$latest = val($PendingTasks.GetSample(1), 0);",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        # the value a user variable holds at each read: its latest assignment before that read
        statements = ctx.formula.statements
        for call, _args in ctx.analysis.calls:
            if call.name != "val" or not call.args:
                continue
            first = ast.unparen(call.args[0])
            source: ast.Expr | None = first
            if isinstance(first, ast.Var):
                source = None
                for st in statements:
                    if st.span.start >= call.span.start:
                        break
                    if isinstance(st, ast.Assignment) and st.target.name == first.name:
                        source = st.value
            if source is not None and _multi_sample(source):
                yield self.report(
                    call.span,
                    f'"{quote(ctx, call.span)}" picks one element of several samples, but their order is '
                    "undocumented",
                    hint="use max(…), min(…) or avg(…) of the samples, or GetSample(1) for the latest",
                )
