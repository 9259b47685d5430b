"""``batchspec validate`` with the linter: config files, --select/--ignore/--config and --fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchspec.cli.main import main

UNCAPPED = "$tasks = max(0, $PendingTasks.GetSample(1));\n$TargetDedicated = $tasks;\n$NodeDeallocationOption = taskcompletion;\n"


def _codes(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [d["code"] for d in json.loads(capsys.readouterr().out)["diagnostics"]]


def test_lint_findings_reach_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.formula"
    f.write_text(UNCAPPED)
    assert main(["validate", str(f), "--format", "json"]) == 0  # warnings only
    assert _codes(capsys) == ["FM205", "FM210"]
    assert main(["validate", str(f), "--format", "json", "--strict"]) == 1


def test_select_ignore_and_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.formula"
    f.write_text(UNCAPPED)
    assert main(["validate", str(f), "--format", "json", "--select", "FM205"]) == 0
    assert _codes(capsys) == ["FM205"]
    assert main(["validate", str(f), "--format", "json", "--ignore", "legacy-alias,FM205"]) == 0
    assert _codes(capsys) == []
    (tmp_path / "batchspec.toml").write_text('[rules.unbounded-target]\nseverity = "error"\n')
    assert main(["validate", str(f), "--format", "json"]) == 1
    assert _codes(capsys) == ["FM205", "FM210"]
    cfg = tmp_path / "other.toml"
    cfg.write_text('ignore = ["FM2"]\n')
    assert main(["validate", str(f), "--format", "json", "--config", str(cfg)]) == 0
    assert _codes(capsys) == []


def test_bad_config_exits_2_with_position(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.formula"
    f.write_text(UNCAPPED)
    (tmp_path / "batchspec.toml").write_text('select = ["FM2"]\nignore = ["no-such-rule"]\n')
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert "batchspec.toml:2:1: error[BS001]" in err and '"no-such-rule"' in err


def test_missing_config_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.formula"
    f.write_text(UNCAPPED)
    assert main(["validate", str(f), "--config", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml" in capsys.readouterr().err


def test_fix_rewrites_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.formula"
    f.write_text("$targetDedicatedNodes = min(4, $CurrentDedicated);;\nx = 1 ? 2 : 0 ? 3 : 4;\n")
    assert main(["validate", str(f), "--fix", "--format", "json"]) == 0
    out = capsys.readouterr()
    assert (
        f.read_text() == "$TargetDedicatedNodes = min(4, $CurrentDedicatedNodes);\nx = 1 ? 2 : (0 ? 3 : 4);\n"
    )
    assert "fixed 4 problems" in out.err
    remaining = [d["code"] for d in json.loads(out.out)["diagnostics"]]
    assert "FM211" not in remaining and "FM210" not in remaining and "FM219" not in remaining


def test_fix_adds_a_clamp_with_max_nodes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "batchspec.toml").write_text("[rules.unbounded-target]\nmax-nodes = 12\n")
    f = tmp_path / "a.formula"
    f.write_text(UNCAPPED.replace("$TargetDedicated ", "$TargetDedicatedNodes "))
    assert main(["validate", str(f), "--fix", "--format", "json"]) == 0
    assert "$TargetDedicatedNodes = min(12, $tasks);" in f.read_text()
    assert _codes(capsys) == []


def test_fix_leaves_clean_files_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.formula"
    f.write_text("$TargetDedicatedNodes = 1;\r\n")
    before = f.stat().st_mtime_ns
    assert main(["validate", str(f), "--fix"]) == 0
    assert f.stat().st_mtime_ns == before and f.read_bytes() == b"$TargetDedicatedNodes = 1;\r\n"


def test_unknown_config_key_is_a_warning_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "a.formula"
    f.write_text("$TargetDedicatedNodes = 1;\n")
    (tmp_path / "batchspec.toml").write_text("selct = []\n")
    assert main(["validate", str(f)]) == 0
    captured = capsys.readouterr()
    assert 'batchspec.toml:1:1: warning[BS001] unknown key "selct"' in captured.err
    assert captured.out == "no problems found in 1 file\n"


def test_fix_on_an_unwritable_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "a.formula"
    f.write_text("$TargetDedicated = 1;\n")

    def refuse(self: Path, data: bytes) -> int:  # a read-only file system (chmod does not stop root)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "write_bytes", refuse)
    assert main(["validate", str(f), "--fix"]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "Permission denied" in err
    assert f.read_text() == "$TargetDedicated = 1;\n"


def test_fix_ignores_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"$TargetDedicated = 1;\n")))
    assert main(["validate", "-", "--fix", "--format", "concise"]) == 0
    assert "FM210" in capsys.readouterr().out  # reported, not rewritten
