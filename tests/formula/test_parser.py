"""Parser: AST shape, spans, precedence, recovery, error wording, hostile input."""

from __future__ import annotations

import time

import lark
import pytest

from batchspec.diagnostics.model import Pos
from batchspec.formula import ast, check_formula, parse_formula
from batchspec.formula.parser import MAX_NESTING, parse, parse_with_lark
from tests.formula import reference_formulas as ref


def _only(text: str) -> ast.Expr:
    formula, diagnostics = parse_formula(text, "t.formula")
    assert diagnostics == [] and formula is not None
    (stmt,) = formula.statements
    assert isinstance(stmt, ast.Assignment)
    return stmt.value


def _shape(e: ast.Expr) -> str:
    """Fully parenthesised rendering, to check precedence and associativity."""
    e = ast.unparen(e)
    if isinstance(e, ast.Binary):
        return f"({_shape(e.left)} {e.op} {_shape(e.right)})"
    if isinstance(e, ast.Unary):
        return f"({e.op}{_shape(e.operand)})"
    if isinstance(e, ast.Ternary):
        return f"({_shape(e.condition)} ? {_shape(e.if_true)} : {_shape(e.if_false)})"
    if isinstance(e, ast.Number):
        return e.text
    if isinstance(e, ast.Var):
        return e.name
    if isinstance(e, ast.Call):
        return f"{e.name}({', '.join(_shape(a) for a in e.args)})"
    if isinstance(e, ast.Member):
        return f"{_shape(e.receiver)}.{e.name}"
    if isinstance(e, ast.MethodCall):
        return f"{_shape(e.receiver)}.{e.method}({', '.join(_shape(a) for a in e.args)})"
    return repr(e)


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("a = 2 + 3 * 4;", "(2 + (3 * 4))"),
        ("b = 10 - 4 - 3;", "((10 - 4) - 3)"),
        ("c = 8 / 2 / 2;", "((8 / 2) / 2)"),
        ("d = 0 == 1 < 2;", "(0 == (1 < 2))"),
        ("e = 0 && 0 || 1;", "((0 && 0) || 1)"),
        ("x = 1 ? 2 : 0 ? 3 : 4;", "(1 ? 2 : (0 ? 3 : 4))"),
        ("x = -!-a;", "(-(!(-a)))"),
        ("x = a >= 8 && b < 18;", "((a >= 8) && (b < 18))"),
        ("x = -2 * -3;", "((-2) * (-3))"),
        ("x = time().weekday == 1 ? 5 : 1;", "((time().weekday == 1) ? 5 : 1)"),
        ("x = $A.GetSample(1).x;", "$A.GetSample(1).x"),
    ],
)
def test_precedence(text: str, shape: str) -> None:
    assert _shape(_only(text)) == shape


def test_no_lark_object_escapes() -> None:
    for text in ref.VALID.values():
        formula = parse_with_lark(text).formula
        assert formula is not None
        for node in ast.walk(formula):
            assert not isinstance(node, (lark.Tree, lark.Token))
            for value in vars(node).values() if hasattr(node, "__dict__") else ():
                assert not isinstance(value, (lark.Tree, lark.Token))
            for field in node.__slots__:
                value = getattr(node, field)
                assert not isinstance(value, (lark.Tree, lark.Token))
                if isinstance(value, str):
                    assert type(value) is str


def test_spans_are_exact_and_nested() -> None:
    text = "x = 1;\r\n\t$y = max(x,\r\n  $CPUPercent.GetSample(1)); // c\r\n"
    formula, diagnostics = parse_formula(text, "s.formula")
    assert diagnostics == [] and formula is not None
    second = formula.statements[1]
    assert second.span.start == Pos(2, 2)
    assert second.span.end == Pos(3, 28)
    call = second.value
    assert isinstance(call, ast.Call) and call.name_span.start == Pos(2, 7)
    method = call.args[1]
    assert isinstance(method, ast.MethodCall)
    assert method.method_span.start == Pos(3, 15) and method.method_span.end == Pos(3, 24)
    (comment,) = formula.comments
    assert comment.text == "// c" and comment.span.start == Pos(3, 30) and comment.span.end == Pos(3, 34)
    assert formula.span.start == Pos(1, 1) and formula.span.end == Pos(4, 1)
    # every child span lies inside its parent's
    for node in ast.walk(formula):
        for child in ast.children(node):
            assert node.span.start <= child.span.start <= child.span.end <= node.span.end


def test_empty_statements_are_recorded() -> None:
    formula, diagnostics = parse_formula(";x = 1;; y = 2;")
    assert diagnostics == [] and formula is not None
    assert [s.start.col for s in formula.empty_statements] == [1, 8]


def test_string_value_and_comment_inside_string() -> None:
    value = _only('t = time("a//b");')
    assert isinstance(value, ast.Call) and isinstance(value.args[0], ast.String)
    assert value.args[0].value == "a//b"


@pytest.mark.parametrize(
    ("text", "code", "line", "col", "message"),
    [
        ("x = 1\ny = 2;", "FM002", 1, 6, 'missing ";" at the end of this statement'),
        ("x = (1 + 2;", "FM003", 1, 5, 'unclosed "("'),
        ("x = 1 + 2);", "FM003", 1, 10, 'unmatched ")"'),
        ("x = ((1)", "FM003", 1, 5, 'unclosed "("'),
        ("x = 1 ? 2;", "FM006", 1, 10, 'expected ":" to complete the conditional, found ";"'),
        ("?", "FM006", 1, 1, '"?" needs a condition before it; expected a statement'),
        ("x = ?", "FM006", 1, 5, '"?" needs a condition before it; expected an expression'),
        ("x = 1 ?", "FM001", 1, 8, "unexpected end of the formula; expected an expression"),
        (
            "x = 1 ? 2",
            "FM006",
            1,
            10,
            'the formula ends inside a conditional: expected ":" and the value used when '
            "the condition is false",
        ),
        ("x = a b;", "FM001", 1, 7, 'unexpected name "b"; expected ";" or an operator'),
        ("x = ;", "FM001", 1, 5, 'unexpected ";"; expected an expression'),
        ("x = 1 +\n\n", "FM001", 1, 8, "unexpected end of the formula; expected an expression"),
        ("x = max(1,);", "FM001", 1, 10, 'a "," must be followed by another argument'),
        ('x = "abc', "FM005", 1, 5, "unterminated string"),
        ("x = 1\u00a0+ 2;", "FM004", 1, 6, "unexpected non-breaking space (U+00A0)"),
        ("x = \x00;", "FM004", 1, 5, "unexpected control character U+0000"),
        ("\ufeffx = 1;", "FM004", 1, 1, "unexpected byte order mark (U+FEFF)"),
        ("x = 1\u200b;", "FM004", 1, 6, "unexpected zero width space (U+200B)"),
        ("x == 1;", "FM010", 1, 1, "a statement must be an assignment or a function call"),
        ("x = 1; y = 2 = 3;", "FM001", 1, 14, 'unexpected "="; only a single name can be assigned'),
    ],
)
def test_error_wording_and_position(text: str, code: str, line: int, col: int, message: str) -> None:
    _f, diagnostics = check_formula(text, "e.formula")
    first = diagnostics[0]
    assert (first.code, first.span.start.line, first.span.start.col, first.message) == (
        code,
        line,
        col,
        message,
    )
    for d in diagnostics:
        for word in ("SEMI", "RPAR", "NAME", "$END", "Token", "lark", "__ANON"):
            assert word not in d.message and word not in (d.hint or "")


def test_recovery_reports_every_broken_statement_and_keeps_checking() -> None:
    text = "a = (1;\nb = 2 +;\nc = undefinedthing;\nd = a + b;\n"
    formula, diagnostics, *_ = (*check_formula(text),)
    assert formula is None
    assert [(d.code, d.span.start.line) for d in diagnostics] == [("FM003", 1), ("FM001", 2), ("FM101", 3)]


def test_deep_nesting_is_a_diagnostic_not_a_crash() -> None:
    text = "x = " + "(" * 10_000 + "1" + ")" * 10_000 + ";"
    t0 = time.perf_counter()
    formula, diagnostics = check_formula(text, "deep.formula")
    assert time.perf_counter() - t0 < 10  # generous: this only guards against a hang
    assert formula is None
    codes = [d.code for d in diagnostics]
    assert "FM009" in codes and "FM301" in codes
    just_ok = "x = " + "(" * (MAX_NESTING - 3) + "1" + ")" * (MAX_NESTING - 3) + ";"
    assert check_formula(just_ok)[1] == []


def test_long_operator_chain_and_unary_chain() -> None:
    chain = "x = " + " + ".join(["1"] * 150) + ";"
    assert check_formula(chain)[1] == []
    unary = "x = " + "-" * 5000 + "1;"
    codes = [d.code for d in check_formula(unary)[1]]
    assert "FM009" in codes


def test_huge_input_is_rejected_fast() -> None:
    text = "x = 1;\n" * (10 * 1024 * 1024 // 7)
    t0 = time.perf_counter()
    result = parse(text, "big.formula")
    assert time.perf_counter() - t0 < 2
    assert result.formula is None
    assert [d.code for d in result.diagnostics] == ["FM301"]


def test_binary_junk_never_raises() -> None:
    junk = bytes(range(256)).decode("latin-1") * 4
    formula, diagnostics = check_formula(junk, "junk.formula")
    assert formula is None and diagnostics
    assert all(d.span.start.line >= 1 and d.span.start.col >= 1 for d in diagnostics)


@pytest.mark.parametrize(
    ("text", "code", "col", "hint"),
    [
        ("x = 1 y = 2;", "FM002", 6, 'statements are separated by ";"'),
        ("$TargetDedicated Nodes = 1;", "FM001", 18, 'did you mean "$TargetDedicatedNodes"?'),
        (
            "if (1) { $TargetDedicatedNodes = 1; }",
            "FM004",
            8,
            "the language has no blocks or if statements; "
            "choose values with condition ? value_if_true : value_if_false",
        ),
        (
            "x = time() - 5;",
            "FM109",
            12,
            "a number is not a time interval; write e.g. t + (-5 * TimeInterval_Minute)",
        ),
        (
            "x = $ActiveTasks.GetSample(1)[0];",
            "FM004",
            30,
            "the language has no vector literals or indexing; use val(v, i)",
        ),
        (
            "x = $ActiveTasks.GetSample(1).avg();",
            "FM104",
            31,
            "a doubleVec has no methods; pass it to a function such as avg(…), max(…), min(…) or sum(…)",
        ),
    ],
)
def test_common_mistakes_get_specific_hints(text: str, code: str, col: int, hint: str) -> None:
    _f, diagnostics = check_formula(text)
    first = diagnostics[0]
    assert (first.code, first.span.start.col, first.hint) == (code, col, hint)


def test_the_syntax_error_cap_says_where_checking_stopped() -> None:
    _, diagnostics = parse_formula("$x = ;\n" * 30, "f")
    assert len(diagnostics) == 21
    (note,) = diagnostics[-1].related
    assert (note.span.start.line, note.span.start.col) == (22, 1)
    assert note.message.startswith("batchspec stopped after 21 syntax errors; the formula from here on")
    _, diagnostics = parse_formula("$x = ;\n" * 21, "f")  # nothing left unchecked: no note
    assert len(diagnostics) == 21 and diagnostics[-1].related == ()
