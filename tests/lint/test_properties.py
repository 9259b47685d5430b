"""The linter never crashes: generated formulas (FRONTEND's strategies) and arbitrary text give diagnostics only."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchspec.formula import ast
from batchspec.formula.printer import format_formula
from batchspec.lint import fix_formula, lint_formula
from tests.formula.strategies import formulas

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(formulas)
def test_no_rule_crashes_on_generated_formulas(formula: ast.Formula) -> None:
    text = format_formula(formula)
    diagnostics = lint_formula(text, "g.formula")
    crashed = [d.message for d in diagnostics if d.code == "BS002"]
    assert crashed == [], (text, crashed)
    for d in diagnostics:
        assert d.span.start.line >= 1 and d.span.start.col >= 1


@_SETTINGS
@given(formulas)
def test_fix_is_idempotent_and_never_breaks_the_formula(formula: ast.Formula) -> None:
    text = format_formula(formula)
    before = {d.code for d in lint_formula(text, "g.formula") if d.code.startswith(("FM0", "FM1"))}
    fixed = fix_formula(text, "g.formula")
    after = {d.code for d in fixed.diagnostics if d.code.startswith("FM0")}
    assert after <= {c for c in before if c.startswith("FM0")}, (text, fixed.text)
    assert fix_formula(fixed.text, "g.formula").applied == 0, (text, fixed.text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('$x1 .;()?:!=<>+-*/"_&|\n/TimeInterval_Minute')), max_size=60))
def test_arbitrary_text_gives_diagnostics_only(text: str) -> None:
    for d in lint_formula(text, "t.formula"):
        assert d.code != "BS002", (text, d.message)
