from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Severity, Span
from batchspec.formula import ast
from batchspec.formula import builtins as b
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Example, Finding, FormulaRule
from batchspec.lint.rules.formula._util import misspelt_writable


class NoTargetAssigned(FormulaRule):
    """The formula never assigns a node target, so it can never scale the pool.

    Only `$TargetDedicatedNodes` and `$TargetLowPriorityNodes` (or their aliases `$TargetDedicated` and
    `$TargetLowPriority`) change the pool; a formula that computes values without assigning one of them leaves
    the pool exactly as it is. (Evaluating such a formula is fine for inspecting metrics, not for autoscaling.)
    When an assigned name is a small misspelling of a target (`$TargetDedicatedNode`), the finding points at
    it and suggests the right name.
    """

    code = "FM204"
    name = "no-target-assigned"
    default_severity = Severity.WARNING
    examples = (
        Example(
            bad="targetNodes = min(10, 2 * 3);",
            good="$TargetDedicatedNodes = min(10, 2 * 3);",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        statements = ctx.formula.statements
        if not statements:
            return
        near_misses: list[ast.Var] = []
        misspelt: list[tuple[ast.Var, str]] = []  # ($TargetDedicatedNode, "$TargetDedicatedNodes")
        for st in statements:
            if not isinstance(st, ast.Assignment):
                continue
            name = st.target.name
            info = b.SERVICE_VARIABLES.get(name)
            if info is not None and info.canonical in b.TARGET_VARIABLES:
                return
            spelled = name if name.startswith("$") else "$" + name
            for target in sorted(b.TARGET_VARIABLES):
                if spelled.lower() == target.lower():
                    near_misses.append(st.target)
            intended = misspelt_writable(name)
            if intended in b.TARGET_VARIABLES:
                misspelt.append((st.target, intended))
        first = statements[0].span
        span = Span(first.path, first.start, first.start)
        hint = "assign $TargetDedicatedNodes and/or $TargetLowPriorityNodes, capped, e.g. min(10, …)"
        if near_misses:
            miss = near_misses[0]
            span = miss.span
            hint = f'"{miss.name}" is a user variable; the service variable is spelled "{_proper(miss.name)}"'
        elif misspelt:
            miss, intended = misspelt[0]
            span = miss.span
            hint = f'did you mean "{intended}"? "{miss.name}" is an ordinary user variable'
        yield self.report(
            span,
            "the formula never assigns $TargetDedicatedNodes or $TargetLowPriorityNodes, so it never changes the pool",
            hint=hint,
        )


def _proper(name: str) -> str:
    spelled = name if name.startswith("$") else "$" + name
    for target in sorted(b.TARGET_VARIABLES):
        if spelled.lower() == target.lower():
            return b.SERVICE_VARIABLES[target].canonical
    return name
