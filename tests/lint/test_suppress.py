from __future__ import annotations

from batchspec.lint import LintConfig, lint_formula
from batchspec.lint.suppress import find_comments

UNCAPPED = "$TargetDedicatedNodes = max(0, $PendingTasks.GetSample(1));"
VARYING = "$TargetDedicatedNodes = min(3, $CurrentDedicatedNodes);"


def summary(text: str, config: LintConfig | None = None) -> list[tuple[str, int, int]]:
    return [(d.code, d.span.start.line, d.span.start.col) for d in lint_formula(text, "s.formula", config)]


def test_same_line_suppression_by_name_and_code() -> None:
    assert ("FM205", 1, 1) in summary(UNCAPPED + "\n$NodeDeallocationOption = taskcompletion;")
    by_name = UNCAPPED + " // batchspec: ignore[unbounded-target]\n$NodeDeallocationOption = taskcompletion;"
    assert summary(by_name) == []
    by_code = UNCAPPED + " // batchspec: ignore[FM205]\n$NodeDeallocationOption = taskcompletion;"
    assert summary(by_code) == []


def test_own_line_suppression_covers_the_next_code_line() -> None:
    text = (
        "// batchspec: ignore[unbounded-target]\n\n// why: the queue is bounded\n"
        + UNCAPPED
        + ("\n$NodeDeallocationOption = taskcompletion;")
    )
    assert summary(text) == []


def test_suppression_covers_a_multiline_statement() -> None:
    text = "// batchspec: ignore[getsample-unguarded]\n$x =\n  avg($CPUPercent.GetSample(TimeInterval_Minute * 10));\n"
    assert [c for c, _l, _c in summary(text, LintConfig(select=("FM201",)))] == []


def test_unused_suppression_is_reported_at_the_key() -> None:
    text = VARYING + " // batchspec: ignore[percent-scale, FM216]"
    got = lint_formula(text, "s.formula")
    assert [(d.code, d.span.start.col) for d in got] == [("BS003", 78)]
    assert 'suppression of "percent-scale" suppresses nothing' in got[0].message


def test_unknown_key_and_malformed_directive() -> None:
    got = lint_formula(VARYING + " // batchspec: ignore[no-such-rule, FM216]", "s.formula")
    assert [d.code for d in got] == ["BS004"]
    got = lint_formula(VARYING + " // batchspec: ignore FM216", "s.formula")
    assert "BS004" in [d.code for d in got] and "FM216" in [d.code for d in got]


def test_syntax_errors_cannot_be_suppressed() -> None:
    got = lint_formula("x = (1; // batchspec: ignore[FM003, syntax-error]", "s.formula")
    assert any(d.code.startswith("FM0") for d in got)


def test_suppression_of_a_rule_disabled_by_config_is_not_unused() -> None:
    text = VARYING + " // batchspec: ignore[percent-scale, FM216]"
    assert lint_formula(text, "s.formula", LintConfig(ignore=("percent-scale",))) == []


def test_comment_finder_ignores_slashes_in_strings() -> None:
    text = 't = time("a//b"); // real\nx = 1;'
    assert find_comments(text) == [(1, 19, "// real", True)]
