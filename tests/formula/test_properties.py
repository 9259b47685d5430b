"""Hypothesis properties: printer round trip, the parser is total, the fast path equals the Lark grammar."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from batchspec.formula import ast, check_formula, parse_formula
from batchspec.formula.parser import parse, parse_with_lark
from batchspec.formula.printer import format_formula
from tests.formula import reference_formulas as ref
from tests.formula.strategies import formulas


def _same_tree(a: ast.Formula, b: ast.Formula) -> bool:
    return ast.strip_spans(a, drop_parens=True, drop_comments=True) == ast.strip_spans(
        b, drop_parens=True, drop_comments=True
    )


@settings(max_examples=300)
@given(formulas)
def test_print_then_parse_gives_the_same_tree(formula: ast.Formula) -> None:
    text = format_formula(formula)
    parsed, diagnostics = parse_formula(text)
    assert diagnostics == [], text
    assert parsed is not None and _same_tree(parsed, formula), text
    assert format_formula(parsed) == text  # printing is a fixpoint


@settings(max_examples=300)
@given(formulas)
def test_fast_path_builds_exactly_the_lark_tree(formula: ast.Formula) -> None:
    text = format_formula(formula)
    # the same text laid out differently: no spaces, CRLF, tabs, comments
    variants = [text, text.replace(" ", ""), text.replace("\n", "\r\n\t// c\r\n")]
    for variant in variants:
        fast = parse(variant, "p.formula")
        slow = parse_with_lark(variant, "p.formula")
        assert slow.diagnostics == [] and fast.diagnostics == []
        assert fast.formula == slow.formula, variant


def test_fast_path_equals_lark_on_reference_formulas() -> None:
    for text in list(ref.VALID.values()) + ref.GRAMMAR_ACCEPTS:
        assert parse(text, "r.formula").formula == parse_with_lark(text, "r.formula").formula


_ALPHABET = st.sampled_from(
    list("$xX_09 .,;()=!<>+-*/?:&|\"'\t\r\n%^#[]é\x00") + ["//", "/*", "GetSample", "time"]
)


@settings(max_examples=400)
@given(st.one_of(st.text(max_size=80), st.lists(_ALPHABET, max_size=40).map("".join)))
@example("x = (((")
@example("?:")
@example('"')
@example("a.b.c(")
@example("\r\n\r\n")
@example("LPAR")
def test_any_text_gives_a_tree_or_positioned_diagnostics(text: str) -> None:
    formula, diagnostics = check_formula(text, "any.formula")
    lines = text.split("\n")
    for d in diagnostics:
        assert d.code.startswith("FM") and d.message
        for internal in ("Token", "SEMI", "RPAR", "LPAR", "QMARK", "$END", "__ANON", "Tree(", "Unexpected"):
            if internal not in text:  # a user may well name a variable LPAR
                assert internal not in d.message and internal not in (d.hint or "")
        assert 1 <= d.span.start.line <= len(lines) + 1
        assert (
            1 <= d.span.start.col <= len(lines[d.span.start.line - 1]) + 2
            if d.span.start.line <= len(lines)
            else True
        )
    if formula is None:
        assert any(d.code.startswith("FM0") or d.code == "FM301" for d in diagnostics)


@settings(max_examples=200)
@given(formulas, st.integers(min_value=0, max_value=10_000), st.sampled_from(list(";()?:=.,\"'$1a -")))
def test_near_misses_never_raise_and_both_parsers_agree_when_valid(
    formula: ast.Formula, where: int, char: str
) -> None:
    text = format_formula(formula)
    i = where % (len(text) + 1)
    for mutated in (text[:i] + char + text[i:], text[:i] + text[i + 1 :]):
        fast = parse(mutated, "m.formula")
        slow = parse_with_lark(mutated, "m.formula")
        if not slow.has_syntax_errors:
            assert fast.formula == slow.formula, mutated
        else:
            assert fast.has_syntax_errors


def _grammar_strings():  # type: ignore[no-untyped-def]
    import importlib.resources

    from hypothesis.extra.lark import from_lark
    from lark import Lark

    grammar = (
        importlib.resources.files("batchspec.formula").joinpath("grammar.lark").read_text(encoding="utf-8")
    )
    return from_lark(Lark(grammar, parser="lalr"), start="start")


@settings(max_examples=25, suppress_health_check=list(HealthCheck))
@given(_grammar_strings())
@example(";//\r\r\n\n\t")
def test_strings_generated_from_the_grammar_parse_the_same_on_both_paths(text: str) -> None:
    """hypothesis.extra.lark writes sentences of grammar.lark (with random ignored comments and whitespace, which
    can swallow code after a "//"): whenever the Lark grammar accepts one, the fast path builds the same tree."""
    slow = parse_with_lark(text, "g.formula")
    fast = parse(text, "g.formula")
    assert fast.has_syntax_errors == slow.has_syntax_errors
    if not slow.has_syntax_errors:
        assert fast.formula == slow.formula
