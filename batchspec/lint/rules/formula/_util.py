"""Small helpers shared by the formula rules."""

from __future__ import annotations

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
