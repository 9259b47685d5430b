"""Wording checks that depend on more than the quoted excerpt of a finding."""

from __future__ import annotations

from batchspec.lint import lint_formula


def test_a_long_division_is_called_a_division_even_when_the_quote_is_cut() -> None:
    text = (
        "n = avg($ActiveTasks.GetSample(TimeInterval_Minute * 60, TimeInterval_Minute * 5)) / 32;\n"
        "$TargetLowPriorityNodes = min(60, n);\n"
        "$NodeDeallocationOption = taskcompletion;\n"
    )
    (d,) = [d for d in lint_formula(text, "m.formula") if d.code == "FM206"]
    assert "computed with a division (" in d.message and "…" in d.message


def _fm203(text: str) -> str:
    (d,) = [d for d in lint_formula(text, "m.formula") if d.code == "FM203"]
    return d.message


def test_a_negated_constant_names_the_inner_value_and_the_whole_value_separately() -> None:
    # "1" is always true; it is "!1" that is always false
    assert _fm203("$TargetDedicatedNodes = !1;") == 'condition "1" is always true, so "!1" is always false'
    assert _fm203("$TargetDedicatedNodes = !!1;") == 'condition "1" is always true, so "!!1" is always true'


def test_a_negated_constant_inside_and_or_keeps_both_values_right() -> None:
    assert _fm203("x = !0 || time().hour > 3 ? 1 : 2;") == (
        'condition "0" is always false, so "!0 || time().hour > 3" is always true'
    )
    message = _fm203("x = !(0 && time().hour > 3) ? 1 : 2;")
    assert message == 'condition "0" is always false, so "!(0 && time().hour > 3)" is always true'
    assert _fm203("x = !1 && time().hour > 3 ? 1 : 2;") == (
        'condition "1" is always true, so "!1 && time().hour > 3" is always false'
    )
