"""The reference's ground truth reproduced by ``batchspec evaluate formula`` from files in ground_truth/.

Each case is ``NAME.formula`` + ``NAME.state.yaml`` (they double as examples of the CLI) and ``NAME.expected.json``,
the exact ``--format json`` output (rewrite with ``pytest --update-golden`` and review the diff). The literal
strings of the reference (R1-R7, SHIP, checklist rows) are asserted separately below, so a regenerated golden file
can never drift away from the ground truth unnoticed.
"""

# ruff: noqa: E501 - formulas and expected results strings are verbatim from the reference: never split them

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchspec.cli.main import main

HERE = Path(__file__).parent / "ground_truth"
CASES = sorted(p.name.removesuffix(".state.yaml") for p in HERE.glob("*.state.yaml"))

# the reference's own strings (formula-language.md §6.5, §4.4, §10); the canonical target names apply (A18)
REFERENCE_RESULTS = {
    "r1-enable": "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue",
    "r2-evaluate": "$TargetDedicatedNodes=3;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue",
    "r3-requeue": "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue",
    "r3-terminate": "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=terminate",
    "r4-haste": "$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=taskcompletion;"
    "$samples=96.6667;$targetVMs=0.5;$tasks=0;cappedPoolSize=3",
    "r5-doazureparallel": "$TargetDedicatedNodes=2;$TargetLowPriorityNodes=5;$NodeDeallocationOption=taskcompletion;"
    "$maxTasksPerNode=4;$round=3;$samples=100;$targetVMs=1;$tasks=0",
    # R6 as printed in 2016 predates the low-priority item (checklist row 47)
    "r6-time-based": "$TargetDedicatedNodes=10;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;"
    "$curTime=2016-10-13T19:18:47.805Z;$isWeekday=1;$isWorkingWeekdayHour=0;$workHours=0",
    # R7 printed "$TargetDedicated=5;$NodeDeallocationOption=requeue;totalNodes=5" with the pre-2017 API
    "r7-powershell": "$TargetDedicatedNodes=5;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;totalNodes=5",
    "f4-guarded-new-pool": "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;"
    "lastsample=0;samplepercent=0;samplevecavg=0",
    "e9-initial-size": "$TargetDedicatedNodes=4;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;"
    "lifespan=00:05:28;ratio=50;span=01:00:00;startup=00:10:00",
}
REFERENCE_ERRORS = {
    "f3-unguarded-new-pool": "Line 2, Col 43: Insufficient data from data set: $PendingTasks wanted 70%, received 0%",
    "ship-138-new-pool": "Line 9, Col 43: Insufficient data from data set: $PendingTasks wanted 70%, received 0%",
    "row32-insufficient": "Line 1, Col 30: Insufficient data from data set: $CPUPercent wanted 95%, received 90%",
    "e9-insufficient-running": "Line 6, Col 75: Insufficient data from data set: $RunningTasks wanted 50%, "
    "received 40%",
}


def _run(capsys: pytest.CaptureFixture[str], name: str, *extra: str) -> tuple[int, str, str]:
    code = main(
        [
            "evaluate",
            "formula",
            str(HERE / f"{name}.formula"),
            "--state",
            str(HERE / f"{name}.state.yaml"),
            *extra,
        ]
    )
    out = capsys.readouterr()
    return code, out.out, out.err


def test_every_case_is_pinned_to_the_reference() -> None:
    assert sorted(REFERENCE_RESULTS.keys() | REFERENCE_ERRORS.keys()) == CASES


@pytest.mark.parametrize("name", CASES)
def test_json_output_matches_golden(
    name: str, capsys: pytest.CaptureFixture[str], update_golden: bool
) -> None:
    code, out, err = _run(capsys, name, "--format", "json")
    expected_path = HERE / f"{name}.expected.json"
    if update_golden:
        expected_path.write_text(out, encoding="utf-8")
    assert out == expected_path.read_text(encoding="utf-8")
    document = json.loads(out)
    assert code == (1 if "error" in document else 0)
    assert err == ""


@pytest.mark.parametrize("name", CASES)
def test_text_output_is_the_reference_string(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    for engine in ("compiled", "interpreter"):
        code, out, err = _run(capsys, name, "--engine", engine)
        if name in REFERENCE_ERRORS:
            assert code == 1
            assert REFERENCE_ERRORS[name].split(": ", 1)[1] in err
            line, col = REFERENCE_ERRORS[name].removeprefix("Line ").split(":")[0].split(", Col ")
            assert f"{name}.formula:{line}:{col}: error[InsufficientSampleData]" in err
        else:
            assert (code, err) == (0, "")
            assert out == REFERENCE_RESULTS[name] + "\n"


@pytest.mark.parametrize("name", sorted(REFERENCE_ERRORS))
def test_error_shape_is_the_services(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, name, "--format", "json")
    error = json.loads(out)["error"]
    assert error == {
        "code": "InsufficientSampleData",
        "message": "Autoscale evaluation failed due to insufficient sample data",
        "values": [{"name": "Message", "value": REFERENCE_ERRORS[name]}],
    }
