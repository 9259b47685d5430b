"""Fixes for reproducers the fuzz campaign filed against the spec area (now tests in tests/hostile and tests/spec)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from batchspec.cli.main import main
from batchspec.spec.validate import validate_document

IDS = """batchspec: 1
pool:
  id: "../../evilpool"
  vmSize: standard_d2s_v3
  image: {publisher: canonical, offer: 0001-com-ubuntu-server-jammy, sku: 22_04-lts}
  fixedScale: {targetDedicatedNodes: 0}
jobs:
  - id: "../../eviljob"
    tasks:
      - id: "t"
        commandLine: /bin/true
"""


def test_a_self_referencing_alias_is_a_positioned_error_at_once(tmp_path: Path) -> None:
    spec = tmp_path / "batchspec.yaml"
    spec.write_text("batchspec: 1\npool: &a [*a]\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "batchspec", "validate", "--format", "concise", str(spec)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1
    assert f"{spec}:2:11: error[SP004] alias \"*a\" refers to a value that contains it" in proc.stdout


def test_pool_and_job_ids_are_checked_where_they_are_written(tmp_path: Path) -> None:
    path = tmp_path / "batchspec.yaml"
    found = sorted((d.code, d.span.start.line, d.message) for d in validate_document(str(path), IDS))
    assert found == [
        ("SP100", 3, 'pool id "../../evilpool" is not a valid id'),
        ("SP105", 8, 'job id "../../eviljob" is not a valid id'),
    ]


def test_render_output_never_leaves_its_folder(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "p"
    project.mkdir()
    (project / "batchspec.yaml").write_text(IDS, encoding="utf-8")
    assert main(["render", str(project), "-o", str(project / "out")]) == 2
    assert sorted(tmp_path.rglob("*.json")) == []
    assert "SP105" in capsys.readouterr().err
