from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from batchspec.spec.schema import validator

REPO = Path(__file__).resolve().parents[2]


def test_committed_schemas_are_what_the_generator_produces() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_schemas.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_vendored_specs_match_their_checksums() -> None:
    vendor = REPO / "schemas" / "vendor"
    lines = (vendor / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == 3
    for line in lines:
        digest, rel = line.split("  ", 1)
        assert hashlib.sha256((vendor / rel).read_bytes()).hexdigest() == digest, rel
    assert "MIT License" in (vendor / "LICENSE").read_text()


def errors(schema: str, body: dict) -> list[str]:
    return sorted(e.message for e in validator(schema).iter_errors(body))


BASE = {
    "properties": {
        "vmSize": "Standard_D2s_v3",
        "deploymentConfiguration": {
            "virtualMachineConfiguration": {
                "imageReference": {
                    "publisher": "canonical",
                    "offer": "0001-com-ubuntu-server-jammy",
                    "sku": "22_04-lts",
                },
                "nodeAgentSkuId": "batch.node.ubuntu 22.04",
            }
        },
    }
}


def with_props(**props: object) -> dict:
    body = json.loads(json.dumps(BASE))
    body["properties"].update(props)
    return body


def test_valid_pool_passes() -> None:
    assert (
        errors(
            "pool.schema.json",
            with_props(
                scaleSettings={
                    "autoScale": {"formula": "$TargetDedicatedNodes=1;", "evaluationInterval": "PT05M00S"}
                }
            ),
        )
        == []
    )


@pytest.mark.parametrize(
    "props",
    [
        {"scaleSettings": {"autoScale": {"formula": "x"}, "fixedScale": {"targetDedicatedNodes": 1}}},  # xor
        {"scaleSettings": {}},
        {"scaleSettings": {"autoScale": {"formula": "x" * 8193}}},  # formula length
        {"scaleSettings": {"autoScale": {"formula": "x", "evaluationInterval": "5 minutes"}}},  # duration
        {"taskSlotsPerNode": 257},
        {"taskSlotsPerNode": 0},
        {"taskSchedulingPolicy": {"nodeFillType": "pack"}},  # strict enum (case-sensitive in the schema)
        {"provisioningState": "Succeeded"},  # read-only
        {"maxTasksPerNode": 4},  # retired / unknown
        {"networkConfiguration": {"subnetId": "/subscriptions/x/resourceGroups/rg/subnets/s"}},  # id format
        {"startTask": {"waitForSuccess": True}},  # commandLine required once a start task exists
        {"scaleSettings": {"fixedScale": {"resizeTimeout": "PT15M"}}},  # needs a target
    ],
)
def test_prose_rules_and_fixes_are_enforced(props: dict) -> None:
    assert errors("pool.schema.json", with_props(**props)) != []


def test_identity_key_must_be_an_identity_resource_id() -> None:
    body = dict(BASE, identity={"type": "UserAssigned", "userAssignedIdentities": {"not-an-id": {}}})
    assert errors("pool.schema.json", body) != []


def test_data_plane_schemas() -> None:
    assert errors("job.schema.json", {"id": "j1", "poolInfo": {"poolId": "p"}}) == []
    assert errors("job.schema.json", {"id": "bad id!", "poolInfo": {"poolId": "p"}}) != []
    assert errors("task.schema.json", {"id": "t1", "commandLine": "echo"}) == []
    assert (
        errors("task.schema.json", {"id": "t1", "commandLine": "echo", "resourceFiles": [{"filePath": "x"}]})
        != []
    )
    assert (
        errors(
            "pool-data.schema.json",
            {"id": "p", "vmSize": "x", "autoScaleFormula": "a", "targetDedicatedNodes": 1},
        )
        != []
    )
