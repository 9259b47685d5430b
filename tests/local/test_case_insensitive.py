"""Member names and enum values match case-insensitively, as Azure's (Newtonsoft) deserialiser does.

The first user's real pool (``/work/shared/examples/seed-pool.json``) spells ``nodeAgentSKUId`` and
``"nodeFillType": "pack"``; it works in Azure, so the local service must accept it and answer in the canonical
spelling. Sent over raw HTTPS: the azure-mgmt-batch client would respell the names itself before sending.
"""

from __future__ import annotations

import json
from pathlib import Path

from batchspec.local.wire import canonical_body, check_body

from .conftest import unique
from .test_dataplane import raw_request

SEED_POOL = Path("/work/shared/examples/seed-pool.json")
# The same content as the seed pool file, so the test does not depend on /work/shared existing on CI.
SEED_VM = {
    "imageReference": {
        "publisher": "canonical",
        "offer": "0001-com-ubuntu-server-jammy",
        "sku": "22_04-lts",
        "version": "latest",
    },
    "nodeAgentSKUId": "batch.node.ubuntu 22.04",
}


def _seed_body() -> dict:
    if SEED_POOL.is_file():
        body = json.loads(SEED_POOL.read_text(encoding="utf-8"))
        assert body["properties"]["deploymentConfiguration"]["virtualMachineConfiguration"] == SEED_VM
        return body
    return {
        "properties": {
            "vmSize": "STANDARD_D2a_V4",
            "deploymentConfiguration": {"virtualMachineConfiguration": SEED_VM},
            "scaleSettings": {
                "autoScale": {"evaluationInterval": "PT5M", "formula": "$TargetDedicatedNodes = 0;"}
            },
            "startTask": {
                "commandLine": "/bin/bash -c 'echo hi'",
                "userIdentity": {"autoUser": {"scope": "Pool", "elevationLevel": "Admin"}},
                "maxTaskRetryCount": 1,
                "waitForSuccess": True,
            },
            "taskSlotsPerNode": 2,
            "taskSchedulingPolicy": {"nodeFillType": "pack"},
        },
        "identity": {
            "type": "UserAssigned",
            "userAssignedIdentities": {
                "/subscriptions/{tenant-id}/resourceGroups/{resource-group-name}/providers/"
                "Microsoft.ManagedIdentity/userAssignedIdentities/{managed-id-name}": {}
            },
        },
    }


def _pool_path(service, name: str) -> str:
    return (
        f"/subscriptions/{service.subscription_id}/resourceGroups/{service.resource_group}/providers/"
        f"Microsoft.Batch/batchAccounts/{service.account_name}/pools/{name}"
    )


def test_canonical_body_respells_names_and_enum_values_but_not_user_keys():
    body = {
        "Properties": {
            "VMSIZE": "x",
            "bogus": 1,
            "metadata": [{"NAME": "a", "value": "b"}],
            "taskSchedulingPolicy": {"nodeFillType": "pack"},
        },
        "tags": {"Env": "Dev"},
    }
    got = canonical_body("mgmt", "Pool", body)
    assert got == {
        "properties": {
            "vmSize": "x",
            "bogus": 1,  # unknown members stay as sent, so the error names what the client wrote
            "metadata": [{"name": "a", "value": "b"}],
            "taskSchedulingPolicy": {"nodeFillType": "Pack"},
        },
        "tags": {"Env": "Dev"},  # tag names and values are the user's data
    }
    assert body["Properties"]["VMSIZE"] == "x"  # the input is not changed
    assert check_body("mgmt", "Pool", got) == (
        "properties.bogus",
        "Could not find member 'bogus' on object of type 'PoolProperties'.",
    )
    # An enum value that matches nothing, in any case, is still refused.
    bad = canonical_body("mgmt", "Pool", {"properties": {"taskSchedulingPolicy": {"nodeFillType": "packed"}}})
    assert check_body("mgmt", "Pool", bad)[0] == "properties.taskSchedulingPolicy.nodeFillType"


def test_seed_pool_with_nodeAgentSKUId_is_accepted_and_returned_canonical(service):
    token, _ = service.issuer.issue("https://management.azure.com")
    path = _pool_path(service, unique("seed"))
    status, _, created = raw_request(service, "PUT", path, json.dumps(_seed_body()).encode(), token=token)
    assert status in (200, 201), created
    status, _, got = raw_request(service, "GET", path, token=token)
    assert status == 200
    props = got["properties"]
    vm = props["deploymentConfiguration"]["virtualMachineConfiguration"]
    assert vm["nodeAgentSkuId"] == "batch.node.ubuntu 22.04" and "nodeAgentSKUId" not in vm
    assert props["taskSchedulingPolicy"] == {"nodeFillType": "Pack"}
    assert props["startTask"]["userIdentity"]["autoUser"] == {"scope": "Pool", "elevationLevel": "Admin"}
    assert created["properties"]["deploymentConfiguration"] == props["deploymentConfiguration"]
    # A PATCH in odd casing changes the property it names.
    patch = {
        "properties": {
            "StartTask": {
                "COMMANDLINE": "/bin/true",
                "userIdentity": {"autoUser": {"elevationLevel": "nonadmin"}},
            }
        }
    }
    status, _, patched = raw_request(service, "PATCH", path, json.dumps(patch).encode(), token=token)
    assert status == 200, patched
    assert patched["properties"]["startTask"]["commandLine"] == "/bin/true"
    assert patched["properties"]["startTask"]["userIdentity"]["autoUser"]["elevationLevel"] == "NonAdmin"
    raw_request(service, "DELETE", path, token=token)


def test_data_plane_pool_and_job_bodies_match_names_ignoring_case(service, batch):
    pool_id, job_id = unique("ci"), unique("cij")
    body = {
        "ID": pool_id,
        "VmSize": "standard_d2s_v3",
        # The data plane spells these nodeAgentSKUId and "pack": the management plane's spellings work too.
        "virtualMachineConfiguration": {
            "imageReference": SEED_VM["imageReference"],
            "nodeAgentSkuId": "batch.node.ubuntu 22.04",
        },
        "taskSchedulingPolicy": {"nodeFillType": "Pack"},
    }
    status, _, err = raw_request(service, "POST", "/pools", json.dumps(body).encode())
    assert status == 201, err
    status, _, pool = raw_request(service, "GET", f"/pools/{pool_id}")
    assert status == 200
    assert pool["virtualMachineConfiguration"]["nodeAgentSKUId"] == "batch.node.ubuntu 22.04"
    # the data plane's own spelling of the enum
    assert pool["taskSchedulingPolicy"] == {"nodeFillType": "pack"}
    assert (
        batch.get_pool(pool_id).virtual_machine_configuration.node_agent_sku_id == "batch.node.ubuntu 22.04"
    )
    status, _, err = raw_request(
        service, "POST", "/jobs", json.dumps({"id": job_id, "POOLINFO": {"poolId": pool_id}}).encode()
    )
    assert status == 201, err
    assert batch.get_job(job_id).pool_info.pool_id == pool_id
    assert raw_request(service, "DELETE", f"/jobs/{job_id}")[0] == 202
    assert raw_request(service, "DELETE", f"/pools/{pool_id}")[0] == 202
