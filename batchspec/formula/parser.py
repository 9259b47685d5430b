"""Text → AST: ``parse_formula`` and ``parse``, which never raise.

Well-formed input goes through the fast path (fastparse.py); anything else goes through the Lark grammar
(larkparser.py), which is the definition of the language and produces every syntax diagnostic, with recovery:

* a missing ``;`` before a statement that starts on a new line is reported at the end of the previous statement and
  the parser carries on as if it were there;
* any other error blanks the broken statement (positions stay exact) and the text is parsed again; names the broken
  statements assigned are remembered so the type checker does not report them as undefined later.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from batchspec.diagnostics.codes import make
from batchspec.diagnostics.model import Diagnostic, Pos, Span
from batchspec.formula import ast
from batchspec.formula.builtins import MAX_FORMULA_CHARS
from batchspec.formula.fastparse import fast_parse

# Beyond this many characters a formula is not parsed at all (it is far over the service limit anyway).
HARD_CHAR_LIMIT = 65_536
# Deepest expression nesting accepted; real formulas stay under 20. Keeps every recursive consumer safe.
MAX_NESTING = 200
# At most this many syntax errors are reported per formula.
MAX_SYNTAX_ERRORS = 20


@dataclass
class ParseResult:
    formula: (
        ast.Formula | None
    )  # None when nothing could be parsed; a partial tree when errors were recovered
    diagnostics: list[Diagnostic]
    has_syntax_errors: bool
    # names assigned by statements that had to be dropped (so "undefined variable" is not reported for them)
    names_in_broken_statements: frozenset[str] = field(default_factory=frozenset)


def first_too_deep(formula: ast.Formula) -> ast.Node | None:
    """The first node deeper than MAX_NESTING (iterative, so safe on any tree)."""
    stack: list[tuple[ast.Node, int]] = [(s, 1) for s in reversed(formula.statements)]
    while stack:
        node, d = stack.pop()
        if d > MAX_NESTING:
            return node
        for child in reversed(ast.children(node)):
            stack.append((child, d + 1))
    return None


def parse_with_lark(text: str, path: str = "") -> ParseResult:
    """The grammar-driven parser alone (no fast path): used on errors, and by the differential test."""
    from batchspec.formula.larkparser import parse_with_lark as run

    return run(text, path)


def parse(text: str, path: str = "") -> ParseResult:
    """Parse with recovery; also checks the size and nesting limits that protect the tool itself. Never raises."""
    if len(text) > HARD_CHAR_LIMIT:
        return ParseResult(
            formula=None,
            diagnostics=[
                make(
                    "FM301",
                    Span(path, Pos(1, 1), Pos(1, 1)),
                    f"formula has {len(text)} characters; the service limit is {MAX_FORMULA_CHARS}",
                    hint=f"batchspec does not parse formulas over {HARD_CHAR_LIMIT} characters",
                )
            ],
            has_syntax_errors=True,
        )
    fast = fast_parse(text, path, MAX_NESTING)
    if fast is not None:
        return ParseResult(formula=fast, diagnostics=[], has_syntax_errors=False)
    from batchspec.formula.larkparser import run_session

    result = run_session(text, path)
    if result.formula is not None:
        too_deep = first_too_deep(result.formula)
        if too_deep is not None:
            result.diagnostics.append(
                make(
                    "FM009",
                    Span(path, too_deep.span.start, too_deep.span.start),
                    f"expression is nested more than {MAX_NESTING} levels deep",
                    hint="split it into several statements with intermediate variables",
                )
            )
            result.formula = None
            result.has_syntax_errors = True
    return result


def parse_formula(text: str, path: str = "") -> tuple[ast.Formula | None, list[Diagnostic]]:
    """The public entry point: the formula (None if it has any syntax error) and the syntax diagnostics."""
    result = parse(text, path)
    if result.has_syntax_errors:
        return None, result.diagnostics
    return result.formula, result.diagnostics
