"""Reproducers of the last failures the fuzz campaign found (bench/campaign.py): infinite numbers in formulas
(GetSample counts, val indexes, round/floor/ceil) and huge integers in state files. They raised OverflowError
(exit 3); now they evaluate (±inf is kept, an infinite count selects every sample) or are positioned state-file
errors (exit 2). In CI so they stay fixed.

Each test states the contract (a positioned diagnostic or a clean evaluation error, a documented exit code,
never a traceback), not one particular wording.
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


# --- state file (EVAL): a huge integer is a positioned error, not an OverflowError --------------------------


@pytest.mark.parametrize("state", [f"pool:\n  targetLowPriorityNodes: {BIG}\n",
                                   f"metrics:\n  ActiveTasks:\n    values: [1, {BIG}]\n"])
def test_huge_integers_in_a_state_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], state: str) -> None:
    formula = write(tmp_path, "$TargetDedicatedNodes = 1;\n", "f.formula")
    path = write(tmp_path, state, "state.yaml")
    assert main(["evaluate", "formula", str(formula), "--state", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{path}:" in err
