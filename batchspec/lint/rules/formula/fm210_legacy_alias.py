from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Related, Severity
from batchspec.formula import ast
from batchspec.formula import builtins as b
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Edit, Example, Finding, Fix, FormulaRule

_ALIASES = frozenset(name for name, v in b.SERVICE_VARIABLES.items() if v.alias_of is not None)


class LegacyAlias(FormulaRule):
    """A legacy name of a service variable, or an alias and its full name both assigned.

    `$TargetDedicated`, `$TargetLowPriority` and `$CurrentDedicated` are the 2015–2016 names of
    `$TargetDedicatedNodes`, `$TargetLowPriorityNodes` and `$CurrentDedicatedNodes`; `$CurrentDedicated` is no
    longer documented at all. When a formula assigns both an alias and its full name, the full name wins wherever
    it is, so the alias assignment is silently ignored. `--fix` renames reads and writes to the full name (except
    a write whose full name is also assigned: renaming it would change which value wins).
    """

    code = "FM210"
    name = "legacy-alias"
    default_severity = Severity.WARNING
    fixable = True
    examples = (
        Example(
            bad="$TargetDedicated = 2;",
            good="$TargetDedicatedNodes = 2;",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        a = ctx.analysis
        if not any(n in _ALIASES for n in a.var_writes) and not any(v.name in _ALIASES for v in a.all_vars):
            return
        writes: dict[str, list[ast.Assignment]] = {}
        for st in ctx.formula.statements:
            if isinstance(st, ast.Assignment) and st.target.name in b.SERVICE_VARIABLES:
                writes.setdefault(st.target.name, []).append(st)
        conflicted: set[int] = set()
        for alias, stmts in sorted(writes.items()):
            info = b.SERVICE_VARIABLES[alias]
            if info.alias_of is None or info.alias_of not in writes:
                continue
            full = writes[info.alias_of][-1]
            for st in stmts:
                conflicted.add(id(st.target))
                yield self.report(
                    st.target.span,
                    f'"{alias}" and "{info.alias_of}" are both assigned; the service uses "{info.alias_of}" and '
                    "ignores this assignment",
                    hint="remove this assignment, or merge it into the other",
                    related=(Related(full.target.span, f"{info.alias_of} is assigned here"),),
                )
        targets = [st.target for st in ctx.formula.statements if isinstance(st, ast.Assignment)]
        seen: set[int] = set()
        for var in [*targets, *ctx.analysis.all_vars]:
            if id(var) in seen or id(var) in conflicted:
                continue
            seen.add(id(var))
            info = b.SERVICE_VARIABLES.get(var.name)
            if info is None or info.alias_of is None:
                continue
            what = "no longer documented" if info.deprecated else "a legacy alias"
            yield self.report(
                var.span,
                f'"{var.name}" is {what}; use "{info.alias_of}"',
                hint=f'rename it to "{info.alias_of}" (--fix does this)',
                fix=Fix(f"rename to {info.alias_of}", (Edit(var.span, info.alias_of),)),
            )
