"""Examples other than the quickstart that say they run under apply really do, on the local service."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.apply.test_quickstart import REPO, _batchspec


def test_parametric_sweep_runs_every_combination(tmp_path: Path) -> None:
    project = tmp_path / "sweep"
    shutil.copytree(REPO / "examples" / "parametric-sweep", project, ignore=shutil.ignore_patterns("results"))
    run = _batchspec("apply", str(project / "batchspec.yaml"), "--yes", cwd=tmp_path, state=tmp_path / "state")
    assert run.returncode == 0, run.stderr
    assert "all 12 tasks succeeded" in run.stderr
    metrics = sorted((project / "results").rglob("metrics-*.json"))
    assert len(metrics) == 12
    combos = {(m["seed"], m["lr"]) for m in (json.loads(p.read_text()) for p in metrics)}
    assert combos == {(s, lr) for s in (1, 2, 3) for lr in (0.1, 0.03, 0.01, 0.003)}
