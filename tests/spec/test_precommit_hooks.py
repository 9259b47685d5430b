"""The published hooks, run by pre-commit itself in a fresh git repository (offline: the hook definitions from
.pre-commit-hooks.yaml are used as ``repo: local`` hooks with this checkout's interpreter, so no package
download is needed; ``pre-commit try-repo`` does the same with a pip install)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
HOOKS = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"


def _hook(hook_id: str) -> dict:
    return next(h for h in HOOKS if h["id"] == hook_id)


def test_manifest_is_valid() -> None:
    proc = subprocess.run(
        [str(PRE_COMMIT), "validate-manifest", str(REPO / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_files_regex_matches_what_validate_reads() -> None:
    files = re.compile(_hook("batchspec-validate")["files"])
    for path in ("pools/gpu/autoscale.formula", "batchspec.yaml", "infra/pool.json", "x/spec.yml"):
        assert files.search(path), path
    for path in ("README.md", "start.sh", "formula.txt", "pool.json.bak"):
        assert not files.search(path), path


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_hook_in_a_fresh_repository(tmp_path: Path) -> None:
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "dev@example.com")
    _git(repo, "config", "user.name", "dev")
    hook = dict(_hook("batchspec-validate"))
    hook["language"] = "system"
    hook.pop("additional_dependencies", None)  # installed already in this environment
    hook["entry"] = f"{sys.executable} -m batchspec validate"
    config = {"repos": [{"repo": "local", "hooks": [hook]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    shutil.copy(REPO / "tests" / "corpus" / "pools" / "seed-pool.json", repo / "pool.json")
    (repo / "package.json").write_text('{"name": "unrelated", "version": "1.0.0"}\n')
    (repo / "scale.formula").write_text("$TargetDedicatedNodes = 1;\n")
    _git(repo, "add", ".")
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
        "PYTHONPATH": str(REPO),
        "BATCHSPEC_NO_SHELLCHECK": "1",
        "NO_COLOR": "1",
    }
    run = subprocess.run(
        [str(PRE_COMMIT), "run", "--all-files"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "pool.json:40:23: error[SP202]" in out
    assert "package.json:" not in out
    # fix the placeholder: the hook passes (warnings do not fail it)
    text = (repo / "pool.json").read_text()
    text = text.replace("{tenant-id}", "00000000-0000-0000-0000-000000000000")
    text = text.replace("{resource-group-name}", "rg").replace("{managed-id-name}", "pool-identity")
    (repo / "pool.json").write_text(text)
    _git(repo, "add", ".")
    run = subprocess.run(
        [str(PRE_COMMIT), "run", "--all-files"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Passed" in run.stdout
