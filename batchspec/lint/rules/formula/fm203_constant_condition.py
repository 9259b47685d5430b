from __future__ import annotations

from collections.abc import Iterator

from batchspec.diagnostics.model import Severity
from batchspec.formula import ast
from batchspec.lint.analysis import (
    TIMESTAMP_DOMAINS,
    TIMESTAMP_RANGE_TEXT,
    Analysis,
    Truth,
    member_sets,
)
from batchspec.lint.context import FormulaContext
from batchspec.lint.rule import Example, Finding, FormulaRule
from batchspec.lint.rules.formula._util import fmt_num, quote

_LOGIC = ("&&", "||")
_CMP = ("<", "<=", ">", ">=", "==", "!=")


def _is_boolean(e: ast.Expr) -> bool:
    return (isinstance(e, ast.Binary) and (e.op in _LOGIC or e.op in _CMP)) or (
        isinstance(e, ast.Unary) and e.op == "!"
    )


class ConstantCondition(FormulaRule):
    """A condition that is always true or always false.

    Found by constant folding and by range reasoning: timestamp fields have fixed ranges (`weekday` 1–7 with
    1 = Monday, `hour` 0–23, `minute` and `second` 0–59, `month` 1–12, `day` 1–31), percentages are 0–100 and
    counts are never negative. `$curTime.weekday < 1 && $curTime.weekday > 5` ("the weekend") is never true, so
    the weekend branch never runs. A redundant part of a condition that does not decide it (the `>= 1` in
    `weekday >= 1 && weekday <= 5`) is not reported, and neither are conditions on the author's own constants
    (`rebalance = 0 == 1` as a switch).
    """

    code = "FM203"
    name = "constant-condition"
    default_severity = Severity.WARNING
    examples = (
        Example(
            bad="$now = time();\n$weekend = $now.weekday < 1 && $now.weekday > 5;",
            good="$now = time();\n$weekend = $now.weekday >= 6;",
        ),
    )

    def check(self, ctx: FormulaContext) -> Iterator[Finding]:
        a = ctx.analysis
        ternary_conditions = {id(ast.unparen(c)) for c, _ in a.conditions}
        roots: list[tuple[ast.Expr, bool]] = [(ast.unparen(c), True) for c, _ in a.conditions]
        roots += [(e, id(e) in ternary_conditions) for e in a.bool_roots]
        seen: set[int] = set()
        for root, is_condition in roots:
            if id(root) in seen:
                continue
            seen.add(id(root))
            t = _truth(root, a, in_condition=is_condition)
            if t.value is None:
                continue
            culprit = t.culprit or root
            culprit_value = t.culprit_truth if t.culprit is not None else t.value
            word = "true" if t.value else "false"
            culprit_word = "true" if culprit_value else "false"
            text = quote(ctx, culprit.span)
            whole = "" if culprit is root else f', so "{quote(ctx, root.span, 40)}" is always {word}'
            reason = f": {t.reason}" if t.reason else ""
            yield self.report(
                culprit.span,
                f'condition "{text}" is always {culprit_word}{reason}{whole}',
                hint='did you mean "||"?'
                if (not culprit_value and "&&" in text)
                else "check the comparison: a condition that never changes leaves one branch dead",
            )


def _truth(e: ast.Expr, a: Analysis, *, in_condition: bool) -> Truth:
    e = ast.unparen(e)
    sets = member_sets(e)
    if sets is not None:
        return _member_truth(e, sets)
    if isinstance(e, ast.Binary) and e.op in _LOGIC:
        left = _truth(e.left, a, in_condition=True)
        right = _truth(e.right, a, in_condition=True)
        absorbing = e.op == "||"  # the value that decides the whole: true for ||, false for &&
        for side in (left, right):
            if side.value is absorbing:
                return side
        if left.value is (not absorbing) and right.value is (not absorbing):
            return Truth(not absorbing, e, "")
        return Truth(None)
    if isinstance(e, ast.Unary) and e.op == "!":
        inner = _truth(e.operand, a, in_condition=True)
        if inner.value is None:
            return inner
        return Truth(not inner.value, inner.culprit, inner.reason, culprit_value=inner.culprit_truth)
    if isinstance(e, ast.Number):
        if not in_condition:
            return Truth(None)
        return Truth(e.value != 0, e, "")
    v = a.values.get(id(e))
    if v is None or not v.known or v.kind != "num" or v.knob:
        return Truth(None)
    if v.lit and not in_condition:
        return Truth(None)  # "x = 0 == 1": a literal switch, not a condition
    if v.lo > 0 or v.hi < 0:
        value = True
    elif v.lo == v.hi == 0:
        value = False
    else:
        return Truth(None)
    reason = ""
    if isinstance(e, ast.Binary) and e.op in _CMP:
        for cmp in a.comparisons:
            if cmp.node is e:
                sides = []
                for side in (cmp.left, cmp.right):
                    if side.known and side.lo != side.hi and side.kind == "num":
                        sides.append(f"one side is always between {fmt_num(side.lo)} and {fmt_num(side.hi)}")
                reason = sides[0] if sides else ""
                break
    return Truth(value, e, reason)


def _member_truth(e: ast.Expr, sets: dict[tuple[str, str], frozenset[int]]) -> Truth:
    for (_receiver, fld), values in sets.items():
        if not values:
            culprit = _leaf_with(e, fld, empty=True) if _is_and_chain(e) else None
            culprit = culprit or e
            single = isinstance(culprit, ast.Binary) and culprit.op in _CMP
            reason = f"{fld} is {TIMESTAMP_RANGE_TEXT[fld]}" if single else f"no {fld} satisfies all of it"
            return Truth(False, culprit, reason)
    if all(values == TIMESTAMP_DOMAINS[fld] for (_r, fld), values in sets.items()):
        fld = next(iter(sets))[1]
        culprit = _leaf_with(e, fld, empty=False) if _is_or_chain(e) else None
        culprit = culprit or e
        single = isinstance(culprit, ast.Binary) and culprit.op in _CMP
        reason = f"{fld} is {TIMESTAMP_RANGE_TEXT[fld]}" if single else f"every {fld} satisfies it"
        return Truth(True, culprit, reason)
    return Truth(None)


def _is_and_chain(e: ast.Expr) -> bool:
    e = ast.unparen(e)
    if isinstance(e, ast.Binary) and e.op == "&&":
        return _is_and_chain(e.left) and _is_and_chain(e.right)
    return isinstance(e, ast.Binary) and e.op in _CMP


def _is_or_chain(e: ast.Expr) -> bool:
    e = ast.unparen(e)
    if isinstance(e, ast.Binary) and e.op == "||":
        return _is_or_chain(e.left) and _is_or_chain(e.right)
    return isinstance(e, ast.Binary) and e.op in _CMP


def _leaf_with(e: ast.Expr, fld: str, *, empty: bool) -> ast.Expr | None:
    """The first single comparison that is on its own always false (empty) or always true."""
    stack = [e]
    while stack:
        node = ast.unparen(stack.pop())
        if isinstance(node, ast.Binary) and node.op in _CMP:
            sets = member_sets(node)
            if sets:
                ((_key, values),) = sets.items()
                if empty and not values:
                    return node
                if not empty and values == TIMESTAMP_DOMAINS[fld]:
                    return node
        elif isinstance(node, ast.Binary | ast.Unary):
            stack.extend(reversed(ast.children(node)))  # type: ignore[arg-type]
    return None
