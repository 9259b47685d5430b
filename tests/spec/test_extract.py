from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from batchspec.errors import BatchspecError
from batchspec.spec.extract import load_pool_formula


def test_seed_pool_management_plane(tmp_path: Path, seed_text: str) -> None:
    p = tmp_path / "seed.json"
    p.write_text(seed_text)
    pf = load_pool_formula(p)
    assert pf.text is not None and pf.text.startswith("samples = $PendingTasks")
    assert pf.evaluation_interval == timedelta(minutes=5)
    assert (pf.task_slots_per_node, pf.task_scheduling, pf.vm_size) == (2, "pack", "STANDARD_D2a_V4")
    assert pf.origin is not None and pf.origin.at(0).line == 18


def test_data_plane_and_pool_show_output(tmp_path: Path) -> None:
    body = {
        "id": "p1",
        "vmSize": "standard_d2s_v3",
        "enableAutoScale": True,
        "autoScaleFormula": "$TargetDedicatedNodes = 1;",
        "autoScaleEvaluationInterval": "PT05M00S",
        "taskSlotsPerNode": 4,
        "taskSchedulingPolicy": {"nodeFillType": "spread"},
        "state": "active",
    }
    p = tmp_path / "show.json"
    p.write_text(json.dumps(body, indent=2))
    pf = load_pool_formula(p)
    assert (pf.text, pf.pool_id, pf.evaluation_interval) == (
        "$TargetDedicatedNodes = 1;",
        "p1",
        timedelta(minutes=5),
    )
    assert (pf.task_slots_per_node, pf.task_scheduling) == (4, "spread")


def test_fixed_scale_pool_has_no_formula(tmp_path: Path) -> None:
    p = tmp_path / "fixed.json"
    p.write_text(
        json.dumps(
            {"properties": {"vmSize": "x", "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 3}}}}
        )
    )
    pf = load_pool_formula(p)
    assert pf.text is None and pf.target_dedicated == 3


def test_formula_file(tmp_path: Path) -> None:
    p = tmp_path / "a.formula"
    p.write_text("$TargetDedicatedNodes = 2;\n")
    assert load_pool_formula(p).text == "$TargetDedicatedNodes = 2;\n"


@pytest.mark.parametrize("content", ['{"hello": 1}', "[1, 2]", '{"properties": {"vmSize": 1}, "x": '])
def test_not_a_pool_is_a_clean_error(tmp_path: Path, content: str) -> None:
    p = tmp_path / "x.json"
    p.write_text(content)
    with pytest.raises(BatchspecError) as info:
        load_pool_formula(p)
    assert info.value.exit_code == 2


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BatchspecError, match="no such file"):
        load_pool_formula(tmp_path / "nope.json")


def test_arm_expression_formula_is_a_clean_error(tmp_path: Path) -> None:
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"resources": [{"type": "Microsoft.Batch/batchAccounts/pools", "name": "a/p", "properties": {
        "vmSize": "x", "scaleSettings": {"autoScale": {"formula": "[parameters('formula')]"}}}}]}))
    with pytest.raises(BatchspecError, match="ARM template expression"):
        load_pool_formula(p)
