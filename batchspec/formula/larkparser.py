"""The grammar-driven parser: a cached LALR parser (grammar.lark), an explicit transformer, Lark errors → FM0xx.

Imported only when the fast path (fastparse.py) gives up, i.e. on input with syntax errors, so a clean
``batchspec validate`` never pays for importing Lark.

Parsing never raises on bad input. Syntax errors are recovered from so that one run reports every problem:

* a missing ``;`` before a statement that starts on a new line is reported at the end of the previous statement and
  the parser carries on as if it were there (Lark's ``on_error`` hook feeds a ``;``);
* any other error blanks the broken statement (replaced by spaces, newlines kept, so every position stays exact) and
  the text is parsed again. Names the broken statements assigned are remembered so that the type checker does not
  report them as undefined later.

The transformer runs inside the LALR parser (no intermediate tree) and computes each node's span from its tokens
and children; ``propagate_positions`` is not needed for that, and no Lark object escapes this module.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from dataclasses import dataclass

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from batchspec.diagnostics.codes import make
from batchspec.diagnostics.model import Diagnostic, Pos, Related, Span
from batchspec.formula import ast
from batchspec.formula.parser import MAX_SYNTAX_ERRORS, ParseResult, first_too_deep


def _tok_span(path: str, tok: Token) -> Span:
    return Span(path, Pos(tok.line, tok.column), Pos(tok.end_line, tok.end_column))


def _join(path: str, first: Span | Token, last: Span | Token) -> Span:
    start = first.start if isinstance(first, Span) else Pos(first.line, first.column)
    end = last.end if isinstance(last, Span) else Pos(last.end_line, last.end_column)
    return Span(path, start, end)


class _Builder(Transformer):
    """One method per grammar rule (or alias); each returns an AST dataclass. ``path`` is set per parse."""

    path = ""

    def start(self, items):
        statements = []
        empties = []
        previous_was_statement = False
        for item in items:
            if isinstance(item, Token):  # SEMI
                if not previous_was_statement:
                    empties.append(_tok_span(self.path, item))
                previous_was_statement = False
            else:
                statements.append(item)
                previous_was_statement = True
        return ast.Formula(
            statements=tuple(statements),
            empty_statements=tuple(empties),
            span=Span(self.path, Pos(1, 1), Pos(1, 1)),  # replaced by parse_formula with the whole text
        )

    def assignment(self, items):
        name, _eq, value = items
        target = ast.Var(name=str(name), span=_tok_span(self.path, name))
        return ast.Assignment(target=target, value=value, span=_join(self.path, name, value.span))

    def expr_statement(self, items):
        (expr,) = items
        return ast.ExprStatement(expr=expr, span=expr.span)

    def ternary(self, items):
        condition, _q, if_true, _c, if_false = items
        return ast.Ternary(
            condition=condition,
            if_true=if_true,
            if_false=if_false,
            span=_join(self.path, condition.span, if_false.span),
        )

    def binary(self, items):
        left, op, right = items
        return ast.Binary(
            op=str(op),
            left=left,
            right=right,
            op_span=_tok_span(self.path, op),
            span=_join(self.path, left.span, right.span),
        )

    def unary(self, items):
        op, operand = items
        return ast.Unary(
            op=str(op),
            operand=operand,
            op_span=_tok_span(self.path, op),
            span=_join(self.path, op, operand.span),
        )

    def method_call(self, items):
        receiver, _dot, name, _lp, args, rpar = items
        return ast.MethodCall(
            receiver=receiver,
            method=str(name),
            method_span=_tok_span(self.path, name),
            args=args,
            span=_join(self.path, receiver.span, rpar),
        )

    def member(self, items):
        receiver, _dot, name = items
        return ast.Member(
            receiver=receiver,
            name=str(name),
            name_span=_tok_span(self.path, name),
            span=_join(self.path, receiver.span, name),
        )

    def number(self, items):
        (tok,) = items
        return ast.Number(value=float(tok), text=str(tok), span=_tok_span(self.path, tok))

    def string(self, items):
        (tok,) = items
        return ast.String(value=str(tok)[1:-1], span=_tok_span(self.path, tok))

    def call(self, items):
        name, _lp, args, rpar = items
        return ast.Call(
            name=str(name), name_span=_tok_span(self.path, name), args=args, span=_join(self.path, name, rpar)
        )

    def var(self, items):
        (tok,) = items
        return ast.Var(name=str(tok), span=_tok_span(self.path, tok))

    def paren(self, items):
        lpar, expr, rpar = items
        return ast.Paren(expr=expr, span=_join(self.path, lpar, rpar))

    def args(self, items):
        return tuple(item for item in items if not isinstance(item, Token))


_BUILDER = _Builder()
_LOCK = threading.Lock()


@functools.cache
def parser() -> Lark:
    return Lark.open_from_package(
        "batchspec.formula",
        "grammar.lark",
        parser="lalr",
        lexer="contextual",
        transformer=_BUILDER,
        maybe_placeholders=False,
        cache=True,
    )


# ---------------------------------------------------------------------------------------------------------------
# Scanning helpers (strings and comments aware)

_STRING_OR_COMMENT = re.compile(r'"[^"\r\n]*"?|//[^\n]*')


def comment_ranges(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of every ``//`` comment; strings are skipped so ``"a//b"`` is not a comment."""
    out = []
    for m in _STRING_OR_COMMENT.finditer(text):
        if m.group().startswith("//"):
            out.append((m.start(), m.end()))
    return out


def _code_mask(text: str) -> list[tuple[int, int, str]]:
    """Regions of strings ("s") and comments ("c")."""
    return [
        (m.start(), m.end(), "c" if m.group().startswith("//") else "s")
        for m in _STRING_OR_COMMENT.finditer(text)
    ]


class _Positions:
    """Offset ↔ (line, column) conversion for one text; lines split on \\n like Lark does."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = [0]
        for m in re.finditer("\n", text):
            self.line_starts.append(m.end())

    def pos(self, offset: int) -> Pos:
        import bisect

        line = bisect.bisect_right(self.line_starts, offset) - 1
        return Pos(line + 1, offset - self.line_starts[line] + 1)

    def end_of_code(self, before: int, comments: list[tuple[int, int]]) -> int:
        """Offset just after the last code character before ``before`` (skipping whitespace and comments)."""
        i = before - 1
        while i >= 0:
            ch = self.text[i]
            if ch in " \t\r\n":
                i -= 1
                continue
            inside = next((c for c in comments if c[0] <= i < c[1]), None)
            if inside is not None:
                i = inside[0] - 1
                continue
            return i + 1
        return 0


_TERMINAL_TEXT = {
    "SEMI": '";"',
    "ASSIGN": '"="',
    "QMARK": '"?"',
    "COLON": '":"',
    "OR": '"||"',
    "AND": '"&&"',
    "EQ": '"=="',
    "NE": '"!="',
    "LT": '"<"',
    "LE": '"<="',
    "GT": '">"',
    "GE": '">="',
    "PLUS": '"+"',
    "MINUS": '"-"',
    "STAR": '"*"',
    "SLASH": '"/"',
    "BANG": '"!"',
    "DOT": '"."',
    "COMMA": '","',
    "LPAR": '"("',
    "RPAR": '")"',
}
_EXPR_START = {"NAME", "NUMBER", "STRING", "LPAR", "MINUS", "BANG"}
_OPERATORS = {"OR", "AND", "EQ", "NE", "LT", "LE", "GT", "GE", "PLUS", "STAR", "SLASH", "QMARK"}
# order in which expectations are listed in messages
_EXPECT_ORDER = ["SEMI", "RPAR", "COMMA", "COLON", "ASSIGN", "LPAR", "DOT", "NAME"]


def _describe_expected(expected: set[str]) -> str:
    parts: list[str] = []
    if {"NAME", "NUMBER", "SEMI"} <= expected and not expected & _OPERATORS:
        return "a statement"
    has_operator = len(expected & _OPERATORS) >= 3
    if len(expected & {"NAME", "NUMBER"}) == 2:
        parts.append("an expression")
        expected = expected - _EXPR_START
    for name in _EXPECT_ORDER:
        if name not in expected:
            continue
        if has_operator and name in ("LPAR", "DOT"):
            continue
        parts.append("a name" if name == "NAME" else _TERMINAL_TEXT[name])
    if has_operator:
        parts.append("an operator")
    if not parts:
        parts = [_TERMINAL_TEXT.get(n, n.lower()) for n in sorted(expected) if n != "$END"]
    if "$END" in expected and not parts:
        parts.append("the end of the formula")
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def _number_hint(text_before: str) -> str:
    """`text_before` ends with the number and its "."; suggest the two ways to write it."""
    whole = re.search(r"([0-9]*)[.]$", text_before).group(1) or "1"  # type: ignore[union-attr]
    return f'write "{whole}.0" or "{whole}"'


# characters that word processors and web pages put where the formula needs an ASCII one
_LOOKALIKES = {
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2212": "-",  # minus sign
    "\u00d7": "*",
    "\u00f7": "/",
    "\u2264": "<=",
    "\u2265": ">=",
    "\u2260": "!=",
    "\uff1b": ";",
    "\uff0c": ",",
    "\uff08": "(",
    "\uff09": ")",
    "\uff1d": "=",
    "\u2026": "...",
}


# words other languages use for the logical operators
_WORD_OPERATORS = {"and": "&&", "or": "||", "not": "!"}


def _describe_token(tok: Token) -> str:
    if tok.type == "$END":
        return "end of the formula"
    value = str(tok)
    if tok.type == "NAME":
        return f'name "{value}"'
    if tok.type == "NUMBER":
        return f'number "{value}"'
    if tok.type == "STRING":
        return f"string {value}"
    return f'"{value}"'


_CHAR_HINTS = {
    "'": (
        "single quotes do not make a string",
        'write strings in double quotes: time("2024-10-30T00:00:00Z")',
    ),
    "%": ('the formula language has no "%" operator', None),
    "^": ('the formula language has no "^" operator', "there is no power operator; multiply instead"),
    "&": ('unexpected "&"', 'the logical "and" is "&&"'),
    "|": ('unexpected "|"', 'the logical "or" is "||"'),
    "\\": (
        'unexpected backslash "\\"',
        'the formula has no escapes; if it was copied from source code, write \\" as "',
    ),
    "[": ('unexpected "["', "the language has no vector literals or indexing; use val(v, i)"),
    "]": ('unexpected "]"', "the language has no vector literals or indexing; use val(v, i)"),
    "{": (
        'unexpected "{"',
        "the language has no blocks or if statements; choose values with condition ? value_if_true : value_if_false",
    ),
    "}": (
        'unexpected "}"',
        "the language has no blocks or if statements; choose values with condition ? value_if_true : value_if_false",
    ),
    "#": ('unexpected "#"', 'comments start with "//"'),
}


@dataclass
class _Error:
    diagnostic: Diagnostic
    offset: int  # where the error is, for choosing the statement to blank


class _Session:
    """One parse of one text, with recovery."""

    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.positions = _Positions(text)
        self.comments = comment_ranges(text)
        self.mask = _code_mask(text)

    def span(self, start: int, end: int | None = None) -> Span:
        s = self.positions.pos(start)
        e = self.positions.pos(end) if end is not None else s
        return Span(self.path, s, e)

    # -- separators and statements -------------------------------------------------------------------------
    def _in_mask(self, offset: int) -> bool:
        return any(a <= offset < b for a, b, _ in self.mask)

    def separators(self, text: str) -> list[int]:
        return [m.start() for m in re.finditer(";", text) if not self._in_mask(m.start())]

    def statement_region(self, text: str, offset: int) -> tuple[int, int]:
        seps = self.separators(text)
        start = 0
        end = len(text)
        for s in seps:
            if s < offset:
                start = s + 1
            elif s >= offset:
                end = s + 1
                break
        return start, end

    # -- error description ----------------------------------------------------------------------------------
    def paren_problem(self, limit: int) -> Diagnostic | None:
        """An unmatched ")" or an unclosed "(" in the code before ``limit``, scanning the whole statement."""
        stack: list[int] = []
        i = 0
        text = self.text
        n = min(limit, len(text))
        while i < n:
            region = next(((a, b) for a, b, _ in self.mask if a == i), None)
            if region is not None:
                i = region[1]
                continue
            ch = text[i]
            if ch == ";":
                stack.clear()
            elif ch == "(":
                stack.append(i)
            elif ch == ")":
                if not stack:
                    return make(
                        "FM003",
                        self.span(i, i + 1),
                        'unmatched ")"',
                        hint='remove it, or add the "(" it should close',
                    )
                stack.pop()
            i += 1
        if stack:
            where = stack[-1]
            return make(
                "FM003",
                self.span(where, where + 1),
                'unclosed "("',
                hint='add the ")" that closes it before the end of the statement',
            )
        return None

    def describe_characters(self, e: UnexpectedCharacters) -> _Error:
        offset = e.pos_in_stream
        ch = self.text[offset]
        span = self.span(offset, offset + 1)
        if ch == '"':
            line_end = self.text.find("\n", offset)
            line_end = len(self.text) if line_end < 0 else line_end
            end = line_end - 1 if line_end > 0 and self.text[line_end - 1] == "\r" else line_end
            return _Error(
                make(
                    "FM005",
                    self.span(offset, max(end, offset + 1)),
                    "unterminated string",
                    hint='close it with " on the same line; strings cannot span lines',
                ),
                offset,
            )
        if ch in _CHAR_HINTS:
            message, hint = _CHAR_HINTS[ch]
            if ch == "'":
                close = self.text.find("'", offset + 1)
                if close > 0 and "\n" not in self.text[offset:close]:
                    span = self.span(offset, close + 1)
                    inner = self.text[offset + 1 : close]
                    if '"' not in inner:
                        hint = f'write strings in double quotes: "{inner}"'

            return _Error(make("FM004", span, message, hint=hint), offset)
        code_point = f"U+{ord(ch):04X}"
        if ch == "\u00a0":
            message, hint = "unexpected non-breaking space (U+00A0)", "replace it with an ordinary space"
        elif ch == "\ufeff":
            message, hint = "unexpected byte order mark (U+FEFF)", "save the formula without a BOM"
        elif unicodedata.category(ch) in ("Cf", "Zs", "Zl", "Zp"):
            name = unicodedata.name(ch, "").lower() or "invisible character"
            message, hint = (
                f"unexpected {name} ({code_point})",
                "delete it or replace it with an ordinary space",
            )
        elif ord(ch) < 32 or ord(ch) == 127:
            message, hint = f"unexpected control character {code_point}", "is this a text file?"
        elif ord(ch) > 127:
            message = f'unexpected character "{ch}" ({code_point})'
            hint = "names may contain only ASCII letters, digits and _"
            if ch in "\u201c\u201d\u201e\u00ab\u00bb\u2018\u2019\u201a":
                hint = 'typographic quotes are not string quotes; use "'
            elif ch in _LOOKALIKES:
                hint = f'did you mean "{_LOOKALIKES[ch]}"? (a look-alike, as pasted from a web page or a document)'
        elif ch == "$":
            message, hint = (
                'unexpected "$"',
                'write the "$" directly before the name, e.g. $TargetDedicatedNodes',
            )
        else:
            message, hint = f'unexpected character "{ch}"', None
        return _Error(make("FM004", span, message, hint=hint), offset)

    def describe_token(self, e: UnexpectedToken) -> _Error:
        tok = e.token
        expected = set(e.accepts or e.expected)
        text = self.text
        if tok.type == "$END":
            offset = self.positions.end_of_code(len(text), self.comments)
            paren = self.paren_problem(len(text))
            if paren is not None:
                return _Error(paren, offset)
            span = self.span(offset)
            if "COLON" in expected:
                return _Error(
                    make(
                        "FM006",
                        span,
                        'the formula ends inside a conditional: expected ":" and the value used when the '
                        "condition is false",
                        hint="complete it as: condition ? value_if_true : value_if_false",
                    ),
                    offset,
                )
            return _Error(
                make(
                    "FM001",
                    span,
                    f"unexpected end of the formula; expected {_describe_expected(expected)}",
                ),
                offset,
            )

        offset = tok.start_pos
        span = _tok_span(self.path, tok)
        prev_char = text[offset - 1] if offset > 0 else ""
        following = text[offset : offset + 2]

        # unbalanced parentheses
        if tok.type == "RPAR" or (tok.type == "SEMI" and "RPAR" in expected and "SEMI" not in expected):
            paren = self.paren_problem(offset + 1 if tok.type == "RPAR" else offset)
            if paren is not None:
                return _Error(paren, offset)
        # block comments
        if following == "/*":
            end = text.find("*/", offset + 2)
            end = len(text) if end < 0 else end + 2
            return _Error(
                make(
                    "FM004",
                    self.span(offset, end),
                    'block comments ("/* … */") are not supported',
                    hint='use "//" comments, which run to the end of the line',
                ),
                offset,
            )
        if tok.type == "STAR" and prev_char == "*":
            return _Error(
                make(
                    "FM001",
                    self.span(offset - 1, offset + 1),
                    'the formula language has no "**" operator',
                    hint="there is no power operator; multiply instead",
                ),
                offset,
            )
        if tok.type == "ASSIGN" and prev_char and prev_char in "+-*/":
            return _Error(
                make(
                    "FM001",
                    self.span(offset - 1, offset + 1),
                    f'compound assignment "{prev_char}=" is not supported',
                    hint=f"write it out: x = x {prev_char} …",
                ),
                offset,
            )
        if tok.type in ("PLUS", "MINUS") and prev_char == str(tok) and "NAME" in expected:
            return _Error(
                make(
                    "FM001",
                    self.span(offset - 1, offset + 1),
                    f'"{prev_char * 2}" is not supported',
                    hint=f"write it out: x = x {prev_char} 1",
                ),
                offset,
            )
        before = text[:offset].rstrip(" \t")
        if (
            tok.type != "NAME" and re.search(r"(?<![\w$.])[0-9]+[.]$", before) is not None
        ):  # "3. + 1", "3.;": the "." belongs to the number, what follows is fine
            return _Error(
                make(
                    "FM001",
                    self.span(len(before) - 1, len(before)),
                    'a number cannot end with "."',
                    hint=_number_hint(before),
                ),
                offset,
            )
        if (
            tok.type != "NAME"
            and before.endswith(".")
            and expected == {"NAME"}
            and re.search(r"(?<![\w$.])[0-9][0-9.]*$", before) is None  # numbers: see below
        ):  # "time(). + 1"
            return _Error(
                make(
                    "FM001",
                    span,
                    f'expected a method or field name after ".", found {_describe_token(tok)}',
                ),
                offset,
            )
        if tok.type == "PLUS" and "NAME" in expected and "PLUS" not in expected:
            return _Error(make("FM001", span, 'there is no unary "+"', hint='drop the "+"'), offset)
        if tok.type == "NAME" and "ASSIGN" in expected:
            before = re.search(r"(\$?[A-Za-z_][A-Za-z0-9_]*)[ \t]+$", text[:offset])
            if before is not None:
                joined = before.group(1) + str(tok)
                from batchspec.formula.builtins import SERVICE_VARIABLES

                hint = (
                    f'did you mean "{joined}"?'
                    if joined in SERVICE_VARIABLES
                    else "names cannot contain spaces"
                )
                return _Error(
                    make(
                        "FM001",
                        span,
                        f'unexpected {_describe_token(tok)} after "{before.group(1)}"; expected "="',
                        hint=hint,
                    ),
                    offset,
                )
        if tok.type == "NAME" and offset > 0 and text[offset - 1].isdigit():
            start = offset
            while start > 0 and (text[start - 1].isdigit() or text[start - 1] == "."):
                start -= 1
            whole = text[start : tok.end_pos]
            if re.fullmatch(r"[0-9.]+[eE][0-9]*", whole):
                return _Error(
                    make(
                        "FM001",
                        self.span(start, tok.end_pos),
                        f'exponent notation "{whole}" is not supported',
                        hint="write the number out in full, e.g. 1000 instead of 1e3",
                    ),
                    offset,
                )
            return _Error(
                make(
                    "FM001",
                    self.span(start, tok.end_pos),
                    f'"{whole}" is neither a number nor a name; names cannot start with a digit',
                ),
                offset,
            )
        if tok.type == "DOT" and following[1:2].isdigit() and "NUMBER" in expected:
            return _Error(
                make(
                    "FM001",
                    span,
                    'a number cannot start with "."',
                    hint=f'write "0{re.match(r"[.][0-9]+", text[offset:]).group()}"',  # type: ignore[union-attr]
                ),
                offset,
            )
        if tok.type != "NAME" and prev_char == "." and offset >= 2 and text[offset - 2].isdigit():
            number = re.search(r"[0-9.]*$", text[:offset]).group() + re.match(r"[0-9.]*", text[offset:]).group()  # type: ignore[union-attr]
            if number.count(".") > 1:  # "1.5.3": not a number that ends with "."
                return _Error(
                    make(
                        "FM001",
                        self.span(offset - 1, offset),
                        f'"{number}" is not a number: a number has at most one "."',
                    ),
                    offset,
                )
            return _Error(
                make(
                    "FM001",
                    self.span(offset - 1, offset),
                    'a number cannot end with "."',
                    hint=_number_hint(text[:offset]),
                ),
                offset,
            )
        if "COLON" in expected and tok.type not in _EXPR_START and "SEMI" not in expected:
            return _Error(
                make(
                    "FM006",
                    span,
                    f'expected ":" to complete the conditional, found {_describe_token(tok)}',
                    hint="complete it as: condition ? value_if_true : value_if_false",
                ),
                offset,
            )
        if tok.type == "QMARK":
            return _Error(
                make(
                    "FM006",
                    span,
                    f'"?" needs a condition before it; expected {_describe_expected(expected)}',
                    hint="write: condition ? value_if_true : value_if_false",
                ),
                offset,
            )
        if tok.type == "COMMA" and "COMMA" not in expected and "NAME" not in expected:
            return _Error(
                make(
                    "FM001",
                    span,
                    f'unexpected ","; expected {_describe_expected(expected)}',
                    hint='"," only separates the arguments of a call; statements are separated by ";"',
                ),
                offset,
            )
        if tok.type == "ASSIGN" and "EQ" in expected:
            return _Error(
                make(
                    "FM001",
                    span,
                    'unexpected "="; only a single name can be assigned',
                    hint='to compare, use "=="',
                ),
                offset,
            )
        hint = None
        before = re.search(r"(?<![$\w])([A-Za-z]+)\s*$", self.text[: tok.start_pos])
        word, word_span = None, span
        if tok.type == "NAME" and str(tok).lower() in _WORD_OPERATORS:
            word = str(tok)
        elif before is not None and before.group(1).lower() == "not":  # "not x" reads as two names
            word, word_span = before.group(1), self.span(before.start(1), before.end(1))
        if word is not None:
            return _Error(
                make(
                    "FM001",
                    word_span,
                    f'the formula language has no "{word}" operator',
                    hint=f'write "{_WORD_OPERATORS[word.lower()]}"',
                ),
                offset,
            )
        code_before = self.text[: tok.start_pos]
        for a, b_ in reversed(self.comments):  # a comment between the "," and the ")" does not count
            if b_ <= tok.start_pos and code_before[b_:].strip() == "":
                code_before = code_before[:a]
        code_before = code_before.rstrip(" \t\r\n")
        if tok.type == "RPAR" and code_before.endswith(","):  # "max(1, 2,)"
            return _Error(
                make(
                    "FM001",
                    self.span(len(code_before) - 1, len(code_before)),
                    'a "," must be followed by another argument',
                    hint='remove the trailing ","',
                ),
                offset,
            )
        if tok.type == "COLON" and self.text.startswith("=", tok.end_pos):
            hint = 'assign with "=", not ":="'
        return _Error(
            make(
                "FM001",
                span,
                f"unexpected {_describe_token(tok)}; expected {_describe_expected(expected)}",
                hint=hint,
            ),
            offset,
        )

    # -- the parse loop -------------------------------------------------------------------------------------
    def run(self) -> ParseResult:
        text = self.text
        errors: list[Diagnostic] = []
        broken_names: set[str] = set()
        lark = parser()
        formula: ast.Formula | None = None
        for _attempt in range(MAX_SYNTAX_ERRORS + 1):
            inserted: list[Diagnostic] = []

            def on_error(
                e: UnexpectedInput, _inserted: list[Diagnostic] = inserted, _text: str = text
            ) -> bool:
                if not isinstance(e, UnexpectedToken) or e.token.type == "$END":
                    return False
                tok = e.token
                expected = set(e.accepts or e.expected)
                if "SEMI" not in expected or tok.type not in _EXPR_START:
                    return False
                end = self.positions.end_of_code(tok.start_pos, self.comments)
                # on one line, only "x = 1 y = 2" (an assignment, then the start of another) is a missing ";"
                statement_so_far = _text[_text.rfind(";", 0, tok.start_pos) + 1 : tok.start_pos]
                starts_assignment = (
                    tok.type == "NAME"
                    and re.match(r"[ \t]*=(?!=)", _text[tok.end_pos :]) is not None
                    and re.match(r"\s*\$?[A-Za-z_][A-Za-z0-9_]*\s*=(?!=)", statement_so_far) is not None
                )
                if "\n" not in _text[end : tok.start_pos] and not starts_assignment:
                    return False
                pos = self.positions.pos(end)
                semi = Token("SEMI", ";", end, pos.line, pos.col, pos.line, pos.col, end)
                try:
                    e.interactive_parser.feed_token(semi)
                    e.interactive_parser.feed_token(tok)
                except UnexpectedInput:
                    return False
                _inserted.append(
                    make(
                        "FM002",
                        Span(self.path, pos, pos),
                        'missing ";" at the end of this statement',
                        hint='statements are separated by ";"; a line break does not end a statement'
                        if "\n" in _text[end : tok.start_pos]
                        else 'statements are separated by ";"',
                        related=(Related(_tok_span(self.path, tok), "the next statement starts here"),),
                    )
                )
                return True

            try:
                with _LOCK:
                    _BUILDER.path = self.path
                    formula = lark.parse(text, on_error=on_error)
                errors.extend(inserted)
                break
            except UnexpectedInput as exc:
                if isinstance(exc, UnexpectedCharacters):
                    err = self.describe_characters(exc)
                elif isinstance(exc, UnexpectedToken):
                    err = self.describe_token(exc)
                else:  # pragma: no cover - LALR raises only the two above
                    err = _Error(make("FM001", self.span(0), "syntax error"), 0)
                errors.append(err.diagnostic)
                start, end = self.statement_region(text, min(err.offset, len(text)))
                if start >= end:
                    break
                m = re.match(r"\s*(\$?[A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)", text[start:end])
                if m:
                    broken_names.add(m.group(1))
                text = text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]
                formula = None
        else:  # the cap was reached: say so, or the statements after the last error would look correct
            if errors and end < len(text) and text[end:].strip():
                import dataclasses

                rest = len(text) - len(text[end:].lstrip())
                note = Related(
                    self.span(rest, rest),
                    f"batchspec stopped after {len(errors)} syntax errors; the formula from here on was not "
                    "checked: fix these and run it again",
                )
                errors[-1] = dataclasses.replace(errors[-1], related=(*errors[-1].related, note))
        # keep only the first diagnostic per position (recovery can find the same fault twice)
        seen: set[tuple[Pos, str]] = set()
        diagnostics = []
        in_block = False
        for d in errors:
            key = (d.span.start, d.code)
            # an if/else block written as in C: its first "{" says the language has no blocks; the braces
            # after it ("} else {", "}") would repeat that, so they are left out
            brace = d.code == "FM004" and d.message in (_CHAR_HINTS["{"][0], _CHAR_HINTS["}"][0])
            if brace and in_block:
                continue
            in_block = in_block or (brace and d.message == _CHAR_HINTS["{"][0])
            if key not in seen:
                seen.add(key)
                diagnostics.append(d)
        if formula is not None:
            formula = _finish(formula, self)
        return ParseResult(
            formula=formula,
            diagnostics=diagnostics,
            has_syntax_errors=bool(diagnostics),
            names_in_broken_statements=frozenset(broken_names),
        )


def _finish(formula: ast.Formula, session: _Session) -> ast.Formula:
    comments = []
    for a, b in session.comments:
        text = session.text[a:b].rstrip("\r")  # a CR before the LF of a CRLF line is not part of the comment
        comments.append(ast.Comment(text=text, span=session.span(a, a + len(text))))
    end = session.positions.pos(len(session.text))
    return ast.Formula(
        statements=formula.statements,
        comments=tuple(comments),
        empty_statements=formula.empty_statements,
        span=Span(session.path, Pos(1, 1), end),
    )


def parse_with_lark(text: str, path: str = "") -> ParseResult:
    """The grammar-driven parser alone (no fast path): used on errors, and by the differential test."""
    session = _Session(text, path)
    result = session.run()
    if result.formula is not None and first_too_deep(result.formula) is not None:
        result.formula = None
        result.has_syntax_errors = True
    return result


def run_session(text: str, path: str) -> ParseResult:
    return _Session(text, path).run()
