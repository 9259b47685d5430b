"""Typed AST of an autoscale formula. Frozen, slotted, keyword-only dataclasses; every node has ``span``.

Node types (names and fields are stable; only additive changes):

* ``Formula(statements, comments, empty_statements, span)`` - the root. ``empty_statements`` holds the span of each
  ``;`` that ends no statement (``;;``, a leading ``;``), for the linter.
* ``Comment(text, span)`` - a ``//`` comment (``text`` includes the ``//``).
* Statements: ``Assignment(target: Var, value: Expr, span)`` and ``ExprStatement(expr: Expr, span)``.
* Expressions (``Expr``):
  ``Number(value: float, text, span)``; ``String(value, span)`` (value without the quotes);
  ``Var(name, span)`` (any identifier used as a value: service variable ``$CPUPercent``, user variable
  ``$x``/``x``, constant ``TimeInterval_Minute``, keyword ``taskcompletion``; ``name`` as written);
  ``Unary(op, operand, op_span, span)`` with op ``-`` or ``!``;
  ``Binary(op, left, right, op_span, span)`` with op one of ``* / + - < <= > >= == != && ||``;
  ``Ternary(condition, if_true, if_false, span)``;
  ``Call(name, name_span, args, span)`` - ``max(a, b)``;
  ``Member(receiver, name, name_span, span)`` - ``time().weekday``;
  ``MethodCall(receiver, method, method_span, args, span)`` - ``$PendingTasks.GetSample(1)``;
  ``Paren(expr, span)`` - parentheses as written (kept so spans and the printer are faithful).

Spans are 1-based (line, column in code points), end exclusive. Helpers: ``children``, ``walk`` (iterative, safe on
deep trees), ``strip_spans`` (for structural comparison), ``unparen``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from batchspec.diagnostics.model import Pos, Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Comment:
    text: str
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Number:
    value: float
    text: str
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class String:
    value: str
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Var:
    name: str
    span: Span

    @property
    def has_dollar(self) -> bool:
        return self.name.startswith("$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Unary:
    op: str
    operand: Expr
    op_span: Span
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Binary:
    op: str
    left: Expr
    right: Expr
    op_span: Span
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Ternary:
    condition: Expr
    if_true: Expr
    if_false: Expr
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    name: str
    name_span: Span
    args: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    receiver: Expr
    name: str
    name_span: Span
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class MethodCall:
    receiver: Expr
    method: str
    method_span: Span
    args: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Paren:
    expr: Expr
    span: Span


Expr = Number | String | Var | Unary | Binary | Ternary | Call | Member | MethodCall | Paren


@dataclass(frozen=True, slots=True, kw_only=True)
class Assignment:
    target: Var
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class ExprStatement:
    expr: Expr
    span: Span


Statement = Assignment | ExprStatement


@dataclass(frozen=True, slots=True, kw_only=True)
class Formula:
    statements: tuple[Statement, ...]
    comments: tuple[Comment, ...] = ()
    empty_statements: tuple[Span, ...] = ()
    span: Span


Node = Formula | Assignment | ExprStatement | Expr | Comment

EXPR_TYPES = (Number, String, Var, Unary, Binary, Ternary, Call, Member, MethodCall, Paren)

BINARY_OPERATORS = ("*", "/", "+", "-", "<", "<=", ">", ">=", "==", "!=", "&&", "||")
UNARY_OPERATORS = ("-", "!")
# binding power, higher binds tighter (reference §1.7); the ternary is 1, unary 9, postfix 10
PRECEDENCE: dict[str, int] = {
    "||": 2,
    "&&": 3,
    "==": 4,
    "!=": 4,
    "<": 5,
    "<=": 5,
    ">": 5,
    ">=": 5,
    "+": 6,
    "-": 6,
    "*": 7,
    "/": 7,
}


def children(node: Node) -> tuple[Node, ...]:
    """Direct child nodes, in source order."""
    if isinstance(node, Formula):
        return node.statements
    if isinstance(node, Assignment):
        return (node.target, node.value)
    if isinstance(node, ExprStatement):
        return (node.expr,)
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Ternary):
        return (node.condition, node.if_true, node.if_false)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Member):
        return (node.receiver,)
    if isinstance(node, MethodCall):
        return (node.receiver, *node.args)
    if isinstance(node, Paren):
        return (node.expr,)
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Pre-order traversal without recursion."""
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def depth(node: Node) -> int:
    """Height of the tree (a lone leaf is 1), computed without recursion."""
    best = 0
    stack: list[tuple[Node, int]] = [(node, 1)]
    while stack:
        current, d = stack.pop()
        if d > best:
            best = d
        for child in children(current):
            stack.append((child, d + 1))
    return best


def unparen(expr: Expr) -> Expr:
    while isinstance(expr, Paren):
        expr = expr.expr
    return expr


_NO_SPAN = Span("", Pos(0, 0), Pos(0, 0))


def strip_spans(node, *, drop_parens: bool = False, drop_comments: bool = False):  # type: ignore[no-untyped-def]
    """A copy of ``node`` with every span set to a fixed dummy, for structural comparison.

    ``drop_parens`` also removes ``Paren`` wrappers (a printer may add or drop redundant parentheses).
    """
    if isinstance(node, tuple):
        return tuple(strip_spans(n, drop_parens=drop_parens, drop_comments=drop_comments) for n in node)
    if isinstance(node, Span):
        return _NO_SPAN
    if not dataclasses.is_dataclass(node):
        return node
    if drop_parens and isinstance(node, Paren):
        return strip_spans(node.expr, drop_parens=drop_parens, drop_comments=drop_comments)
    changes = {}
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if drop_comments and isinstance(node, Formula) and f.name in ("comments", "empty_statements"):
            value = ()
        changes[f.name] = strip_spans(value, drop_parens=drop_parens, drop_comments=drop_comments)
    return dataclasses.replace(node, **changes)


def dump(node: Node, indent: str = "") -> str:
    """A readable, stable dump of a tree with its spans (``line:col-line:col``), one node per line."""
    lines: list[str] = []
    stack: list[tuple[object, str, str]] = [(node, indent, "")]
    while stack:
        current, pad, label = stack.pop()
        prefix = f"{pad}{label}"
        if isinstance(current, tuple):
            lines.append(f"{prefix}[]" if not current else f"{prefix}[")
            if current:
                stack.append(("]", pad, ""))
                for child in reversed(current):
                    stack.append((child, pad + "  ", ""))
            continue
        if isinstance(current, str):
            lines.append(f"{pad}{current}")
            continue
        s = current.span  # type: ignore[attr-defined]
        where = f"{s.start.line}:{s.start.col}-{s.end.line}:{s.end.col}"
        scalars = []
        nested: list[tuple[str, object]] = []
        for f in dataclasses.fields(current):  # type: ignore[arg-type]
            if f.name == "span" or f.name.endswith("_span"):
                continue
            value = getattr(current, f.name)
            if isinstance(value, (str, float, int)):
                scalars.append(f"{f.name}={value!r}")
            elif f.name == "empty_statements":
                scalars.append(f"empty_statements={len(value)}")
            else:
                nested.append((f.name, value))
        lines.append(f"{prefix}{type(current).__name__} {where} " + " ".join(scalars))
        for name, value in reversed(nested):
            stack.append((value, pad + "  ", f"{name}: "))
    return "\n".join(line.rstrip() for line in lines) + "\n"
