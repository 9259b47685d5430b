"""Data plane through the real azure-batch client (bearer tokens from ClientSecretCredential, and shared key)."""

from __future__ import annotations

import json

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)

from .conftest import pool_ready, run_job, unique, wait_for


def test_job_ids_are_unique_case_insensitively(batch):
    job_id = unique("Job")
    batch.create_job({"id": job_id, "poolInfo": {"poolId": "nopool"}})
    with pytest.raises(ResourceExistsError) as exc:
        batch.create_job({"id": job_id.lower(), "poolInfo": {"poolId": "nopool"}})
    assert exc.value.error.code == "JobExists"
    got = batch.get_job(job_id.upper())
    assert got.id == job_id and got.state == "active" and got.pool_info.pool_id == "nopool"
    assert job_id in [j.id for j in batch.list_jobs()]


def test_missing_resources_have_their_codes(batch):
    with pytest.raises(ResourceNotFoundError) as exc:
        batch.get_pool("nope")
    assert exc.value.error.code == "PoolNotFound"
    with pytest.raises(ResourceNotFoundError) as exc:
        batch.get_job("nope")
    assert exc.value.error.code == "JobNotFound"
    with pytest.raises(ResourceNotFoundError) as exc:
        batch.create_task("nope", {"id": "t", "commandLine": "true"})
    assert exc.value.error.code == "JobNotFound"
    # azure-batch 15.1's exception policy raises on any non-2xx, so pool_exists() raises instead of returning False
    with pytest.raises(ResourceNotFoundError):
        batch.pool_exists("nope")


@pytest.mark.parametrize("job_id", ["has space", "x" * 65, "dots.are.bad"])
def test_invalid_ids_are_refused(batch, job_id):
    with pytest.raises(HttpResponseError) as exc:
        batch.create_job({"id": job_id, "poolInfo": {"poolId": "p"}})
    assert exc.value.status_code == 400 and exc.value.error.code == "InvalidPropertyValue"
    assert (
        ("PropertyName", "id") in [(d.code, d.message) for d in exc.value.error.details]
        or any(getattr(d, "key", None) == "PropertyName" for d in exc.value.error.details)
        or exc.value.error.details
    )


def test_add_collection_results_per_task(batch):
    job_id = unique("job")
    batch.create_job({"id": job_id, "poolInfo": {"poolId": "nopool"}})
    batch.create_task(job_id, {"id": "t0", "commandLine": "true"})
    with pytest.raises(ResourceExistsError) as exc:
        batch.create_task(job_id, {"id": "T0", "commandLine": "true"})
    assert exc.value.error.code == "TaskExists"
    tasks = [
        {"id": "t0", "commandLine": "true"},
        {"id": "t1", "commandLine": "true"},
        {"id": "bad id", "commandLine": "true"},
        {"id": "t2"},
        {
            "id": "t3",
            "commandLine": "true",
            "resourceFiles": [{"httpUrl": "http://x/y", "filePath": "../up"}],
        },
        {
            "id": "t4",
            "commandLine": "true",
            "outputFiles": [
                {
                    "filePattern": "/etc/*",
                    "destination": {"container": {"containerUrl": "http://x/c"}},
                    "uploadOptions": {"uploadCondition": "tasksuccess"},
                }
            ],
        },
    ]
    result = batch.create_task_collection(job_id, {"value": tasks})
    by_id = {r.task_id: r for r in result.result_values}
    assert by_id["t1"].status == "success" and by_id["t1"].etag and by_id["t1"].location.endswith("/tasks/t1")
    assert by_id["t0"].status == "clienterror" and by_id["t0"].error.code == "TaskExists"
    assert by_id["bad id"].error.code == "InvalidPropertyValue"
    assert by_id["t2"].error.code == "MissingRequiredProperty"
    assert by_id["t3"].error.code == "InvalidPropertyValue"
    assert by_id["t4"].error.code == "InvalidPropertyValue"
    assert sorted(t.id for t in batch.list_tasks(job_id)) == ["t0", "t1"]


def test_add_collection_limits(batch):
    job_id = unique("job")
    batch.create_job({"id": job_id, "poolInfo": {"poolId": "nopool"}})
    with pytest.raises(HttpResponseError) as exc:
        batch.create_task_collection(
            job_id, {"value": [{"id": f"t{i}", "commandLine": "true"} for i in range(101)]}
        )
    assert exc.value.status_code == 400
    big = "x" * 20_000
    tasks = [
        {"id": f"t{i}", "commandLine": "true", "environmentSettings": [{"name": "X", "value": big}]}
        for i in range(60)
    ]
    with pytest.raises(HttpResponseError) as exc:
        batch.create_task_collection(job_id, {"value": tasks})
    assert exc.value.error.code == "RequestBodyTooLarge"
    assert list(batch.list_tasks(job_id)) == []


def test_task_list_paging_filter_and_select(batch, make_pool):
    pool = make_pool(nodes=1, slots=4)
    job_id = run_job(
        batch, pool, [{"id": f"t{i}", "commandLine": "true" if i % 2 else "false"} for i in range(7)]
    )
    pages = list(batch.list_tasks(job_id, max_results=3).by_page())
    assert [len(list(p)) for p in pages] == [3, 3, 1]
    failed = list(batch.list_tasks(job_id, filter="executionInfo/result eq 'failure'"))
    assert sorted(t.id for t in failed) == ["t0", "t2", "t4", "t6"]
    both = list(batch.list_tasks(job_id, filter="state eq 'completed' and startswith(id, 't1')"))
    assert [t.id for t in both] == ["t1"]
    slim = list(batch.list_tasks(job_id, select=["id", "state"], max_results=2))
    assert len(slim) == 7 and all(t.command_line is None and t.state == "completed" for t in slim)
    with pytest.raises(HttpResponseError) as exc:
        list(batch.list_tasks(job_id, filter="state eq"))
    assert exc.value.error.code == "InvalidQueryParameterValue"
    counts = batch.get_job_task_counts(job_id)
    assert counts.task_counts.completed == 7 and counts.task_counts.failed == 4
    assert counts.task_counts.succeeded == 3 and counts.task_slot_counts.completed == 7


def test_pool_resize_enable_evaluate_disable(batch, make_pool):
    pool = make_pool(nodes=0)
    batch.begin_resize_pool(pool, {"targetDedicatedNodes": 2}, polling_interval=0.05).result()
    got = batch.get_pool(pool)
    assert got.allocation_state == "steady" and got.current_dedicated_nodes == 2
    wait_for(lambda: pool_ready(batch, pool, 2))
    with pytest.raises(HttpResponseError) as exc:
        batch.evaluate_pool_auto_scale(pool, {"autoScaleFormula": "$TargetDedicatedNodes=1;"})
    assert exc.value.status_code == 409
    batch.enable_pool_auto_scale(
        pool, {"autoScaleFormula": "$TargetDedicatedNodes = 1;", "autoScaleEvaluationInterval": "PT5M"}
    )
    got = batch.get_pool(pool)
    assert (
        got.enable_auto_scale
        and got.auto_scale_run
        and "$TargetDedicatedNodes=1" in got.auto_scale_run.results
    )
    run = batch.evaluate_pool_auto_scale(pool, {"autoScaleFormula": "$TargetDedicatedNodes = 3;"})
    assert "$TargetDedicatedNodes=3" in run.results
    with pytest.raises(HttpResponseError) as exc:
        batch.evaluate_pool_auto_scale(pool, {"autoScaleFormula": "$TargetDedicatedNodes = = 3;"})
    assert exc.value.error.code == "InvalidAutoScaleFormula"
    with pytest.raises(HttpResponseError) as exc:
        batch.enable_pool_auto_scale(pool, {"autoScaleFormula": "$TargetDedicatedNodes = 1;"})
    assert exc.value.error.code == "AutoScaleTooManyRequestsToEnable"
    wait_for(lambda: batch.get_pool(pool).current_dedicated_nodes == 1)
    batch.disable_pool_auto_scale(pool)
    assert batch.get_pool(pool).enable_auto_scale is False


def test_job_terminate_update_delete(batch):
    job_id = unique("job")
    batch.create_job({"id": job_id, "poolInfo": {"poolId": "nopool"}, "priority": 5})
    batch.update_job(job_id, {"priority": 10, "metadata": [{"name": "a", "value": "b"}]})
    job = batch.get_job(job_id)
    assert job.priority == 10 and job.metadata[0].value == "b"
    batch.create_task(job_id, {"id": "waiting", "commandLine": "true"})
    # azure-batch 15.1 needs an options body here (without a non-empty one it fails client-side: no content type)
    batch.begin_terminate_job(job_id, {"terminateReason": "UserTerminate"}, polling_interval=0.05).result()
    job = batch.get_job(job_id)
    assert job.state == "completed" and job.execution_info.termination_reason == "UserTerminate"
    with pytest.raises(ResourceExistsError):
        batch.create_task(job_id, {"id": "late", "commandLine": "true"})
    batch.begin_delete_job(job_id, polling_interval=0.05).result()
    with pytest.raises(ResourceNotFoundError):
        batch.get_job(job_id)


def test_shared_key_auth(conn):
    from azure.batch import BatchClient
    from azure.core.credentials import AzureNamedKeyCredential

    good = BatchClient(
        conn.batch_url,
        AzureNamedKeyCredential(conn.account_name, conn.account_key),
        connection_verify=conn.ca_file,
        retry_total=0,
    )
    job_id = unique("skjob")
    good.create_job({"id": job_id, "poolInfo": {"poolId": "p"}})
    assert good.get_job(job_id).id == job_id
    assert any(j.id == job_id for j in good.list_jobs(filter=f"id eq '{job_id}'"))
    import base64

    bad = BatchClient(
        conn.batch_url,
        AzureNamedKeyCredential(conn.account_name, base64.b64encode(b"k" * 64).decode()),
        connection_verify=conn.ca_file,
        retry_total=0,
    )
    with pytest.raises(HttpResponseError) as exc:
        bad.get_job(job_id)
    assert exc.value.status_code == 403 and exc.value.error.code == "AuthenticationFailed"


def test_management_token_is_refused_on_the_data_plane(conn, service):
    import time

    from azure.batch import BatchClient
    from azure.core.credentials import AccessToken

    token, _ = service.issuer.issue("https://management.azure.com")

    class Cred:
        def get_token(self, *scopes, **kwargs):
            return AccessToken(token, int(time.time()) + 3600)

    client = BatchClient(conn.batch_url, Cred(), connection_verify=conn.ca_file, retry_total=0)
    with pytest.raises(ClientAuthenticationError):
        client.list_jobs().next()


def raw_request(
    service,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict | None = None,
    query: str = "api-version=2025-06-01",
    token: str | None = None,
):
    """One HTTPS request outside the SDK (the SDK's exception policy hides raw bodies): (status, headers, JSON)."""
    import http.client
    import ssl

    conn = service.connection
    ctx = ssl.create_default_context(cafile=conn.ca_file)
    http = http.client.HTTPSConnection("127.0.0.1", service.port, context=ctx, timeout=10)
    if token is None:
        token, _ = service.issuer.issue("https://batch.core.windows.net")
    hdrs = {"Content-Type": "application/json; odata=minimalmetadata", **(headers or {})}
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    prefix = f"/accounts/{conn.account_name}" if not path.startswith("/subscriptions") else ""
    http.request(method, f"{prefix}{path}?{query}", body=body, headers=hdrs)
    resp = http.getresponse()
    data = resp.read()
    http.close()
    return resp.status, dict(resp.getheaders()), json.loads(data) if data else None


def test_malformed_json_and_oversized_bodies_get_batch_errors(service):
    status, headers, err = raw_request(service, "POST", "/jobs", b"{not json")
    assert status == 400 and headers["Content-Type"].startswith("application/json")
    assert err["code"] == "InvalidRequestBody" and err["message"]["lang"] == "en-US"
    assert "RequestId:" in err["message"]["value"] and err["odata.metadata"].endswith("@Element")
    status, _, err = raw_request(service, "POST", "/jobs", b"[1, 2]")
    assert status == 400 and err["code"] == "InvalidRequestBody"
    status, _, err = raw_request(service, "POST", "/jobs", b" " * (5 * 1024 * 1024))
    assert status == 413 and err["code"] == "RequestBodyTooLarge"
    status, _, err = raw_request(service, "GET", "/nonsense")
    assert status == 404 and err["code"] == "ResourceNotFound"
    status, _, err = raw_request(service, "GET", "/jobs", query="api-version=2024-07-01.20.0")
    assert status == 400 and err["code"] == "InvalidQueryParameterValue"


def test_every_request_needs_authentication(service):
    status, headers, err = raw_request(service, "GET", "/jobs", token="")
    assert status == 401 and err["code"] == "AuthenticationFailed"
    mgmt = f"/subscriptions/{service.subscription_id}/resourceGroups/{service.resource_group}"
    status, headers, err = raw_request(
        service,
        "GET",
        mgmt + "/providers/Microsoft.Batch/batchAccounts/" + service.account_name,
        query="api-version=2025-06-01",
        token="",
    )
    assert status == 401 and err["error"]["code"] == "AuthenticationFailed"
    assert headers["WWW-Authenticate"].startswith("Bearer ")


@pytest.mark.parametrize(
    "field, value",
    [
        ("environmentSettings", 5),
        ("environmentSettings", [{"value": "no name"}]),
        ("constraints", "x"),
        ("constraints", {"maxTaskRetryCount": "3"}),
        ("resourceFiles", "x"),
        ("outputFiles", [1]),
        ("dependsOn", {"taskIds": "a"}),
        ("dependsOn", {"taskIdRanges": [{"start": 5, "end": 1}]}),
        ("exitConditions", {"exitCodes": [{"code": "1"}]}),
        ("exitConditions", {"default": []}),
        ("requiredSlots", 0),
        ("userIdentity", "root"),
    ],
)
def test_wrongly_typed_task_fields_are_client_errors(batch, field, value):
    job_id = unique("job")
    batch.create_job({"id": job_id, "poolInfo": {"poolId": "nopool"}, "usesTaskDependencies": True})
    result = batch.create_task_collection(
        job_id,
        {
            "value": [
                {"id": "bad", "commandLine": "true", field: value},
                {"id": "good", "commandLine": "true"},
            ]
        },
    )
    by_id = {r.task_id: r for r in result.result_values}
    assert by_id["bad"].status == "clienterror" and by_id["bad"].error.code in (
        "InvalidPropertyValue",
        "InvalidRequestBody",
    ), by_id["bad"].error
    assert by_id["good"].status == "success"


@pytest.mark.parametrize(
    "body",
    [
        {"id": "j", "poolInfo": "p"},
        {"id": "j", "poolInfo": {"poolId": 3}},
        {"id": "j", "poolInfo": {"poolId": "p"}, "commonEnvironmentSettings": {"a": "b"}},
        {"id": "j", "poolInfo": {"poolId": "p"}, "metadata": "m"},
        {"id": "j", "poolInfo": {"poolId": "p"}, "priority": 5000},
        {"id": "j", "poolInfo": {"poolId": "p"}, "constraints": {"maxWallClockTime": "soon"}},
    ],
)
def test_wrongly_typed_job_fields_are_client_errors(batch, body):
    with pytest.raises(HttpResponseError) as exc:
        batch.create_job({**body, "id": unique("job")})
    assert exc.value.status_code == 400


def test_resize_conflicts_and_stop_resize(tmp_path):
    from .conftest import checked_service, make_clients

    with checked_service(
        tmp_path / "s", allocation_delay=30
    ) as svc:  # nodes stay "creating": the pool resizes
        _, arm, batch = make_clients(svc.connection)
        c = svc.connection
        arm.pool.create(
            c.resource_group,
            c.account_name,
            "slow",
            {"properties": {"vmSize": "a", "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 2}}}},
        )
        assert batch.get_pool("slow").allocation_state == "resizing"
        with pytest.raises(ResourceExistsError) as exc:
            batch.begin_resize_pool("slow", {"targetDedicatedNodes": 3}, polling_interval=0.05)
        assert exc.value.error.code == "PoolBeingResized"
        batch.begin_stop_pool_resize("slow", polling_interval=0.05).result()
        pool = batch.get_pool("slow")
        assert (
            pool.allocation_state == "steady" and pool.target_dedicated_nodes == pool.current_dedicated_nodes
        )


def test_reactivating_needs_a_failed_task(batch, make_pool):
    pool = make_pool(nodes=1)
    job_id = run_job(batch, pool, [{"id": "ok", "commandLine": "true"}])
    with pytest.raises(ResourceExistsError) as exc:
        batch.reactivate_task(job_id, "ok")
    assert exc.value.error.code == "TaskSucceeded"


def test_targets_beyond_the_local_node_cap_are_reported_as_resize_errors(arm, conn, batch):
    name = unique("big")
    arm.pool.create(
        conn.resource_group,
        conn.account_name,
        name,
        {"properties": {"vmSize": "a", "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 65}}}},
    )
    try:
        wait_for(lambda: batch.get_pool(name).resize_errors)
        err = batch.get_pool(name).resize_errors[0]
        assert err.code == "AccountCoreQuotaReached" and "at most 64" in err.message
        status = arm.pool.get(conn.resource_group, conn.account_name, name).resize_operation_status
        assert status.errors[0].code == "AccountCoreQuotaReached"
    finally:
        arm.pool.begin_delete(conn.resource_group, conn.account_name, name).result()
