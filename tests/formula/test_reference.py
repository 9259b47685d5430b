"""Every formula of the reference passes with no error; every rejected construct gets the expected code."""

from __future__ import annotations

import pytest

from batchspec.diagnostics.model import Severity
from batchspec.formula import check_formula, parse_formula
from tests.formula import reference_formulas as ref

VALID_CASES = [(name, text) for name, text in ref.VALID.items()]
VALID_CASES += [
    (f"row{row}_{i}", text) for row, texts in ref.CHECKLIST_VALID.items() for i, text in enumerate(texts)
]
VALID_CASES += [(f"grammar_{i}", text) for i, text in enumerate(ref.GRAMMAR_ACCEPTS)]


@pytest.mark.parametrize(("name", "text"), VALID_CASES, ids=[c[0] for c in VALID_CASES])
def test_valid_formula_has_no_error(name: str, text: str) -> None:
    formula, diagnostics = check_formula(text, f"{name}.formula")
    errors = [d for d in diagnostics if d.severity is Severity.ERROR]
    assert errors == []
    assert formula is not None and formula.statements


@pytest.mark.parametrize(("name", "case"), list(ref.INVALID.items()), ids=list(ref.INVALID))
def test_rejected_formula_gets_expected_codes(name: str, case: tuple[str, list[str]]) -> None:
    text, codes = case
    _formula, diagnostics = check_formula(text, "bad.formula")
    assert [d.code for d in diagnostics if d.severity is Severity.ERROR] == codes


def test_f5_missing_semicolon_is_at_end_of_previous_statement() -> None:
    _f, diagnostics = check_formula(ref.F5, "f5.formula")
    (d,) = diagnostics
    # line 7 is "$TargetDedicatedNodes = min(400, $totalDedicatedNodes)": the ";" belongs right after ")"
    assert (d.span.start.line, d.span.start.col) == (7, 55)
    assert d.message == 'missing ";" at the end of this statement'
    assert d.related[0].span.start.line == 8


def test_checklist_row11_limits() -> None:
    base = "$TargetDedicatedNodes = 1;\n"
    pad = 8192 - len(base)
    at_limit = base + ("//" + "x" * (pad - 3) + "\n")
    assert len(at_limit) == 8192
    assert check_formula(at_limit)[1] == []
    over = at_limit + " "
    assert [d.code for d in check_formula(over)[1]] == ["FM301"]
    assert check_formula("x=1;" * 100)[1] == []
    codes = [d.code for d in check_formula("x=1;" * 101)[1]]
    assert codes == ["FM302"]


def test_parse_formula_returns_none_on_syntax_error() -> None:
    formula, diagnostics = parse_formula("x = (1", "a.formula")
    assert formula is None
    assert diagnostics[0].code == "FM003"
