"""The local service follows the shared pool update rules (spec/pool_updates.py), the same ones apply's plan uses."""

from __future__ import annotations

import json

from batchspec.spec import pool_updates

from .conftest import wait_for
from .test_dataplane import raw_request

# a value the service accepts for each zero-node property (compared against the pool's current value)
ZERO_NODE_VALUES = {
    "displayName": "renamed",
    "vmSize": "STANDARD_D4S_V3",
    "deploymentConfiguration": {
        "virtualMachineConfiguration": {
            "imageReference": {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server"},
            "nodeAgentSkuId": "batch.node.ubuntu 24.04",
        }
    },
    "interNodeCommunication": "Enabled",
    "networkConfiguration": {"publicIPAddressConfiguration": {"provision": "NoPublicIPAddresses"}},
    "taskSlotsPerNode": 3,
    "taskSchedulingPolicy": {"nodeFillType": "Pack"},
    "userAccounts": [{"name": "u", "password": "Secret-123"}],
    "mountConfiguration": [
        {"nfsMountConfiguration": {"source": "10.0.0.4:/x", "relativeMountPath": "x"}},
    ],
    "targetNodeCommunicationMode": "Simplified",
    "upgradePolicy": {"mode": "Manual"},
    "resourceTags": {"team": "data"},
}


def _patch(service, name: str, props: dict):
    token, _ = service.issuer.issue("https://management.azure.com")
    path = (
        f"/subscriptions/{service.subscription_id}/resourceGroups/{service.resource_group}/providers/"
        f"Microsoft.Batch/batchAccounts/{service.account_name}/pools/{name}"
    )
    body = json.dumps({"properties": props}).encode()
    return raw_request(service, "PATCH", path, body, token=token)


def test_the_shared_tables_are_disjoint_and_match_the_vendored_pool_definition():
    from batchspec.local.wire import MGMT, _docs

    groups = [
        pool_updates.IN_PLACE,
        pool_updates.IN_PLACE_REBOOT,
        pool_updates.ZERO_NODES,
        pool_updates.READ_ONLY,
    ]
    names = [n for g in groups for n in g]
    assert len(names) == len(set(names))
    assert set(ZERO_NODE_VALUES) == set(pool_updates.ZERO_NODES)
    defined = set(_docs()[MGMT]["definitions"]["PoolProperties"]["properties"])
    assert set(names) - defined == set(pool_updates.NOT_IN_API_2025_06_01)
    assert defined - set(names) == set()  # every member of the definition has a rule


def _current(props) -> tuple[str, ...]:
    return tuple(p for p in props if p not in pool_updates.NOT_IN_API_2025_06_01)


def test_every_zero_node_property_is_refused_while_nodes_exist_and_accepted_at_zero(
    service, arm, conn, make_pool
):
    rg, acct = conn.resource_group, conn.account_name
    name = make_pool(nodes=1)
    wait_for(lambda: arm.pool.get(rg, acct, name).current_dedicated_nodes == 1)
    for prop in pool_updates.ZERO_NODES:
        status, _, body = _patch(service, name, {prop: ZERO_NODE_VALUES[prop]})
        assert status == 400, (prop, body)
        if prop in pool_updates.NOT_IN_API_2025_06_01:  # gone from the API: an unknown member, as in Azure
            assert body["error"]["code"] == "InvalidRequestBody", (prop, body)
            assert body["error"]["message"].startswith(f"Could not find member '{prop}'")
            continue
        assert body["error"]["code"] == "PropertyCannotBeUpdated", (prop, body)
        assert {"code": "PropertyName", "message": prop} in body["error"]["details"]
    # in place at any size, with or without a reboot; read-only properties sent back are ignored
    status, _, body = _patch(
        service,
        name,
        {
            "metadata": [{"name": "k", "value": "v"}],
            "startTask": {"commandLine": "true"},
            "applicationPackages": [],
            "currentDedicatedNodes": 7,
        },
    )
    assert status == 200, body
    assert body["properties"]["metadata"] == [{"name": "k", "value": "v"}]
    assert body["properties"]["currentDedicatedNodes"] == 1
    status, _, body = _patch(service, name, {"scaleSettings": {"fixedScale": {"targetDedicatedNodes": 0}}})
    assert status == 200, body
    wait_for(lambda: arm.pool.get(rg, acct, name).current_dedicated_nodes == 0)
    status, _, body = _patch(
        service, name, {k: ZERO_NODE_VALUES[k] for k in _current(pool_updates.ZERO_NODES)}
    )
    assert status == 200, body
    props = body["properties"]
    assert props["vmSize"] == "STANDARD_D4S_V3" and props["taskSlotsPerNode"] == 3
    # the ARM definition spells the upgrade mode "manual": the value sent as "Manual" comes back canonical
    assert props["upgradePolicy"] == {"mode": "manual"} and props["displayName"] == "renamed"
