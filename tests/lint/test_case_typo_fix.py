"""A service variable read with the wrong case (``$pendingtasks.GetSample``) is one finding with a --fix."""

from __future__ import annotations

from batchspec.lint import fix_formula, lint_formula

TEXT = (
    "$p = $pendingtasks.GetSamplePercent(TimeInterval_Minute * 10);\n"
    "$t = $p < 70 ? max(0, $PendingTasks.GetSample(1)) : avg($PendingTasks.GetSample(TimeInterval_Minute * 10));\n"
    "$TargetDedicatedNodes = min(5, ceil($t));\n"
    "$NodeDeallocationOption = taskcompletion;\n"
)


def test_a_misspelt_metric_receiver_is_one_error_whose_hint_offers_the_fix() -> None:
    found = [(d.code, d.span.start.line, d.span.start.col) for d in lint_formula(TEXT, "c.formula")]
    assert ("FM101", 1, 6) in found
    assert ("FM211", 1, 6) not in found  # the same mistake is not reported twice
    (d,) = [d for d in lint_formula(TEXT, "c.formula") if d.code == "FM101"]
    assert d.hint == 'did you mean "$PendingTasks"? (--fix does this)'


def test_fix_renames_the_receiver_and_then_the_guard_is_seen() -> None:
    result = fix_formula(TEXT, "c.formula")
    assert result.applied == 1
    assert result.text.startswith("$p = $PendingTasks.GetSamplePercent(")
    assert [d.code for d in result.diagnostics] == []  # the window read is guarded once the name is right


def test_an_unknown_receiver_that_is_no_service_variable_keeps_plain_fm101() -> None:
    text = "$TargetDedicatedNodes = min(3, $Pendingtask.GetSample(1));\n$NodeDeallocationOption = taskcompletion;"
    (d,) = [d for d in lint_formula(text, "c.formula") if d.code == "FM101"]
    assert "--fix" not in (d.hint or "")
    assert fix_formula(text, "c.formula").applied == 0


def test_a_deallocation_keyword_in_another_case_is_fixed() -> None:
    text = "$TargetDedicatedNodes = 1;\n$NodeDeallocationOption = TaskCompletion;\n"
    (d,) = [d for d in lint_formula(text, "c.formula") if d.code == "FM107"]
    assert d.hint == 'write "taskcompletion" (--fix does this)'
    result = fix_formula(text, "c.formula")
    assert result.text == "$TargetDedicatedNodes = 1;\n$NodeDeallocationOption = taskcompletion;\n"
    assert result.diagnostics == []


def test_an_unknown_deallocation_keyword_gets_no_fix() -> None:
    text = "$TargetDedicatedNodes = 1;\n$NodeDeallocationOption = finish;\n"
    assert fix_formula(text, "c.formula").applied == 0
