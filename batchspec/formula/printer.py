"""AST → canonical text (``batchspec fmt``).

The canonical form: one statement per line, each ended by ``;`` (an assignment of a conditional longer than 110
characters is split before its ``?`` and ``:``, of a call with several arguments after its commas); single spaces around binary operators, ``?`` and
``:``; none after unary operators, inside parentheses or before commas; one space after commas. Numbers keep the
digits as written. Parentheses written by the user are kept; the printer adds only the ones precedence needs (for
trees built by code). Comments are kept: a comment that followed a statement on its line stays after it, a comment
on its own line stays on its own line, and a comment written inside a multi-line statement moves above it. One blank
line is kept where the source had one or more. Empty statements (``;;``) are dropped: they do nothing.
"""

from __future__ import annotations

from batchspec.diagnostics.model import Diagnostic
from batchspec.formula import ast

_TERNARY = 1
_UNARY = 9
_POSTFIX = 10


class FormatError(ValueError):
    """The text has syntax errors and cannot be formatted."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("formula has syntax errors")
        self.diagnostics = diagnostics


def _prec(e: ast.Expr) -> int:
    if isinstance(e, ast.Binary):
        return ast.PRECEDENCE[e.op]
    if isinstance(e, ast.Ternary):
        return _TERNARY
    if isinstance(e, ast.Unary):
        return _UNARY
    return _POSTFIX + 1  # atoms, calls, postfix forms and parentheses


def print_expr(e: ast.Expr) -> str:
    if isinstance(e, ast.Number):
        return e.text
    if isinstance(e, ast.String):
        return f'"{e.value}"'
    if isinstance(e, ast.Var):
        return e.name
    if isinstance(e, ast.Paren):
        return f"({print_expr(e.expr)})"
    if isinstance(e, ast.Unary):
        operand = print_expr(e.operand)
        if _prec(e.operand) < _UNARY:
            operand = f"({operand})"
        return f"{e.op}{operand}"
    if isinstance(e, ast.Binary):
        p = ast.PRECEDENCE[e.op]
        left = print_expr(e.left)
        right = print_expr(e.right)
        if _prec(e.left) < p:
            left = f"({left})"
        if _prec(e.right) <= p:
            right = f"({right})"
        return f"{left} {e.op} {right}"
    if isinstance(e, ast.Ternary):
        condition = print_expr(e.condition)
        if _prec(e.condition) <= _TERNARY:
            condition = f"({condition})"
        return f"{condition} ? {print_expr(e.if_true)} : {print_expr(e.if_false)}"
    if isinstance(e, ast.Call):
        return f"{e.name}({', '.join(print_expr(a) for a in e.args)})"
    if isinstance(e, (ast.Member, ast.MethodCall)):
        receiver = print_expr(e.receiver)
        if _prec(e.receiver) <= _POSTFIX:
            receiver = f"({receiver})"
        if isinstance(e, ast.Member):
            return f"{receiver}.{e.name}"
        return f"{receiver}.{e.method}({', '.join(print_expr(a) for a in e.args)})"
    raise AssertionError(f"unhandled node {type(e).__name__}")  # pragma: no cover


MAX_WIDTH = 110  # a longer assignment of a conditional is split before "?" and ":", of a call after its commas


def _split_call(e: ast.Expr, indent: int) -> str:
    """min(cap, <long expression>): one argument per line (nested calls too, while a line stays too long)."""
    one = print_expr(e)
    if indent + len(one) <= MAX_WIDTH or not (isinstance(e, ast.Call) and len(e.args) > 1):
        return one
    pad = " " * (indent + 4)
    args = ",\n".join(pad + _split_call(a, indent + 4) for a in e.args)
    return f"{e.name}(\n{args}\n{' ' * indent})"


def print_statement(s: ast.Statement) -> str:
    if isinstance(s, ast.Assignment):
        line = f"{s.target.name} = {print_expr(s.value)};"
        if len(line) > MAX_WIDTH and isinstance(s.value, ast.Ternary):
            t = s.value
            condition = print_expr(t.condition)
            if _prec(t.condition) <= _TERNARY:
                condition = f"({condition})"
            return (
                f"{s.target.name} = {condition}\n"
                f"    ? {print_expr(t.if_true)}\n"
                f"    : {print_expr(t.if_false)};"
            )
        if len(line) > MAX_WIDTH and isinstance(s.value, ast.Call) and len(s.value.args) > 1:
            return f"{s.target.name} = {_split_call(s.value, 0)};"
        return line
    return f"{print_expr(s.expr)};"


def format_formula(formula_or_text: ast.Formula | str, path: str = "") -> str:
    """Canonical text of a formula (a parsed tree, or text that is parsed first; raises FormatError on syntax
    errors). Ends with a newline; an empty formula gives only its comments."""
    if isinstance(formula_or_text, str):
        from batchspec.formula.parser import parse_formula

        formula, diagnostics = parse_formula(formula_or_text, path)
        if formula is None:
            raise FormatError(diagnostics)
    else:
        formula = formula_or_text

    trailing: dict[int, list[ast.Comment]] = {}
    # (sort key, start line, end line, text)
    items: list[tuple[tuple[int, int, int, int], int, int, str]] = []
    statements = formula.statements
    for comment in formula.comments:
        line = comment.span.start.line
        owner = None
        for index, s in enumerate(statements):
            if s.span.end.line == line and s.span.end.col <= comment.span.start.col:
                owner = index  # the last statement that ends on the comment's line
            elif s.span.start < comment.span.start < s.span.end:
                owner = -1 - index  # inside a multi-line statement: goes above it
        if owner is not None and owner >= 0:
            trailing.setdefault(owner, []).append(comment)
        elif owner is not None:
            s = statements[-1 - owner]
            key = (s.span.start.line, s.span.start.col, 0, comment.span.start.line)
            items.append((key, s.span.start.line, s.span.start.line, comment.text.rstrip()))
        else:
            key = (line, comment.span.start.col, 0, 0)
            items.append((key, line, line, comment.text.rstrip()))
    for index, s in enumerate(statements):
        text = print_statement(s)
        for comment in trailing.get(index, ()):
            text += " " + comment.text.rstrip()
        key = (s.span.start.line, s.span.start.col, 1, 0)
        items.append((key, s.span.start.line, s.span.end.line, text))
    items.sort(key=lambda item: item[0])

    lines: list[str] = []
    previous_end: int | None = None
    for _key, start, end, text in items:
        if previous_end is not None and start - previous_end > 1:
            lines.append("")
        lines.append(text)
        previous_end = max(end, previous_end or 0)
    return "\n".join(lines) + "\n" if lines else ""
