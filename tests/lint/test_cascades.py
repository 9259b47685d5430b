"""One mistake, one report: lint findings that only repeat or follow from another diagnostic are dropped."""

from __future__ import annotations

import pytest

from batchspec.lint import LintConfig, lint_formula


def codes(text: str, config: LintConfig | None = None) -> list[str]:
    return [d.code for d in lint_formula(text, "c.formula", config)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # an invalid statement is not also a thrown-away result (FM220); the formula still assigns no target
        ("$x == 5;", ["FM010", "FM101", "FM204"]),
        # a type error on the target is not also an unbounded target (FM205) nor a missing option (FM216)
        ("$TargetDedicatedNodes = $PendingTasks.GetSample(10);", ["FM108"]),
        # a call with the wrong number of arguments is not also judged as if it were right (FM217, FM223)
        ("$TargetDedicatedNodes = val($PendingTasks.GetSample(5));", ["FM105"]),
        ("$TargetDedicatedNodes = percentile($PendingTasks.GetSample(10));", ["FM105"]),
        ("$TargetDedicatedNodes = percentile(x);", ["FM105", "FM101"]),
    ],
)
def test_a_front_end_error_hides_the_lint_findings_of_its_statement(text: str, expected: list[str]) -> None:
    assert codes(text) == expected


def test_findings_on_other_statements_are_kept() -> None:
    text = "$TargetDedicatedNodes = max($PendingTasks.GetSample(1));\n$y = $x + 1;\n"
    got = codes(text)
    # line 1 is fine for the front end: its lint findings stay; line 2's unused "$y" waits for the FM101 fix
    assert "FM205" in got and "FM216" in got and "FM101" in got
    assert "FM213" not in got


def test_the_lint_findings_come_back_once_the_error_is_fixed() -> None:
    assert "FM205" in codes("$TargetDedicatedNodes = max($PendingTasks.GetSample(10));")


def test_a_target_without_its_dollar_is_reported_once_by_fm211() -> None:
    (d,) = lint_formula("TargetDedicatedNodes = 5;", "c.formula")
    assert d.code == "FM211" and "--fix" in (d.hint or "")
    (d,) = lint_formula("$targetdedicatednodes = 5;", "c.formula")
    assert d.code == "FM211"


def test_fm204_stays_when_fm211_is_switched_off_or_suppressed() -> None:
    assert codes("TargetDedicatedNodes = 5;", LintConfig(ignore=("FM211",))) == ["FM204"]
    suppressed = "// batchspec: ignore[FM211]\nTargetDedicatedNodes = 5;\n"
    assert codes(suppressed) == ["FM204"]


def test_fm204_stays_when_fm211_is_about_another_variable() -> None:
    got = codes("$nodeDeallocationOption = taskcompletion;")
    assert "FM204" in got


def test_a_typo_does_not_make_the_suggested_variable_look_unused() -> None:
    (d,) = lint_formula("$samples = 1; $TargetDedicatedNodes = $sample;", "c.formula")
    assert d.code == "FM101" and d.hint == 'did you mean "$samples"?'
    assert codes("samples = 1; $TargetDedicatedNodes = min(3, sample);") == ["FM101"]


def test_other_unused_variables_are_still_reported_next_to_a_typo() -> None:
    diagnostics = lint_formula("$samples = 1; $other = 2; $TargetDedicatedNodes = $sample;", "c.formula")
    unused = [d.message for d in diagnostics if d.code == "FM213"]
    assert unused == ['variable "$other" is assigned but never used']


def test_a_misspelt_target_is_named_once_with_the_right_spelling() -> None:
    (d,) = lint_formula("$TargetDedicatedNode = 1;", "c.formula")
    assert d.code == "FM204"
    assert (d.span.start.col, d.span.end.col) == (1, 21)  # the misspelt name, not the start of the formula
    assert d.hint == (
        'did you mean "$TargetDedicatedNodes"? "$TargetDedicatedNode" is an ordinary user variable'
    )


def test_a_misspelt_writable_variable_that_is_never_read_gets_the_right_name_as_hint() -> None:
    text = "$TargetDedicatedNodes = 1; $TargetLowPriorityNode = 2;"
    (d,) = [d for d in lint_formula(text, "c.formula") if d.code == "FM213"]
    assert d.hint == (
        'did you mean "$TargetLowPriorityNodes"? "$TargetLowPriorityNode" is an ordinary user variable'
    )


def test_a_misspelt_deallocation_option_explains_the_rejected_keyword() -> None:
    text = "$TargetDedicatedNodes = 1;\n$NodeDeallocationOptions = taskcompletion;\n"
    (d,) = lint_formula(text, "c.formula")
    assert d.code == "FM113"
    assert d.hint == (
        'did you mean "$NodeDeallocationOption"? "$NodeDeallocationOptions" is an ordinary user variable'
    )


def test_names_far_from_every_writable_variable_get_no_suggestion() -> None:
    from batchspec.lint.rules.formula._util import misspelt_writable

    assert misspelt_writable("$TargetDedicatedMax") is None
    assert misspelt_writable("$TargetDedicatedNodes") is None  # the real name
    assert misspelt_writable("$targetdedicatednodes") is None  # case only: service-variable-case reports it
    assert misspelt_writable("TargetDedicatedNode") == "$TargetDedicatedNodes"
    assert misspelt_writable("$TargetDedicate") == "$TargetDedicated"
    text = "spare = 3; $TargetDedicatedNodes = 2;"
    unused = [d for d in lint_formula(text, "c.formula") if d.code == "FM213"]
    (d,) = unused
    assert "did you mean" not in (d.hint or "")
