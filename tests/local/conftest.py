"""Fixtures for the local Batch service tests: a running service and the REAL Azure SDK clients pointed at it."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from batchspec.local.service import LocalBatchService

_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@contextlib.contextmanager
def checked_service(state_dir: Path, **kwargs) -> Iterator[LocalBatchService]:
    """A started service whose every JSON answer is checked against the REST specs when it stops."""
    from .fidelity import problems

    kwargs.setdefault("faults", "")
    svc = LocalBatchService(state_dir, **kwargs)
    svc.recorder = []
    with svc:
        yield svc
    found = [p for record in svc.recorder for p in problems(record)]
    assert not found, "responses that do not match the REST specs:\n" + "\n".join(sorted(set(found))[:40])


def make_clients(conn):
    from azure.batch import BatchClient
    from azure.identity import ClientSecretCredential
    from azure.mgmt.batch import BatchManagementClient

    cred = ClientSecretCredential(
        conn.tenant_id,
        conn.client_id,
        conn.client_secret,
        authority=conn.authority_host,
        disable_instance_discovery=True,
        connection_verify=conn.ca_file,
    )
    arm = BatchManagementClient(
        cred,
        conn.subscription_id,
        base_url=conn.management_url,
        connection_verify=conn.ca_file,
        retry_total=0,
        polling_interval=0,
    )
    batch = BatchClient(conn.batch_url, cred, connection_verify=conn.ca_file, retry_total=0)
    return cred, arm, batch


@pytest.fixture(scope="session")
def service(tmp_path_factory) -> Iterator[LocalBatchService]:
    svc = LocalBatchService(
        tmp_path_factory.mktemp("local-service"),
        time_scale=60,
        allocation_delay=0.05,
        output_cap=1024 * 1024,
        faults="",
    )
    svc.recorder = []
    svc.start()
    try:
        yield svc
    finally:
        svc.stop()
    # fidelity: every JSON body the session's service sent must match the official REST response schemas
    from .fidelity import problems

    found = [p for record in svc.recorder for p in problems(record)]
    assert not found, "responses that do not match the REST specs:\n" + "\n".join(sorted(set(found))[:40])


@pytest.fixture(scope="session")
def clients(service):
    return make_clients(service.connection)


@pytest.fixture(scope="session")
def arm(clients):
    return clients[1]


@pytest.fixture(scope="session")
def batch(clients):
    return clients[2]


@pytest.fixture(scope="session")
def conn(service):
    return service.connection


@pytest.fixture
def make_pool(arm, conn, service):
    """Create a management-plane pool; deleted again after the test."""
    created: list[str] = []

    def make(nodes: int = 1, slots: int = 2, start_task: dict | None = None, **props) -> str:
        name = unique("pool")
        body = {
            "vmSize": "STANDARD_D2S_V3",
            "taskSlotsPerNode": slots,
            "scaleSettings": {"fixedScale": {"targetDedicatedNodes": nodes}},
            **props,
        }
        if start_task is not None:
            body["startTask"] = start_task
        arm.pool.create(conn.resource_group, conn.account_name, name, {"properties": body})
        created.append(name)
        return name

    yield make
    for name in created:
        arm.pool.begin_delete(conn.resource_group, conn.account_name, name).result()


def pool_ready(batch, pool_id: str, nodes: int) -> bool:
    listed = list(batch.list_nodes(pool_id))
    return len(listed) == nodes and all(n.state in ("idle", "running") for n in listed)


def run_job(batch, pool_id: str, tasks: list[dict], timeout: float = 30.0, **job) -> str:
    """Create a job with these tasks on the pool and wait until every task completed; returns the job id."""
    job_id = unique("job")
    batch.create_job({"id": job_id, "poolInfo": {"poolId": pool_id}, **job})
    if tasks:
        result = batch.create_task_collection(job_id, {"value": tasks})
        assert all(r.status == "success" for r in result.result_values), [
            r.error for r in result.result_values
        ]
    wait_for(lambda: batch.get_job_task_counts(job_id).task_counts.completed == len(tasks), timeout)
    return job_id


def read_file(batch, job_id: str, task_id: str, name: str = "stdout.txt") -> str:
    return b"".join(batch.download_task_file(job_id, task_id, name)).decode()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    from batchspec.local.azurite import start_azurite

    az = start_azurite(tmp_path_factory.mktemp("azurite"))
    try:
        yield az
    finally:
        az.stop()


def container_sas_url(az, container: str, write: bool = False) -> str:
    import datetime as dt

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    sas = generate_container_sas(
        az.account_name,
        container,
        account_key=az.account_key,
        permission=ContainerSasPermissions(read=True, list=True, write=write, create=write),
        expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1),
    )
    return f"{az.blob_endpoint}/{container}?{sas}"
