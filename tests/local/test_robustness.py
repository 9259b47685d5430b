"""Mutated request bodies never crash the service: every answer is a 2xx or a 4xx in the plane's error shape."""

from __future__ import annotations

import json
import random

import pytest

from .conftest import unique, wait_for
from .test_dataplane import raw_request

JUNK = [None, True, -1, 0, 2**40, 1.5, "", "x", "../../etc", [], [1], {}, {"a": 1}, [{"name": 3}], "P1D"]

TASK = {
    "id": "t",
    "commandLine": "true",
    "environmentSettings": [{"name": "A", "value": "b"}],
    "resourceFiles": [{"httpUrl": "http://127.0.0.1:1/x", "filePath": "x"}],
    "outputFiles": [
        {
            "filePattern": "*.out",
            "destination": {"container": {"containerUrl": "http://127.0.0.1:1/c"}},
            "uploadOptions": {"uploadCondition": "tasksuccess"},
        }
    ],
    "constraints": {"maxWallClockTime": "PT1M", "maxTaskRetryCount": 1},
    "requiredSlots": 1,
    "dependsOn": {"taskIds": ["a"], "taskIdRanges": [{"start": 1, "end": 2}]},
    "exitConditions": {"exitCodes": [{"code": 1, "exitOptions": {"jobAction": "none"}}], "default": {}},
    "userIdentity": {"autoUser": {"scope": "pool", "elevationLevel": "admin"}},
}
JOB = {
    "id": "j",
    "poolInfo": {"poolId": "p"},
    "priority": 1,
    "maxParallelTasks": 2,
    "onAllTasksComplete": "noaction",
    "constraints": {"maxWallClockTime": "PT1H", "maxTaskRetryCount": 0},
    "usesTaskDependencies": True,
    "metadata": [{"name": "a", "value": "b"}],
    "commonEnvironmentSettings": [{"name": "X", "value": "y"}],
}
POOL = {
    "vmSize": "a",
    "taskSlotsPerNode": 2,
    "taskSchedulingPolicy": {"nodeFillType": "Spread"},
    "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 0}},
    "metadata": [{"name": "a", "value": "b"}],
    "startTask": {
        "commandLine": "true",
        "environmentSettings": [{"name": "A", "value": "b"}],
        "maxTaskRetryCount": 1,
        "waitForSuccess": True,
        "resourceFiles": [],
    },
    "deploymentConfiguration": {
        "virtualMachineConfiguration": {"imageReference": {"publisher": "p"}, "nodeAgentSkuId": "n"}
    },
}


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


def _mutate(rng: random.Random, body: dict) -> object:
    body = json.loads(json.dumps(body))
    for _ in range(rng.randint(1, 3)):
        paths = [p for p in _paths(body) if p]
        if not paths:
            return rng.choice(JUNK)
        path = rng.choice(paths)
        parent = body
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = rng.choice(JUNK)
    return body


def _check(status: int, body, plane: str) -> None:
    assert status < 500, body
    if status >= 400:
        if plane == "mgmt":
            assert isinstance(body["error"]["code"], str)
        else:
            assert isinstance(body["code"], str) and isinstance(body["message"]["value"], str)


@pytest.mark.parametrize("seed", range(3))
def test_mutated_bodies_get_answers_not_crashes(service, make_pool, seed):
    rng = random.Random(seed)
    pool = make_pool(nodes=0)
    job = unique("fz")
    status, _, _ = raw_request(
        service,
        "POST",
        "/jobs",
        json.dumps({**JOB, "id": job, "poolInfo": {"poolId": pool}, "usesTaskDependencies": True}).encode(),
    )
    assert status == 201
    mgmt = (
        f"/subscriptions/{service.subscription_id}/resourceGroups/{service.resource_group}/providers/"
        f"Microsoft.Batch/batchAccounts/{service.account_name}/pools/"
    )
    arm_token, _ = service.issuer.issue("https://management.azure.com")
    for i in range(15):
        n = f"{seed}x{i}"
        cases = [
            ("data", "POST", "/jobs", {**JOB, "id": f"{job}-{n}"}),
            ("data", "POST", f"/jobs/{job}/tasks", {**TASK, "id": f"t{n}"}),
            ("data", "POST", f"/jobs/{job}/addtaskcollection", {"value": [{**TASK, "id": f"c{n}"}]}),
            ("data", "PATCH", f"/jobs/{job}", {"priority": 3, "constraints": {"maxTaskRetryCount": 1}}),
            (
                "data",
                "POST",
                "/pools",
                {
                    "id": f"dp{n}",
                    "vmSize": "a",
                    "targetDedicatedNodes": 0,
                    "taskSlotsPerNode": 1,
                    "startTask": {"commandLine": "true"},
                },
            ),
            (
                "data",
                "POST",
                f"/pools/{pool}/resize",
                {"targetDedicatedNodes": 0, "nodeDeallocationOption": "requeue"},
            ),
            (
                "data",
                "POST",
                f"/pools/{pool}/evaluateautoscale",
                {"autoScaleFormula": "$TargetDedicatedNodes=0;"},
            ),
            ("mgmt", "PUT", mgmt + f"mp{n}", {"properties": POOL}),
            ("mgmt", "PATCH", mgmt + pool, {"properties": {"metadata": [{"name": "a", "value": "b"}]}}),
        ]
        for plane, method, path, valid in cases:
            body = _mutate(rng, valid)
            status, _, answer = raw_request(
                service, method, path, json.dumps(body).encode(), token=arm_token if plane == "mgmt" else None
            )
            _check(status, answer, plane)
    # still serving, and the scheduler still runs work
    status, _, _ = raw_request(service, "GET", f"/jobs/{job}/taskcounts")
    assert status == 200
    for k in range(15):
        raw_request(service, "DELETE", f"/jobs/{job}-{seed}x{k}")
    wait_for(lambda: raw_request(service, "GET", f"/pools/{pool}")[0] == 200)
