"""``batchspec rules`` and docs/rules.md (generated below its marker; this test keeps it current)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchspec.cli.main import main
from batchspec.cli.rules import MARKER, all_rows, render_markdown
from batchspec.diagnostics.codes import CHECKS
from batchspec.lint.registry import LINT_CODES, all_rules

DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "rules.md"
REGENERATE = "run: batchspec rules --format markdown --output docs/rules.md"


def test_table_lists_every_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    for rule in all_rules():
        assert f"{rule.code}  {rule.name}" in out
    for code in CHECKS:
        assert code in out


def test_json_has_docs_options_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    by_code = {c["code"]: c for c in doc["codes"]}
    fm205 = by_code["FM205"]
    assert fm205["name"] == "unbounded-target" and fm205["fixable"] is True
    assert fm205["options"][0]["name"] == "max-nodes"
    assert fm205["examples"][0]["bad"]
    assert by_code["FM101"]["name"] == "undefined-variable"


def _generated_rules_section(text: str) -> str:
    body = text.split(MARKER, 1)[1]
    return body.split("## Every other code", 1)[0]


def test_docs_rules_md_is_current() -> None:
    current = DOCS.read_text(encoding="utf-8")
    assert MARKER in current, REGENERATE
    generated = render_markdown(all_rows())
    # the lint-rule section is owned here and must match exactly
    assert _generated_rules_section(current) == _generated_rules_section(generated), REGENERATE
    other = current.split("## Every other code", 1)[1]
    for code in [*CHECKS, *(c.code for c in LINT_CODES)]:
        assert f"| {code} |" in other, f"{code} missing from docs/rules.md; {REGENERATE}"
    for rule in all_rules():
        assert f"### {rule.code} {rule.name}" in current


def test_markdown_output_keeps_the_hand_written_part(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "rules.md"
    target.write_text("# My rules\n\nHand-written.\n")
    assert main(["rules", "--format", "markdown", "--output", str(target)]) == 0
    first = target.read_text()
    assert first.startswith("# My rules\n\nHand-written.\n\n" + MARKER)
    assert main(["rules", "--format", "markdown", "--output", str(target)]) == 0
    assert target.read_text() == first
    assert "unchanged" in capsys.readouterr().err


def test_output_needs_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--format", "json", "--output", str(tmp_path / "x.md")]) == 2
    assert "--format markdown" in capsys.readouterr().err


def test_output_to_an_unwritable_place_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "docs"
    target.mkdir()  # a directory cannot be written as a file
    assert main(["rules", "--format", "markdown", "--output", str(target)]) == 2
    assert "cannot" in capsys.readouterr().err


def test_one_rule_by_code_or_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "unbounded-target"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("FM205 unbounded-target (warning, fixable)")
    assert "max-nodes = (unset)" in out and "Reported:" in out and "Not reported:" in out
    assert main(["rules", "FM101"]) == 0
    assert capsys.readouterr().out.startswith("FM101 undefined-variable (error")
    assert main(["rules", "no-such-rule"]) == 2
    assert 'no rule or code "no-such-rule"' in capsys.readouterr().err


def test_a_misspelt_rule_name_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "getsample-unguardd"]) == 2
    assert 'did you mean "getsample-unguarded"?' in capsys.readouterr().err
    assert main(["rules", "zzz"]) == 2
    assert "did you mean" not in capsys.readouterr().err
