"""The README's main job: examples/quickstart applied end to end on the local service, twice, from elsewhere."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from batchspec.cli.plan import default_state_dir

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart"


def _batchspec(*args: str, cwd: Path, state: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, BATCHSPEC_LOCAL_STATE_DIR=str(state))
    env.pop("BATCHSPEC_LOCAL_CONNECTION", None)
    env.pop("BATCHSPEC_LOCAL_FAULTS", None)
    return subprocess.run(
        [sys.executable, "-m", "batchspec", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_quickstart_end_to_end_twice_without_duplicates(tmp_path: Path) -> None:
    project = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, project, ignore=shutil.ignore_patterns("results"))
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    state = tmp_path / "state"
    spec = str(project / "batchspec.yaml")

    first = _batchspec("apply", spec, "--yes", cwd=elsewhere, state=state)
    assert first.returncode == 0, first.stderr
    assert "all 4 tasks succeeded" in first.stderr
    results = sorted(p.name for p in (project / "results").iterdir())
    assert results == ["africa.json", "americas.json", "asia.json", "europe.json"]
    rows = json.loads((project / "results" / "asia.json").read_text())
    assert rows[0] == {"city": "Tokyo", "country": "Japan", "population": "37194000"}
    assert not (elsewhere / "results").exists()

    second = _batchspec("apply", spec, "--yes", cwd=elsewhere, state=state)
    assert second.returncode == 0, second.stderr
    assert "No changes" in second.stderr
    assert "added tasks" not in second.stderr and "created" not in second.stderr
    assert (
        'job "quickstart-convert": no task ran this time, so there were no new outputs; the apply that ran the '
        "tasks downloaded theirs to"
    ) in second.stderr

    status = _batchspec("status", spec, "--format", "json", cwd=elsewhere, state=state)
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["pool"]["scaleMode"] == "autoScale"
    assert data["jobs"] == [
        {
            "id": "quickstart-convert",
            "exists": True,
            "state": "active",
            "tasks_in_spec": 4,
            "tasks": {"active": 0, "running": 0, "completed": 4, "succeeded": 4, "failed": 0},
        }
    ]


def test_default_state_dir(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("BATCHSPEC_LOCAL_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_state_dir() == tmp_path / "batchspec" / "local"
    monkeypatch.setenv("BATCHSPEC_LOCAL_STATE_DIR", str(tmp_path / "x"))
    assert default_state_dir() == tmp_path / "x"
