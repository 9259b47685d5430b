"""Fault injection (BATCHSPEC_LOCAL_FAULTS): throttling, server errors, dropped connections, partial failures."""

from __future__ import annotations

import pytest

from batchspec.errors import BatchspecError
from batchspec.local.faults import parse_faults
from batchspec.local.service import LocalBatchService

from .conftest import checked_service, make_clients


def test_parse_faults():
    f = parse_faults(
        "429=0.05, 503=0.1,reset=0.01,partial=0.02,latency=50ms,seed=7,retry-after=0,preempt=0.1"
    )
    assert f.preempt == 0.1
    assert f.statuses == {429: 0.05, 503: 0.1} and f.reset == 0.01 and f.partial == 0.02
    assert f.latency == pytest.approx(0.05) and f.seed == 7 and f.retry_after == 0
    assert not parse_faults("").active


@pytest.mark.parametrize(
    "text, words",
    [
        ("429=2", "probability between 0 and 1"),
        ("boom=0.1", 'unknown fault "boom"'),
        ("429", "key=value"),
        ("latency=fast", "duration"),
        ("seed=x", "integer"),
        ("200=0.1", 'unknown fault "200"'),
    ],
)
def test_bad_fault_specs_are_clear_errors(text, words):
    with pytest.raises(BatchspecError) as exc:
        parse_faults(text)
    assert words in str(exc.value) and "BATCHSPEC_LOCAL_FAULTS" in str(exc.value)


def test_faults_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BATCHSPEC_LOCAL_FAULTS", "503=1")
    svc = LocalBatchService(tmp_path / "s")
    assert svc.faults.statuses == {503: 1.0}


def test_throttling_carries_retry_after(tmp_path):
    from .test_dataplane import raw_request

    with checked_service(tmp_path / "s", faults="429=1,retry-after=2") as svc:
        status, headers, body = raw_request(svc, "GET", "/jobs")
        assert status == 429 and headers["Retry-After"] == "2" and body["code"] == "TooManyRequests"
        # the token endpoint is never faulted
        cred, _, _ = make_clients(svc.connection)
        assert cred.get_token("https://batch.core.windows.net//.default").token


def test_bounded_client_retries_end_with_exactly_the_submitted_tasks(tmp_path):
    """What APPLY's reliability tests rely on: with every kind of fault, idempotent submission converges."""
    from azure.batch import BatchClient
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
    from azure.identity import ClientSecretCredential

    with checked_service(
        tmp_path / "s", faults="429=0.1,503=0.1,reset=0.05,partial=0.1,seed=3,retry-after=0"
    ) as svc:
        conn = svc.connection
        cred = ClientSecretCredential(
            conn.tenant_id,
            conn.client_id,
            conn.client_secret,
            authority=conn.authority_host,
            disable_instance_discovery=True,
            connection_verify=conn.ca_file,
        )
        batch = BatchClient(conn.batch_url, cred, connection_verify=conn.ca_file, retry_total=0)
        seen: dict[str, int] = {}

        def attempt(fn, *args):
            for _ in range(50):
                try:
                    return fn(*args)
                except (HttpResponseError, ServiceRequestError, ServiceResponseError) as exc:
                    code = getattr(getattr(exc, "error", None), "code", None)
                    if code == "JobExists":
                        return None
                    seen[code or type(exc).__name__] = seen.get(code or type(exc).__name__, 0) + 1
            raise AssertionError("no success in 50 attempts")

        attempt(batch.create_job, {"id": "j", "poolInfo": {"poolId": "none"}})
        pending = [{"id": f"t{i:03d}", "commandLine": "true"} for i in range(300)]
        rounds = 0
        while pending and rounds < 50:
            rounds += 1
            retry = []
            for i in range(0, len(pending), 100):
                chunk = pending[i : i + 100]
                result = attempt(batch.create_task_collection, "j", {"value": chunk})
                by_id = {t["id"]: t for t in chunk}
                for item in result.result_values:
                    if item.status == "success" or (item.error and item.error.code == "TaskExists"):
                        continue
                    assert item.status == "servererror", item.error
                    retry.append(by_id[item.task_id])
            pending = retry
        assert not pending
        ids = [t.id for t in attempt(lambda: list(batch.list_tasks("j", max_results=1000)))]
        assert sorted(ids) == [f"t{i:03d}" for i in range(300)]
        assert "ServiceResponseError" in seen and {"TooManyRequests", "ServerBusy"} & set(seen), seen
        assert rounds > 1


def test_preempted_low_priority_nodes_requeue_their_tasks_and_come_back(tmp_path):
    from .conftest import wait_for

    # time_scale=600: a sample period (30 s) is 0.05 s; preempt=1 evicts every low-priority node each period
    with checked_service(
        tmp_path / "s", time_scale=600, allocation_delay=0.01, faults="preempt=1,seed=2"
    ) as svc:
        c = svc.connection
        _, arm, batch = make_clients(c)
        arm.pool.create(
            c.resource_group,
            c.account_name,
            "spot",
            {
                "properties": {
                    "vmSize": "a",
                    "scaleSettings": {
                        "autoScale": {"formula": "$TargetLowPriorityNodes = 1;", "evaluationInterval": "PT5M"}
                    },
                }
            },
        )
        batch.create_job({"id": "j", "poolInfo": {"poolId": "spot"}})
        batch.create_task("j", {"id": "t", "commandLine": "sleep 30"})
        wait_for(lambda: (batch.get_task("j", "t").execution_info.requeue_count or 0) >= 1, timeout=15)
        seen = set()

        def preempted_seen() -> bool:
            seen.update(n.state for n in batch.list_nodes("spot"))
            return "preempted" in seen and seen & {
                "idle",
                "running",
                "creating",
                "starting",
                "waitingforstarttask",
            }

        wait_for(preempted_seen, timeout=15)
        formula = "$TargetLowPriorityNodes = 1; $evicted = max($PreemptedNodeCount.GetSample(1));"
        wait_for(
            lambda: (
                "$evicted=1" in batch.evaluate_pool_auto_scale("spot", {"autoScaleFormula": formula}).results
            ),
            timeout=15,
        )
        pool = arm.pool.get(c.resource_group, c.account_name, "spot")
        assert pool.current_low_priority_nodes == 1  # a preempted node still counts, as in Azure
