"""SARIF gives every rule a title (shortDescription), lint and spec rules included: code-scanning UIs show it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchspec.cli.main import main


def test_lint_rules_have_titles_in_sarif(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "cpu.formula"
    f.write_text(
        "$TargetDedicatedNodes = avg($CPUPercent.GetSample(TimeInterval_Minute * 10)) > 0.7 ? 5 : 1;\n",
        encoding="utf-8",
    )
    assert main(["validate", "--format", "sarif", str(f)]) == 0
    rules = json.loads(capsys.readouterr().out)["runs"][0]["tool"]["driver"]["rules"]
    by_id = {r["id"]: r for r in rules}
    assert {"FM201", "FM202"} <= set(by_id)
    for rule in rules:
        assert rule["shortDescription"]["text"].strip(), rule
    assert "GetSample" in by_id["FM201"]["shortDescription"]["text"]
