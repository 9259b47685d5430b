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
