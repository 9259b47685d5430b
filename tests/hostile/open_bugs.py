"""Minimal reproducers of the failures the fuzz campaign and the hostile suite found (bench/campaign.py),
still open.

Not collected by CI (the file name does not start with test_): run it with `pytest
tests/hostile/open_bugs.py`. When a reproducer passes, move it into the hostile suite (test_*.py) so that CI
keeps it fixed.

Each test states the contract (a positioned diagnostic or a clean evaluation error, a documented exit code,
never a traceback), not one particular wording, so that the owning area can choose the message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from batchspec.cli.main import main
from tests.hostile.conftest import write

BIG = "9" * 400  # a literal that parses as a double and overflows to infinity


# --- evaluator (EVAL): an infinite count or index must be an evaluation error, not an OverflowError ---------

INFINITE = [
    f"$TargetDedicatedNodes = max($ActiveTasks.GetSample({BIG}));",
    f"$TargetDedicatedNodes = max($ActiveTasks.GetSample(-{BIG}));",
    f"$TargetDedicatedNodes = val($ActiveTasks.GetSample(5), {BIG});",
    f"$TargetDedicatedNodes = round({BIG});",
    f"$TargetDedicatedNodes = floor({BIG});",
    f"$TargetDedicatedNodes = ceil(-{BIG});",
]


@pytest.mark.parametrize("text", INFINITE, ids=["getsample", "getsample-neg", "val", "round", "floor", "ceil"])
def test_infinite_numbers_never_crash_the_evaluator(text: str) -> None:
    from batchspec.formula import check_formula
    from batchspec.sim.compiled import compile_formula
    from batchspec.sim.evaluator import interpret
    from bench.evaluate import realistic_state

    formula, diagnostics = check_formula(text)
    assert formula is not None and not any(d.severity.name == "ERROR" for d in diagnostics)
    state = realistic_state()
    reference = interpret(formula, state)
    compiled = compile_formula(formula).evaluate(state)
    assert (compiled.results, compiled.error) == (reference.results, reference.error)
    if reference.error is not None:
        assert reference.error.line == 1 and reference.error.col >= 1


def test_infinite_numbers_through_evaluate_and_simulate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    formula = write(tmp_path, f"x = round({BIG});\n$TargetDedicatedNodes = 1;\n", "inf.formula")
    state = write(tmp_path, "time: 2024-06-03T14:00:00Z\nmetrics:\n  ActiveTasks:\n    values: [1, 2, 3]\n",
                  "state.yaml")
    assert main(["evaluate", "formula", str(formula), "--state", str(state)]) in (0, 1)
    assert main(["simulate", "formula", str(formula), "--scenario", "burst", "--format", "json"]) in (0, 1)
    assert "Traceback" not in capsys.readouterr().err


# --- spec loader (SPEC): a self-referencing alias hangs and grows without bound -----------------------------


@pytest.mark.parametrize("command", ["validate", "render", "evaluate"])
def test_self_referencing_alias_is_refused_quickly(tmp_path: Path, command: str) -> None:
    import subprocess
    import sys

    spec = write(tmp_path / "p", "batchspec: 1\npool: &a [*a]\n")
    state = write(tmp_path, "x: &a [*a]\n", "state.yaml")
    formula = write(tmp_path, "$TargetDedicatedNodes = 1;\n", "f.formula")
    argv = {"validate": ["validate", str(spec)], "render": ["render", str(spec.parent)],
            "evaluate": ["evaluate", "formula", str(formula), "--state", str(state)]}[command]
    # a subprocess: in-process, the hang could not be stopped (today it grows by ~60 MB/s until killed)
    proc = subprocess.run([sys.executable, "-m", "batchspec", *argv], capture_output=True, text=True, timeout=30)
    output = proc.stdout + proc.stderr
    assert proc.returncode in (1, 2) and (":1:" in output or ":2:" in output), output


# --- state file (EVAL): a huge integer is a positioned error, not an OverflowError --------------------------


@pytest.mark.parametrize("state", [f"pool:\n  targetLowPriorityNodes: {BIG}\n",
                                   f"metrics:\n  ActiveTasks:\n    values: [1, {BIG}]\n"])
def test_huge_integers_in_a_state_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], state: str) -> None:
    formula = write(tmp_path, "$TargetDedicatedNodes = 1;\n", "f.formula")
    path = write(tmp_path, state, "state.yaml")
    assert main(["evaluate", "formula", str(formula), "--state", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{path}:" in err


# --- lint configuration (LINT): a deeply nested batchspec.toml is BS001, not a RecursionError ---------------


def test_deeply_nested_config_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "select = " + "[" * 600 + "]" * 600 + "\n", "batchspec.toml")
    formula = write(tmp_path, "$TargetDedicatedNodes = 1;\n", "a.formula")
    assert main(["validate", "--format", "concise", str(formula)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "batchspec.toml:1:" in err and "BS001" in err


# --- render -o (SPEC): ids name files; an id with ../ must not write outside the output folder -------------------

PATH_IDS = """batchspec: 1
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


def test_render_output_stays_in_its_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "p"
    write(project, PATH_IDS)
    code = main(["render", str(project), "-o", str(project / "out")])
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json"))
    assert all(name.startswith("p/out/") for name in written), written  # today: p/eviljob.json, p/eviljob.tasks.json
    assert code == 2 and "SP105" in capsys.readouterr().err


def test_pool_id_is_checked_like_job_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write(tmp_path / "p", PATH_IDS)
    assert main(["validate", "--format", "concise", str(spec.parent)]) == 1
    out = capsys.readouterr().out
    assert f"{spec}:3:" in out  # the pool id "../../evilpool" (today only the job id, line 8, is reported)
