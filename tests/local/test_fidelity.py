"""Fidelity: answers match the official REST response schemas (checked here and for the whole session).

The session's ``service`` fixture validates every JSON body it sent when the session ends (conftest.py); this module
checks the checker itself and drives the operations other modules do not reach.
"""

from __future__ import annotations

from .conftest import run_job, unique, wait_for
from .fidelity import problems


def _record(plane, method, path, status, body, query=""):
    return {"plane": plane, "method": method, "path": path, "status": status, "body": body, "query": query}


def test_checker_finds_unknown_properties_wrong_types_and_missing_fields():
    task = {
        "id": "t",
        "url": "u",
        "eTag": "e",
        "lastModified": "2025-01-01T00:00:00Z",
        "creationTime": "2025-01-01T00:00:00Z",
        "state": "active",
        "stateTransitionTime": "2025-01-01T00:00:00Z",
        "commandLine": "true",
    }
    path = "/accounts/a/jobs/j/tasks/t"
    assert problems(_record("data", "GET", path, 200, task)) == []
    assert problems(_record("data", "GET", path, 200, {**task, "bogus": 1})) == [
        f"GET {path} -> 200: $.bogus is not defined by the spec"
    ]
    assert any(
        "is not of type" in p
        for p in problems(_record("data", "GET", path, 200, {**task, "requiredSlots": "1"}))
    )
    assert any(
        "'commandLine' is a required property" in p
        for p in problems(
            _record("data", "GET", path, 200, {k: v for k, v in task.items() if k != "commandLine"})
        )
    )
    mgmt = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Batch/batchAccounts/a/pools/p"
    assert (
        problems(_record("mgmt", "GET", mgmt, 404, {"error": {"code": "PoolNotFound", "message": "m"}})) == []
    )
    assert problems(_record("mgmt", "GET", mgmt, 200, {"name": "p", "properties": {"vmSize": 3}}))


def test_operations_answer_in_the_specs_shapes(service, batch, arm, conn, make_pool):
    start = len(service.recorder)
    pool = make_pool(
        nodes=1,
        start_task={
            "commandLine": "true",
            "userIdentity": {"autoUser": {"scope": "Pool", "elevationLevel": "Admin"}},
        },
    )
    wait_for(lambda: [n.state for n in batch.list_nodes(pool)] == ["idle"])
    node = next(iter(batch.list_nodes(pool)))
    batch.get_node(pool, node.id)
    batch.get_pool(pool)
    list(batch.list_pools())
    dp_pool = unique("dp")
    batch.create_pool(
        {
            "id": dp_pool,
            "vmSize": "standard_d2s_v3",
            "targetDedicatedNodes": 0,
            "virtualMachineConfiguration": {
                "imageReference": {"publisher": "canonical", "offer": "o", "sku": "s"},
                "nodeAgentSKUId": "batch.node.ubuntu 22.04",
            },
            "taskSchedulingPolicy": {"nodeFillType": "pack"},
        }
    )
    got = arm.pool.get(conn.resource_group, conn.account_name, dp_pool)
    assert (
        got.deployment_configuration.virtual_machine_configuration.node_agent_sku_id
        == "batch.node.ubuntu 22.04"
    )
    assert got.task_scheduling_policy.node_fill_type == "Pack"
    batch.update_pool(dp_pool, {"metadata": [{"name": "k", "value": "v"}]})
    batch.begin_delete_pool(dp_pool, polling_interval=0.05).result()
    job_id = run_job(batch, pool, [{"id": "ok", "commandLine": "true"}, {"id": "no", "commandLine": "false"}])
    batch.get_job(job_id)
    list(batch.list_jobs())
    list(batch.list_tasks(job_id))
    list(batch.list_task_files(job_id, "ok"))
    batch.get_job_task_counts(job_id)
    batch.replace_task(job_id, "ok", {"constraints": {"maxTaskRetryCount": 1}})
    batch.reactivate_task(job_id, "no")
    wait_for(lambda: batch.get_task(job_id, "no").state == "completed")
    batch.terminate_task(job_id, "no")
    batch.delete_task(job_id, "ok")
    arm.pool.list_by_batch_account(conn.resource_group, conn.account_name).next()
    arm.pool.stop_resize(conn.resource_group, conn.account_name, pool)
    recorded = service.recorder[start:]
    assert len(recorded) > 20
    found = [p for r in recorded for p in problems(r)]
    assert not found, found
