"""Small helpers shared by the formula rules."""

from __future__ import annotations

import functools

from batchspec.diagnostics.model import Span
from batchspec.formula import ast
from batchspec.lint.context import FormulaContext


def join_spans(a: Span, b: Span) -> Span:
    return Span(a.path, min(a.start, b.start), max(a.end, b.end))


def quote(ctx: FormulaContext, span: Span, limit: int = 60) -> str:
    """The source of a span on one line, shortened for a message."""
    text = " ".join(ctx.source(span).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def fmt_num(x: float) -> str:
    if x != x:  # nan
        return "?"
    if x in (float("inf"), float("-inf")):
        return "∞" if x > 0 else "-∞"
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.6g}"


def fmt_seconds(s: float) -> str:
    if s >= 3600 and s % 3600 == 0:
        n = int(s // 3600)
        return f"{n} hour" + ("s" if n != 1 else "")
    if s >= 60 and s % 60 == 0:
        n = int(s // 60)
        return f"{n} minute" + ("s" if n != 1 else "")
    return f"{fmt_num(s)} second" + ("s" if s != 1 else "")


def receiver_and_method(node: ast.MethodCall) -> Span:
    return join_spans(node.receiver.span, node.method_span)


def args_span(node: ast.MethodCall | ast.Call) -> Span:
    if not node.args:
        return node.span
    return join_spans(node.args[0].span, node.args[-1].span)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions each cost 1."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


# at most this many edits (ignoring case and the "$") make a user variable a likely misspelling of a writable
# service variable; the writable names are 16 characters or more, so two edits never reach an unrelated word
MAX_MISSPELLING_EDITS = 2


@functools.lru_cache(maxsize=4096)  # a pure function of the name; names recur across statements and files
def misspelt_writable(name: str) -> str | None:
    """The writable service variable (target or $NodeDeallocationOption) that ``name`` is a small misspelling of:
    ``$TargetDedicatedNode`` -> ``$TargetDedicatedNodes``. None for an exact name, for a name that differs only
    in case or in the "$" (service-variable-case reports those) and for anything further away. The full name
    wins a tie with its alias."""
    from batchspec.formula import builtins as b

    if name in b.SERVICE_VARIABLES:
        return None
    spelled = (name if name.startswith("$") else "$" + name).lower()
    best: tuple[int, bool, str] | None = None
    for var in b.SERVICE_VARIABLES.values():
        # the length difference bounds the distance from below: skip the quadratic comparison when it is too big
        if not var.writable or abs(len(var.name) - len(spelled)) > MAX_MISSPELLING_EDITS:
            continue
        distance = edit_distance(spelled, var.name.lower())
        if distance == 0:
            return None
        if distance <= MAX_MISSPELLING_EDITS:
            key = (distance, var.alias_of is not None, var.name)
            best = key if best is None or key < best else best
    return best[2] if best else None
