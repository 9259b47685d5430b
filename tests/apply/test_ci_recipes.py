"""The CI recipes in examples/ci stay valid: schema-valid workflow files whose batchspec commands parse."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from batchspec.cli.main import build_parser

CI = Path(__file__).resolve().parents[2] / "examples" / "ci"
RECIPES = {"github-actions.yml": "vendor.github-workflows", "azure-pipelines.yml": "vendor.azure-pipelines"}


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def _commands(path: Path) -> list[list[str]]:
    found = []
    for text in _strings(yaml.safe_load(path.read_text())):
        for line in text.splitlines():
            line = line.strip()
            if not line.startswith("batchspec "):
                continue
            line = line.split(" > ", 1)[0]  # output redirection
            line = line.replace('"$SPEC"', "pools/batchspec.yaml").replace(
                '"$(SPEC)"', "pools/batchspec.yaml"
            )
            line = line.replace('"$(Build.ArtifactStagingDirectory)/plan.json"', "plan.json")
            found.append(shlex.split(line)[1:])
    return found


@pytest.mark.parametrize(("name", "schema"), sorted(RECIPES.items()))
def test_recipe_matches_the_ci_systems_schema(name: str, schema: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--regex-variant",
            "python",
            "--builtin-schema",
            schema,
            str(CI / name),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_batchspec_command_in_the_recipe_parses(name: str) -> None:
    commands = _commands(CI / name)
    assert {c[0] for c in commands} >= {"validate", "simulate", "plan", "apply"}
    for argv in commands:
        parser = build_parser(argv[0])
        args = parser.parse_args(argv)
        assert callable(args.func), argv
    plans = [c for c in commands if c[0] == "plan"]
    assert any("--detailed-exitcode" in c for c in plans) and any("--format" in c for c in plans)
    assert all("--yes" in c for c in commands if c[0] == "apply")
    # the formula checked is the one deployed: simulate sees the same environment overlay as plan and apply
    envs = {c[0]: c[c.index("--env") + 1] for c in commands if "--env" in c}
    assert envs.get("simulate") == envs.get("plan") == envs.get("apply") == "prod"


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipes_hold_no_secrets(name: str) -> None:
    text = (CI / name).read_text().lower()
    assert "client-secret" not in text and "client_secret" not in text and "password" not in text
    assert "workload identity federation" in text
