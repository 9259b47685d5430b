"""The plan classifier over plain dicts: every change class of prior-art.md §5.1 and the comparison rules."""

from __future__ import annotations

import copy

import pytest

from batchspec.apply.backend import LivePool
from batchspec.apply.plan import (
    ChangeClass,
    JobAction,
    classify_property,
    diff_values,
    duration_seconds,
    plan_job,
    plan_pool,
)

DESIRED = {
    "properties": {
        "vmSize": "STANDARD_D2S_V3",
        "deploymentConfiguration": {
            "virtualMachineConfiguration": {
                "imageReference": {
                    "publisher": "canonical",
                    "offer": "0001-com-ubuntu-server-jammy",
                    "sku": "22_04-lts",
                    "version": "latest",
                },
                "nodeAgentSkuId": "batch.node.ubuntu 22.04",
            }
        },
        "scaleSettings": {
            "autoScale": {"formula": "$TargetDedicatedNodes = 1;\n", "evaluationInterval": "PT5M"}
        },
        "taskSlotsPerNode": 2,
        "taskSchedulingPolicy": {"nodeFillType": "Pack"},
        "startTask": {
            "commandLine": "/bin/sh -c 'echo hi'",
            "waitForSuccess": True,
            "environmentSettings": [{"name": "MODE", "value": "fast"}],
        },
        "metadata": [{"name": "owner", "value": "batchspec"}],
    },
    "identity": {"type": "None"},
}


def live_from(desired: dict, *, nodes: int = 2) -> LivePool:
    """What the service returns for ``desired``: canonical spellings, defaults and read-only fields filled in."""
    body = copy.deepcopy(desired)
    p = body["properties"]
    p["vmSize"] = p["vmSize"].lower()  # the service reports VM sizes in its own case
    p["scaleSettings"]["autoScale"]["evaluationInterval"] = "PT05M00S"
    p["scaleSettings"]["autoScale"]["formula"] = p["scaleSettings"]["autoScale"]["formula"].replace(
        "\n", "\r\n"
    )
    p["startTask"].update(
        {
            "maxTaskRetryCount": 0,
            "userIdentity": {"autoUser": {"scope": "Pool", "elevationLevel": "NonAdmin"}},
        }
    )
    p["interNodeCommunication"] = "Disabled"
    p.update(
        {
            "provisioningState": "Succeeded",
            "allocationState": "Steady",
            "currentDedicatedNodes": nodes,
            "currentLowPriorityNodes": 0,
            "creationTime": "2026-01-01T00:00:00Z",
            "autoScaleRun": {"evaluationTime": "2026-01-01T00:00:00Z", "results": "$TargetDedicatedNodes=1"},
        }
    )
    body.pop("identity")  # identity type None is not echoed
    return LivePool(body=body, etag='W/"0x1"')


def edited(**props: object) -> dict:
    d = copy.deepcopy(DESIRED)
    d["properties"].update(props)
    return d


def test_missing_pool_is_created() -> None:
    plan = plan_pool("p", DESIRED, None)
    assert plan.action is ChangeClass.CREATE
    assert plan.changes == []


def test_identical_pool_with_service_defaults_and_spellings_is_no_change() -> None:
    plan = plan_pool("p", DESIRED, live_from(DESIRED))
    assert plan.action is ChangeClass.NONE, plan.changes
    assert plan.patch() == {}


def test_formula_change_is_in_place_and_patch_carries_only_scale_settings() -> None:
    want = edited(
        scaleSettings={"autoScale": {"formula": "$TargetDedicatedNodes = 3;", "evaluationInterval": "PT5M"}}
    )
    plan = plan_pool("p", want, live_from(DESIRED))
    assert plan.action is ChangeClass.IN_PLACE
    [change] = plan.changes
    assert change.property == "properties.scaleSettings"
    [diff] = change.differences
    assert diff.path == "properties.scaleSettings.autoScale.formula"
    assert diff.after == "$TargetDedicatedNodes = 3;"
    assert plan.patch() == {"properties": {"scaleSettings": want["properties"]["scaleSettings"]}}


def test_vm_size_change_needs_zero_nodes() -> None:
    plan = plan_pool("p", edited(vmSize="STANDARD_D4S_V3"), live_from(DESIRED))
    assert plan.action is ChangeClass.ZERO_NODES
    assert [c.property for c in plan.changes] == ["properties.vmSize"]
    assert plan.changes[0].differences[0].before == "standard_d2s_v3"
    assert plan.live_nodes == 2


def test_start_task_change_is_in_place_with_reboot() -> None:
    want = copy.deepcopy(DESIRED)
    want["properties"]["startTask"]["commandLine"] = "/bin/sh -c 'echo bye'"
    plan = plan_pool("p", want, live_from(DESIRED))
    assert plan.action is ChangeClass.REBOOT
    assert plan.patch()["properties"]["startTask"]["commandLine"] == "/bin/sh -c 'echo bye'"


def test_removing_the_start_task_patches_an_empty_start_task() -> None:
    want = copy.deepcopy(DESIRED)
    del want["properties"]["startTask"]
    plan = plan_pool("p", want, live_from(DESIRED))
    assert plan.action is ChangeClass.REBOOT
    assert plan.patch() == {"properties": {"startTask": {}}}


def test_removing_a_start_task_environment_setting_is_a_change() -> None:
    want = copy.deepcopy(DESIRED)
    del want["properties"]["startTask"]["environmentSettings"]
    plan = plan_pool("p", want, live_from(DESIRED))
    assert plan.action is ChangeClass.REBOOT
    assert plan.changes[0].differences[0].path == "properties.startTask.environmentSettings"


def test_metadata_change_is_in_place() -> None:
    plan = plan_pool("p", edited(metadata=[{"name": "owner", "value": "ops"}]), live_from(DESIRED))
    assert plan.action is ChangeClass.IN_PLACE


def test_unknown_property_needs_recreation() -> None:
    plan = plan_pool("p", edited(someFutureProperty={"x": 1}), live_from(DESIRED))
    assert plan.action is ChangeClass.RECREATE


def test_most_demanding_class_wins_and_patch_can_be_filtered() -> None:
    want = edited(vmSize="STANDARD_D4S_V3", metadata=[{"name": "owner", "value": "ops"}])
    plan = plan_pool("p", want, live_from(DESIRED))
    assert plan.action is ChangeClass.ZERO_NODES
    assert plan.patch([ChangeClass.IN_PLACE]) == {
        "properties": {"metadata": [{"name": "owner", "value": "ops"}]}
    }
    assert set(plan.patch([ChangeClass.ZERO_NODES])["properties"]) == {"vmSize"}


def test_identity_change_is_treated_as_needing_zero_nodes() -> None:
    want = copy.deepcopy(DESIRED)
    want["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {"/subscriptions/s/id1": {}}}
    plan = plan_pool("p", want, live_from(DESIRED))
    assert plan.action is ChangeClass.ZERO_NODES
    assert plan.changes[0].property == "identity"


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ("properties.metadata", ChangeClass.IN_PLACE),
        ("properties.scaleSettings", ChangeClass.IN_PLACE),
        ("tags", ChangeClass.IN_PLACE),
        ("properties.startTask", ChangeClass.REBOOT),
        ("properties.applicationPackages", ChangeClass.REBOOT),
        ("properties.certificates", ChangeClass.REBOOT),
        ("properties.displayName", ChangeClass.ZERO_NODES),
        ("properties.vmSize", ChangeClass.ZERO_NODES),
        ("properties.deploymentConfiguration", ChangeClass.ZERO_NODES),
        ("properties.networkConfiguration", ChangeClass.ZERO_NODES),
        ("properties.taskSlotsPerNode", ChangeClass.ZERO_NODES),
        ("properties.taskSchedulingPolicy", ChangeClass.ZERO_NODES),
        ("properties.interNodeCommunication", ChangeClass.ZERO_NODES),
        ("properties.userAccounts", ChangeClass.ZERO_NODES),
        ("properties.mountConfiguration", ChangeClass.ZERO_NODES),
        ("properties.targetNodeCommunicationMode", ChangeClass.ZERO_NODES),
        ("properties.upgradePolicy", ChangeClass.ZERO_NODES),
        ("properties.resourceTags", ChangeClass.ZERO_NODES),
        ("identity", ChangeClass.ZERO_NODES),
        ("properties.somethingNew", ChangeClass.RECREATE),
    ],
)
def test_property_classes_follow_the_update_rules(prop: str, expected: ChangeClass) -> None:
    assert classify_property(prop)[0] is expected


def test_read_only_live_properties_are_never_changes() -> None:
    live = live_from(DESIRED)
    live.body["properties"]["resizeOperationStatus"] = {"targetDedicatedNodes": 3}
    assert plan_pool("p", DESIRED, live).action is ChangeClass.NONE


def test_write_only_values_are_not_compared() -> None:
    want = edited(userAccounts=[{"name": "u", "password": "hunter22"}])
    live = live_from(want)
    del live.body["properties"]["userAccounts"][0]["password"]  # never returned by GET
    assert plan_pool("p", want, live).action is ChangeClass.NONE


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT5M", 300), ("PT05M00S", 300), ("PT1H", 3600), ("P1DT2H", 93600), ("PT0.5S", 0.5), ("P2D", 172800)],
)
def test_durations(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "P", "PT", "5M", "PTXM", "hello"])
def test_not_durations(text: str) -> None:
    assert duration_seconds(text) is None


def test_urls_compare_without_their_sas_query() -> None:
    want = {"httpUrl": "https://a/b/c.txt?sv=1&sig=NEW"}
    have = {"httpUrl": "https://a/b/c.txt?sv=1&sig=OLD"}
    assert diff_values(want, have, "") == []
    assert diff_values({"httpUrl": "https://a/b/d.txt"}, have, "") != []


def test_bool_and_number_are_not_equal() -> None:
    assert diff_values({"x": True}, {"x": 1}, "") != []
    assert diff_values({"x": 2}, {"x": 2.0}, "") == []


def test_case_is_significant_for_ordinary_strings() -> None:
    assert diff_values({"commandLine": "echo A"}, {"commandLine": "echo a"}, "") != []


# -- jobs -----------------------------------------------------------------------------------------------------------

JOB = {"id": "convert", "poolInfo": {"poolId": "p"}, "onAllTasksComplete": "terminatejob"}
TASKS = [{"id": f"t{i}", "commandLine": f"convert {i}"} for i in range(3)]


def test_missing_job_is_created_with_all_tasks() -> None:
    plan = plan_job(JOB, TASKS, None, None)
    assert plan.action is JobAction.CREATE
    assert plan.to_add == TASKS


def test_identical_job_is_reused_and_only_missing_tasks_are_added() -> None:
    live = dict(JOB, state="active", priority=0, onAllTasksComplete="terminateJob", eTag="0x1")
    live_tasks = [dict(TASKS[0], state="completed", constraints={"maxTaskRetryCount": 0})]
    plan = plan_job(JOB, TASKS, live, live_tasks)
    assert plan.action is JobAction.REUSE
    assert [t["id"] for t in plan.to_add] == ["t1", "t2"]
    assert plan.present == 1
    assert plan.has_changes


def test_task_ids_match_case_insensitively() -> None:
    live_tasks = [{"id": "T0", "commandLine": "convert 0"}]
    plan = plan_job(JOB, TASKS[:1], dict(JOB, state="active"), live_tasks)
    assert plan.present == 1 and plan.to_add == []
    assert not plan.has_changes


def test_a_different_task_with_the_same_id_is_a_conflict() -> None:
    live_tasks = [{"id": "t0", "commandLine": "something else"}]
    plan = plan_job(JOB, TASKS[:1], dict(JOB, state="active"), live_tasks)
    assert [c.task_id for c in plan.conflicts] == ["t0"]


def test_a_different_job_is_a_conflict() -> None:
    live = dict(JOB, poolInfo={"poolId": "other"}, state="active")
    plan = plan_job(JOB, TASKS, live, [])
    assert plan.action is JobAction.CONFLICT
    assert plan.differences[0].path == "poolInfo.poolId"


def test_tasks_in_the_job_but_not_in_the_spec_are_reported() -> None:
    live_tasks = [*TASKS, {"id": "manual", "commandLine": "x"}]
    plan = plan_job(JOB, TASKS, dict(JOB, state="active"), live_tasks)
    assert plan.extra_task_ids == ["manual"]
    assert not plan.has_changes


def test_plan_classes_come_from_the_shared_pool_update_rules():
    from batchspec.apply.plan import ChangeClass, classify_property
    from batchspec.spec import pool_updates

    expected = {
        **dict.fromkeys(pool_updates.IN_PLACE, ChangeClass.IN_PLACE),
        **dict.fromkeys(pool_updates.IN_PLACE_REBOOT, ChangeClass.REBOOT),
        **dict.fromkeys(pool_updates.ZERO_NODES, ChangeClass.ZERO_NODES),
    }
    assert {"targetNodeCommunicationMode", "resourceTags", "upgradePolicy"} <= set(pool_updates.ZERO_NODES)
    for prop, klass in expected.items():
        assert classify_property(f"properties.{prop}")[0] is klass, prop
    assert classify_property("properties.poolName")[0] is ChangeClass.RECREATE


def test_member_names_that_differ_only_in_case_are_the_same_member():
    from batchspec.apply.plan import diff_values

    want = {
        "virtualMachineConfiguration": {"nodeAgentSKUId": "batch.node.ubuntu 22.04", "imageReference": {}}
    }
    have = {
        "virtualMachineConfiguration": {"nodeAgentSkuId": "batch.node.ubuntu 22.04", "imageReference": {}}
    }
    assert diff_values(want, have, "properties.deploymentConfiguration") == []
    have["virtualMachineConfiguration"]["nodeAgentSkuId"] = "batch.node.ubuntu 24.04"
    (diff,) = diff_values(want, have, "properties.deploymentConfiguration")
    assert diff.path == "properties.deploymentConfiguration.virtualMachineConfiguration.nodeAgentSKUId"
    assert (diff.before, diff.after) == ("batch.node.ubuntu 24.04", "batch.node.ubuntu 22.04")
