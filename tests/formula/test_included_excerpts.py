"""Findings in files a spec includes (a start-task script) show their source line in the text format."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchspec.cli.main import main

REPO = Path(__file__).resolve().parents[2]


def test_start_task_script_finding_has_an_excerpt(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(REPO)
    assert main(["validate", "--format", "text", "examples/seed-pool"]) == 1
    out = capsys.readouterr().out
    block = out.split("examples/seed-pool/start-task.sh:8:1: warning[SP211]", 1)[1].split("\n\n", 1)[0]
    assert "8 | sudo update-alternatives --set python3 /usr/bin/python3.10" in block
    assert "  | ^~~~" in block
