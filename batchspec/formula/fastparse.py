"""A hand-written fast path for well-formed formulas; grammar.lark stays the definition of the language.

Lark's LALR parser spends most of its time in the nine reductions of the precedence levels, which caps it at about
1,400 seed-sized formulas per second here; the issue asks for 2,000 parses *and* type checks per second. This
module parses the same language with one regex scanner and precedence climbing (using ``ast.PRECEDENCE``) and
builds exactly the same AST, spans included. It gives up (returns None) on anything unusual - any token it does not
expect, nesting deeper than ``MAX_NESTING`` - and the caller then runs the Lark parser, which produces the
diagnostics and the recovery. A differential test (tests/formula/test_fastparse.py) checks that both parsers build
identical trees on the reference formulas, the corpus and generated programs.
"""

from __future__ import annotations

import re

from batchspec.diagnostics.model import Pos, Span
from batchspec.formula import ast

_TOKEN = re.compile(
    r"(?P<WS>[ \t\r\n]+)"
    r"|(?P<COMMENT>//[^\n]*)"
    r"|(?P<NAME>\$?[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<NUMBER>[0-9]+(?:\.[0-9]+)?)"
    r'|(?P<STRING>"[^"\r\n]*")'
    r"|(?P<OP>\|\||&&|==|!=|<=|>=|[-+*/<>!=?:.,;()])"
)

_PREC = ast.PRECEDENCE
_EOF = ("EOF", "", None, None)


class _GiveUp(Exception):
    pass


def tokenize(text: str, path: str):  # type: ignore[no-untyped-def]
    """(kind, value, start Pos, end Pos) tuples and the comments, or None when a character is not a token."""
    tokens = []
    comments = []
    line = 1
    line_start = 0
    pos = 0
    append = tokens.append
    for m in _TOKEN.finditer(text):
        start = m.start()
        if start != pos:  # finditer skipped a character no token matches
            return None
        kind = m.lastgroup
        pos = m.end()
        if kind == "WS":
            newlines = text.count("\n", start, pos)
            if newlines:
                line += newlines
                line_start = text.rindex("\n", start, pos) + 1
            continue
        value = m.group()
        col = start - line_start + 1
        if kind == "COMMENT":
            stripped = value.rstrip("\r")
            comments.append(
                ast.Comment(text=stripped, span=Span(path, Pos(line, col), Pos(line, col + len(stripped))))
            )
        else:
            append((value if kind == "OP" else kind, value, Pos(line, col), Pos(line, col + len(value))))
    if pos != len(text):
        return None
    tokens.append(_EOF)
    return tokens, comments


class _Parser:
    __slots__ = ("depth", "i", "limit", "path", "tokens")

    def __init__(self, tokens, path: str, limit: int) -> None:  # type: ignore[no-untyped-def]
        self.tokens = tokens
        self.i = 0
        self.path = path
        self.depth = 0
        self.limit = limit

    def span(self, start: Pos, end: Pos) -> Span:
        return Span(self.path, start, end)

    def formula(self) -> ast.Formula:
        statements = []
        empties = []
        tokens = self.tokens
        previous_was_statement = False
        while True:
            kind = tokens[self.i][0]
            if kind == ";":
                tok = tokens[self.i]
                if not previous_was_statement:
                    empties.append(self.span(tok[2], tok[3]))
                previous_was_statement = False
                self.i += 1
            elif kind == "EOF":
                break
            else:
                if previous_was_statement:
                    raise _GiveUp
                statements.append(self.statement())
                previous_was_statement = True
        return ast.Formula(
            statements=tuple(statements),
            empty_statements=tuple(empties),
            span=Span(self.path, Pos(1, 1), Pos(1, 1)),
        )

    def statement(self) -> ast.Statement:
        tokens = self.tokens
        tok = tokens[self.i]
        if tok[0] == "NAME" and tokens[self.i + 1][0] == "=":
            self.i += 2
            target = ast.Var(name=tok[1], span=self.span(tok[2], tok[3]))
            value = self.expr()
            return ast.Assignment(target=target, value=value, span=self.span(tok[2], value.span.end))
        expr = self.expr()
        return ast.ExprStatement(expr=expr, span=expr.span)

    def expr(self) -> ast.Expr:
        self.depth += 1
        if self.depth > self.limit:
            raise _GiveUp
        condition = self.binary(0)
        if self.tokens[self.i][0] == "?":
            self.i += 1
            if_true = self.expr()
            if self.tokens[self.i][0] != ":":
                raise _GiveUp
            self.i += 1
            if_false = self.expr()
            condition = ast.Ternary(
                condition=condition,
                if_true=if_true,
                if_false=if_false,
                span=self.span(condition.span.start, if_false.span.end),
            )
        self.depth -= 1
        return condition

    def binary(self, min_prec: int) -> ast.Expr:
        left = self.unary()
        tokens = self.tokens
        while True:
            tok = tokens[self.i]
            prec = _PREC.get(tok[0])
            if prec is None or prec <= min_prec:
                return left
            self.i += 1
            self.depth += 1
            if self.depth > self.limit:
                raise _GiveUp
            right = self.binary(prec)
            self.depth -= 1
            left = ast.Binary(
                op=tok[0],
                left=left,
                right=right,
                op_span=self.span(tok[2], tok[3]),
                span=self.span(left.span.start, right.span.end),
            )

    def unary(self) -> ast.Expr:
        tok = self.tokens[self.i]
        if tok[0] == "-" or tok[0] == "!":
            self.i += 1
            self.depth += 1
            if self.depth > self.limit:
                raise _GiveUp
            operand = self.unary()
            self.depth -= 1
            return ast.Unary(
                op=tok[0],
                operand=operand,
                op_span=self.span(tok[2], tok[3]),
                span=self.span(tok[2], operand.span.end),
            )
        return self.postfix()

    def postfix(self) -> ast.Expr:
        node = self.atom()
        tokens = self.tokens
        while tokens[self.i][0] == ".":
            name = tokens[self.i + 1]
            if name[0] != "NAME":
                raise _GiveUp
            self.i += 2
            name_span = self.span(name[2], name[3])
            if tokens[self.i][0] == "(":
                self.i += 1
                args, rpar = self.args()
                node = ast.MethodCall(
                    receiver=node,
                    method=name[1],
                    method_span=name_span,
                    args=args,
                    span=self.span(node.span.start, rpar[3]),
                )
            else:
                node = ast.Member(
                    receiver=node, name=name[1], name_span=name_span, span=self.span(node.span.start, name[3])
                )
        return node

    def args(self):  # type: ignore[no-untyped-def]
        tokens = self.tokens
        args = []
        if tokens[self.i][0] != ")":
            args.append(self.expr())
            while tokens[self.i][0] == ",":
                self.i += 1
                args.append(self.expr())
        tok = tokens[self.i]
        if tok[0] != ")":
            raise _GiveUp
        self.i += 1
        return tuple(args), tok

    def atom(self) -> ast.Expr:
        tokens = self.tokens
        tok = tokens[self.i]
        kind = tok[0]
        self.i += 1
        if kind == "NUMBER":
            return ast.Number(value=float(tok[1]), text=tok[1], span=self.span(tok[2], tok[3]))
        if kind == "NAME":
            if tokens[self.i][0] == "(":
                self.i += 1
                args, rpar = self.args()
                return ast.Call(
                    name=tok[1],
                    name_span=self.span(tok[2], tok[3]),
                    args=args,
                    span=self.span(tok[2], rpar[3]),
                )
            return ast.Var(name=tok[1], span=self.span(tok[2], tok[3]))
        if kind == "STRING":
            return ast.String(value=tok[1][1:-1], span=self.span(tok[2], tok[3]))
        if kind == "(":
            inner = self.expr()
            close = tokens[self.i]
            if close[0] != ")":
                raise _GiveUp
            self.i += 1
            return ast.Paren(expr=inner, span=self.span(tok[2], close[3]))
        raise _GiveUp


def fast_parse(text: str, path: str, max_nesting: int) -> ast.Formula | None:
    """The formula, or None when the text needs the full parser (any error, or very deep nesting)."""
    scanned = tokenize(text, path)
    if scanned is None:
        return None
    tokens, comments = scanned
    try:
        formula = _Parser(tokens, path, max_nesting // 2).formula()
    except (_GiveUp, RecursionError):
        return None
    # a tree is never deeper than its token count; only long formulas need the (iterative) depth check
    if len(tokens) >= max_nesting and any(
        ast.depth(statement) > max_nesting for statement in formula.statements
    ):
        return None
    last_newline = text.rfind("\n")
    end = Pos(text.count("\n") + 1, len(text) - last_newline)
    return ast.Formula(
        statements=formula.statements,
        comments=tuple(comments),
        empty_statements=formula.empty_statements,
        span=Span(path, Pos(1, 1), end),
    )
