"""Management plane through the real azure-mgmt-batch client and ClientSecretCredential over HTTPS."""

from __future__ import annotations

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)

from .conftest import unique, wait_for


def test_account_get_gives_the_data_plane_endpoint(arm, conn):
    account = arm.batch_account.get(conn.resource_group, conn.account_name)
    assert "https://" + account.account_endpoint == conn.batch_url
    assert account.provisioning_state == "Succeeded"


def test_missing_account_and_resource_group_are_not_found(arm, conn):
    with pytest.raises(ResourceNotFoundError):
        arm.batch_account.get(conn.resource_group, "otheraccount")
    with pytest.raises(ResourceNotFoundError) as exc:
        arm.pool.get("no-such-rg", conn.account_name, "p")
    assert exc.value.error.code == "ResourceGroupNotFound"


def test_create_get_list_delete(arm, conn):
    rg, acct, name = conn.resource_group, conn.account_name, unique("mp")
    body = {
        "properties": {
            "vmSize": "STANDARD_D2S_V3",
            "displayName": "demo",
            "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 0}},
            "metadata": [{"name": "owner", "value": "me"}],
        },
        "tags": {"env": "dev"},
    }
    created = arm.pool.create(rg, acct, name, body, match_condition=MatchConditions.IfMissing)
    assert created.name == name and created.etag.startswith('W/"0x')
    assert created.id.endswith(f"/batchAccounts/{acct}/pools/{name}")
    assert created.provisioning_state == "Succeeded" and created.vm_size == "STANDARD_D2S_V3"
    assert created.task_slots_per_node == 1  # service default filled in, as Azure does
    got = arm.pool.get(rg, acct, name)
    assert got.etag == created.etag and got.tags == {"env": "dev"}
    assert name in [p.name for p in arm.pool.list_by_batch_account(rg, acct)]
    with pytest.raises(ResourceExistsError):
        arm.pool.create(rg, acct, name, body, match_condition=MatchConditions.IfMissing)
    arm.pool.begin_delete(rg, acct, name).result()
    with pytest.raises(ResourceNotFoundError) as exc:
        arm.pool.get(rg, acct, name)
    assert exc.value.error.code == "PoolNotFound"
    arm.pool.begin_delete(rg, acct, name).result()  # deleting a missing pool is a no-op (204)


def test_list_pages_with_next_link(arm, conn):
    names = [unique("lp") for _ in range(3)]
    for n in names:
        arm.pool.create(conn.resource_group, conn.account_name, n, {"properties": {"vmSize": "a"}})
    pages = list(
        arm.pool.list_by_batch_account(conn.resource_group, conn.account_name, maxresults=1).by_page()
    )
    assert len(pages) >= 3
    listed = [p.name for page in pages for p in page]
    assert set(names) <= set(listed)
    for n in names:
        arm.pool.begin_delete(conn.resource_group, conn.account_name, n).result()


def test_patch_honours_if_match(arm, conn):
    rg, acct, name = conn.resource_group, conn.account_name, unique("mp")
    first = arm.pool.create(rg, acct, name, {"properties": {"vmSize": "a"}})
    patched = arm.pool.update(
        rg,
        acct,
        name,
        {"properties": {"metadata": [{"name": "k", "value": "v"}]}},
        etag=first.etag,
        match_condition=MatchConditions.IfNotModified,
    )
    assert patched.etag != first.etag and patched.metadata[0].value == "v"
    with pytest.raises(ResourceModifiedError):
        arm.pool.update(
            rg,
            acct,
            name,
            {"properties": {"metadata": []}},
            etag=first.etag,
            match_condition=MatchConditions.IfNotModified,
        )
    assert arm.pool.get(rg, acct, name).metadata[0].value == "v"
    arm.pool.begin_delete(rg, acct, name).result()


def test_zero_node_properties_are_refused_while_the_pool_has_nodes(arm, conn, batch, make_pool):
    rg, acct = conn.resource_group, conn.account_name
    name = make_pool(nodes=1)
    wait_for(lambda: arm.pool.get(rg, acct, name).current_dedicated_nodes == 1)
    with pytest.raises(HttpResponseError) as exc:
        arm.pool.update(rg, acct, name, {"properties": {"vmSize": "STANDARD_D4S_V3"}})
    err = exc.value
    assert err.status_code == 400 and err.error.code == "PropertyCannotBeUpdated"
    assert {(d.code, d.message) for d in err.error.details} >= {
        ("PropertyName", "vmSize"),
        ("PropertyPath", "properties.vmSize"),
    }
    # in place at any size: metadata, scale settings, start task
    arm.pool.update(
        rg,
        acct,
        name,
        {
            "properties": {
                "startTask": {"commandLine": "true"},
                "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 0}},
            }
        },
    )
    wait_for(lambda: arm.pool.get(rg, acct, name).current_dedicated_nodes == 0)
    updated = arm.pool.update(
        rg, acct, name, {"properties": {"vmSize": "STANDARD_D4S_V3", "taskSlotsPerNode": 4}}
    )
    assert updated.vm_size == "STANDARD_D4S_V3" and updated.task_slots_per_node == 4
    removed = arm.pool.update(rg, acct, name, {"properties": {"startTask": {}}})
    assert removed.start_task is None


def test_put_on_an_existing_pool_replaces_properties(arm, conn):
    rg, acct, name = conn.resource_group, conn.account_name, unique("mp")
    arm.pool.create(
        rg, acct, name, {"properties": {"vmSize": "a", "metadata": [{"name": "k", "value": "v"}]}}
    )
    replaced = arm.pool.create(rg, acct, name, {"properties": {"vmSize": "a"}})
    assert not replaced.metadata
    arm.pool.begin_delete(rg, acct, name).result()


@pytest.mark.parametrize(
    "props, code, target",
    [
        ({"vmSize": "a", "nodeAgentSKUId": "x"}, "InvalidRequestBody", "properties.nodeAgentSKUId"),
        ({}, "InvalidRequestBody", "properties.vmSize"),
        ({"vmSize": "a", "taskSlotsPerNode": 0}, "InvalidPropertyValue", "properties.taskSlotsPerNode"),
        (
            {
                "vmSize": "a",
                "scaleSettings": {
                    "autoScale": {"formula": "$TargetDedicatedNodes=1;", "evaluationInterval": "PT1M"}
                },
            },
            "InvalidPropertyValue",
            "properties.scaleSettings.autoScale.evaluationInterval",
        ),
        (
            # "pack" is accepted (enum values match ignoring case, as in Azure); this matches no value at all
            {"vmSize": "a", "taskSchedulingPolicy": {"nodeFillType": "packed"}},
            "InvalidRequestBody",
            "properties.taskSchedulingPolicy.nodeFillType",
        ),
        (
            {
                "vmSize": "a",
                "startTask": {
                    "commandLine": "x",
                    "resourceFiles": [{"httpUrl": "http://127.0.0.1:1/x", "filePath": "../../etc/evil"}],
                },
            },
            "InvalidPropertyValue",
            "properties.startTask.resourceFiles[0].filePath",
        ),
    ],
)
def test_bad_pool_bodies_get_real_errors(arm, conn, props, code, target):
    with pytest.raises(HttpResponseError) as exc:
        arm.pool.create(conn.resource_group, conn.account_name, unique("bad"), {"properties": props})
    assert exc.value.status_code == 400
    assert exc.value.error.code == code
    assert exc.value.error.target == target


def test_autoscale_pool_evaluates_at_once_and_records_the_run(arm, conn):
    rg, acct, name = conn.resource_group, conn.account_name, unique("as")
    pool = arm.pool.create(
        rg,
        acct,
        name,
        {
            "properties": {
                "vmSize": "a",
                "scaleSettings": {
                    "autoScale": {"formula": "$TargetDedicatedNodes = 2;", "evaluationInterval": "PT5M"}
                },
            }
        },
    )
    assert pool.auto_scale_run is not None and "$TargetDedicatedNodes=2" in pool.auto_scale_run.results
    wait_for(lambda: arm.pool.get(rg, acct, name).current_dedicated_nodes == 2)
    disabled = arm.pool.disable_auto_scale(rg, acct, name)
    assert disabled.scale_settings.fixed_scale.target_dedicated_nodes == 2
    arm.pool.begin_delete(rg, acct, name).result()


def test_wrong_secret_is_refused_by_the_token_endpoint(conn):
    from azure.identity import ClientSecretCredential

    cred = ClientSecretCredential(
        conn.tenant_id,
        conn.client_id,
        "wrong",
        authority=conn.authority_host,
        disable_instance_discovery=True,
        connection_verify=conn.ca_file,
    )
    with pytest.raises(ClientAuthenticationError) as exc:
        cred.get_token("https://management.azure.com/.default")
    assert "AADSTS7000215" in str(exc.value)


class _Token:
    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes, **kwargs):
        import time

        from azure.core.credentials import AccessToken

        return AccessToken(self.token, int(time.time()) + 3600)


def test_foreign_or_wrong_audience_tokens_get_401(conn, service):
    from azure.mgmt.batch import BatchManagementClient

    forged = BatchManagementClient(
        _Token("not-a-token"),
        conn.subscription_id,
        base_url=conn.management_url,
        connection_verify=conn.ca_file,
        retry_total=0,
    )
    with pytest.raises(ClientAuthenticationError) as exc:
        forged.batch_account.get(conn.resource_group, conn.account_name)
    assert exc.value.status_code == 401
    batch_token, _ = service.issuer.issue("https://batch.core.windows.net")
    wrong_audience = BatchManagementClient(
        _Token(batch_token),
        conn.subscription_id,
        base_url=conn.management_url,
        connection_verify=conn.ca_file,
        retry_total=0,
    )
    with pytest.raises(ClientAuthenticationError):
        wrong_audience.batch_account.get(conn.resource_group, conn.account_name)


def test_unsupported_api_version_is_refused(clients, conn):
    from azure.mgmt.batch import BatchManagementClient

    old = BatchManagementClient(
        clients[0],
        conn.subscription_id,
        base_url=conn.management_url,
        connection_verify=conn.ca_file,
        retry_total=0,
        api_version="2024-07-01",
    )
    with pytest.raises(HttpResponseError) as exc:
        old.batch_account.get(conn.resource_group, conn.account_name)
    assert exc.value.status_code == 400 and exc.value.error.code == "InvalidApiVersionParameter"


@pytest.mark.parametrize(
    "start_task, target",
    [
        ({"commandLine": "x", "maxTaskRetryCount": "2"}, "properties.startTask.maxTaskRetryCount"),
        (
            {"commandLine": "x", "environmentSettings": [{"name": 1}]},
            "properties.startTask.environmentSettings[0].name",
        ),
        ({"commandLine": "x", "waitForSuccess": "yes"}, "properties.startTask.waitForSuccess"),
        ({"commandLine": "x", "resourceFiles": "all"}, "properties.startTask.resourceFiles"),
    ],
)
def test_wrongly_typed_start_tasks_are_refused(arm, conn, start_task, target):
    with pytest.raises(HttpResponseError) as exc:
        arm.pool.create(
            conn.resource_group,
            conn.account_name,
            unique("bad"),
            {"properties": {"vmSize": "a", "startTask": start_task}},
        )
    assert exc.value.status_code == 400 and exc.value.error.target == target


@pytest.mark.parametrize(
    "props, target",
    [
        ({"vmSize": "a", "deploymentConfiguration": "ubuntu"}, "properties.deploymentConfiguration"),
        (
            {
                "vmSize": "a",
                "deploymentConfiguration": {"virtualMachineConfiguration": {"imageReference": "x"}},
            },
            "properties.deploymentConfiguration.virtualMachineConfiguration",
        ),
        ({"vmSize": "a", "userAccounts": {"name": "u"}}, "properties.userAccounts"),
        ({"vmSize": "a", "displayName": "x" * 1025}, "properties.displayName"),
        ({"vmSize": "a", "metadata": {"k": "v"}}, "properties.metadata"),
    ],
)
def test_wrongly_shaped_pool_properties_are_refused(arm, conn, props, target):
    with pytest.raises(HttpResponseError) as exc:
        arm.pool.create(conn.resource_group, conn.account_name, unique("bad"), {"properties": props})
    assert exc.value.status_code == 400 and exc.value.error.target == target


def test_data_plane_pool_bodies_with_wrong_shapes_are_refused(batch):
    for body in (
        {"virtualMachineConfiguration": "x"},
        {"taskSchedulingPolicy": "pack"},
        {"startTask": "echo"},
    ):
        with pytest.raises(HttpResponseError) as exc:
            batch.create_pool({"id": unique("dp"), "vmSize": "a", **body})
        assert exc.value.status_code == 400


def test_environment_and_default_credentials_work_with_the_connection_env(conn, monkeypatch):
    from azure.identity import DefaultAzureCredential, EnvironmentCredential
    from azure.mgmt.batch import BatchManagementClient

    for k, v in conn.environment().items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", conn.ca_file)
    for cred in (
        EnvironmentCredential(disable_instance_discovery=True),
        DefaultAzureCredential(disable_instance_discovery=True),
    ):
        arm = BatchManagementClient(cred, conn.subscription_id, base_url=conn.management_url, retry_total=0)
        assert arm.batch_account.get(conn.resource_group, conn.account_name).name == conn.account_name


def test_malformed_and_oversized_management_bodies_get_cloud_errors(service):
    from .test_dataplane import raw_request

    token, _ = service.issuer.issue("https://management.azure.com")
    path = (
        f"/subscriptions/{service.subscription_id}/resourceGroups/{service.resource_group}/providers/"
        f"Microsoft.Batch/batchAccounts/{service.account_name}/pools/{unique('raw')}"
    )
    status, headers, body = raw_request(service, "PUT", path, b"{oops", token=token)
    assert status == 400 and body["error"]["code"] == "InvalidRequestBody"
    assert headers["Content-Type"].startswith("application/json")
    status, _, body = raw_request(service, "PUT", path, b"[]", token=token)
    assert status == 400 and body["error"]["code"] == "InvalidRequestBody"
    status, _, body = raw_request(service, "PUT", path, b" " * (5 * 1024 * 1024), token=token)
    assert status == 413 and body["error"]["code"] == "RequestBodyTooLarge"
    status, _, body = raw_request(service, "GET", path, token=token, query="api-version=2024-07-01")
    assert status == 400 and body["error"]["code"] == "InvalidApiVersionParameter"
