"""``check_formula``: parse, type-check and check the service limits of one formula (FM0xx, FM1xx, FM3xx)."""

from __future__ import annotations

from batchspec.diagnostics.codes import make
from batchspec.diagnostics.model import Diagnostic, Pos, Span, sort_and_dedupe
from batchspec.formula import ast
from batchspec.formula.builtins import MAX_FORMULA_CHARS, MAX_STATEMENTS
from batchspec.formula.parser import HARD_CHAR_LIMIT, parse
from batchspec.formula.typecheck import CheckOptions, typecheck


def limit_diagnostics(text: str, formula: ast.Formula | None, path: str) -> list[Diagnostic]:
    """FM301/FM302/FM303: the service's 8192-character and 100-statement limits (A1)."""
    out: list[Diagnostic] = []
    if MAX_FORMULA_CHARS < len(text) <= HARD_CHAR_LIMIT:
        # point at the first character past the limit
        before = text[:MAX_FORMULA_CHARS]
        line = before.count("\n") + 1
        col = MAX_FORMULA_CHARS - (before.rfind("\n") + 1) + 1
        out.append(
            make(
                "FM301",
                Span(path, Pos(line, col), Pos(line, col)),
                f"formula has {len(text)} characters; the service limit is {MAX_FORMULA_CHARS}",
                hint="the service rejects it with AutoScalingFormulaTooLong; remove comments or split the logic",
            )
        )
    elif len(text) <= MAX_FORMULA_CHARS and len(text.encode("utf-8", "surrogatepass")) > MAX_FORMULA_CHARS:
        out.append(
            make(
                "FM303",
                Span(path, Pos(1, 1), Pos(1, 1)),
                f"formula has {len(text.encode('utf-8', 'surrogatepass'))} bytes in UTF-8; the documented limit "
                f"is 8 KB",
                hint="the service counts 8192 characters, but non-ASCII characters (in comments?) make it "
                "longer than 8 KB",
            )
        )
    if formula is not None and len(formula.statements) > MAX_STATEMENTS:
        extra = formula.statements[MAX_STATEMENTS]
        out.append(
            make(
                "FM302",
                extra.span,
                f"formula has {len(formula.statements)} statements; the service limit is {MAX_STATEMENTS}",
                hint="this is the first statement over the limit",
            )
        )
    return out


def check_formula_full(
    text: str, path: str = "", *, options: CheckOptions | None = None
) -> tuple[ast.Formula | None, list[Diagnostic], bool]:
    """(tree, diagnostics, has_syntax_errors). The tree is the recovered partial tree when there were syntax
    errors (for the linter); ``check_formula`` hides it."""
    result = parse(text, path)
    diagnostics = list(result.diagnostics)
    formula = result.formula
    if formula is not None:
        diagnostics += typecheck(
            formula, path, broken_names=result.names_in_broken_statements, options=options
        )
        if not formula.statements and not result.has_syntax_errors:
            diagnostics.append(
                make(
                    "FM007",
                    Span(path, Pos(1, 1), Pos(1, 1)),
                    "formula has no statement",
                    hint="a formula needs at least one assignment, e.g. $TargetDedicatedNodes = 1;",
                )
            )
    diagnostics += limit_diagnostics(text, formula, path)
    return formula, sort_and_dedupe(diagnostics), result.has_syntax_errors


def check_formula(
    text: str, path: str = "", *, options: CheckOptions | None = None
) -> tuple[ast.Formula | None, list[Diagnostic]]:
    """Parse + type check + service limits. The formula is None when it has a syntax error; it is returned (with
    the diagnostics) when it only has type or limit errors. Never raises."""
    formula, diagnostics, has_syntax_errors = check_formula_full(text, path, options=options)
    return (None if has_syntax_errors else formula), diagnostics
