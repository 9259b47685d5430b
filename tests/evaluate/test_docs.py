"""docs/evaluate.md cannot drift: each runtime error message it documents is the one the evaluator gives."""

# ruff: noqa: E501 - one formula and its message per line reads best

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import evaluate, message, state

DOC = (Path(__file__).resolve().parents[2] / "docs" / "evaluate.md").read_text(encoding="utf-8")

# formula -> the documented message; each row of the docs' error table is produced here
CASES = {
    "x = 1 / 0;": "division by zero",
    "x = 1" + "0" * 308 + " * 10;": "arithmetic overflow: the result is not a finite number",
    "v = $ActiveTasks.GetSample(3) + $ActiveTasks.GetSample(2);": "doubleVec operands have different lengths (3 and 2)",
    "x = avg($RunningTasks.GetSample(3));": '"avg" of an empty list',
    "x = std(5);": '"std" needs at least 2 values, got 1',
    "x = log(0);": '"log" needs values greater than 0, got 0',
    "x = percentile($ActiveTasks.GetSample(3), 101);": '"percentile" needs a percentage between 0 and 100, got 101',
    'x = time("13/03/2023");': 'invalid time string "13/03/2023"; expected',
    "t = time() + 20000 * TimeInterval_Year;": "timestamp out of range (years 1 to 9999)",
}


def _documented_messages() -> list[str]:
    table = DOC[DOC.index("| failure | message") :]
    table = table[: table.index("\n\n")]
    return [re.findall(r"`([^`]*)`", row.split("|")[2])[0] for row in table.splitlines()[2:]]


@pytest.mark.parametrize(("text", "documented"), CASES.items())
def test_documented_error_messages_are_real(text: str, documented: str) -> None:
    r = evaluate(text, state(ActiveTasks=[1, 2, 3]))
    assert r.error is not None and r.error.code == "FormulaEvaluationError"
    assert message(r).split(": ", 1)[1].startswith(documented)


def test_every_documented_message_is_covered() -> None:
    documented = _documented_messages()
    assert len(documented) == len(CASES)
    for doc_message in documented:
        prefix = doc_message.split("…")[0]  # the docs elide the variable part of a message with "…"
        assert any(expected.startswith(prefix) for expected in CASES.values()), doc_message


def test_documented_insufficient_sample_data_example_is_real() -> None:
    # the JSON block in the docs is Shipyard #138, reproduced by ground_truth/ship-138-new-pool
    assert "Line 9, Col 43: Insufficient data from data set: $PendingTasks wanted 70%, received 0%" in DOC
    assert '"message": "Autoscale evaluation failed due to insufficient sample data"' in DOC
