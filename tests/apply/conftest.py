"""Fixtures for apply tests against the local Batch service through the real Azure SDKs."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_names = itertools.count(1)

IMAGE = """  image:
    publisher: canonical
    offer: 0001-com-ubuntu-server-jammy
    sku: 22_04-lts
    version: latest
"""


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


def write_spec(
    folder: Path,
    *,
    pool_id: str,
    job_id: str | None = None,
    tasks: int = 0,
    command: str = "/bin/true",
    vm_size: str = "STANDARD_D2S_V3",
    scale: str = "fixedScale:\n    targetDedicatedNodes: 1",
    start_task: str = "/bin/true",
    task_extra: str = "",
    pool_extra: str = "",
) -> Path:
    """A spec with one pool and (optionally) one job of ``tasks`` parametric-sweep tasks."""
    folder.mkdir(parents=True, exist_ok=True)
    text = f"""batchspec: 1
pool:
  id: {pool_id}
  vmSize: {vm_size}
{IMAGE}  taskSlotsPerNode: 4
  {scale}
  startTask:
    commandLine: {json.dumps(start_task)}
    waitForSuccess: true
{pool_extra}"""
    if job_id:
        text += f"""jobs:
  - id: {job_id}
    taskFactory:
      parametricSweep:
        parameters:
          i: {{start: 1, end: {tasks}}}
        task:
          commandLine: {json.dumps(command)}
{task_extra}"""
    path = folder / "batchspec.yaml"
    path.write_text(text)
    return path


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.05) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@pytest.fixture(scope="session")
def local_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from batchspec.local.service import LocalBatchService

    svc = LocalBatchService(
        tmp_path_factory.mktemp("apply-local"), time_scale=60, allocation_delay=0.05, faults=""
    )
    svc.start()
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture(scope="session")
def connection_file(local_service: object, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("conn") / "connection.json"
    path.write_text(local_service.connection.to_json())  # type: ignore[attr-defined]
    return path


@pytest.fixture
def use_service(monkeypatch: pytest.MonkeyPatch, connection_file: Path) -> Path:
    """Make the CLI talk to the session's local service (as `batchspec local serve` users do)."""
    monkeypatch.setenv("BATCHSPEC_LOCAL_CONNECTION", str(connection_file))
    monkeypatch.delenv("NO_COLOR", raising=False)
    return connection_file


@pytest.fixture(scope="session")
def backend(local_service: object) -> object:
    from batchspec.apply.azure import connect
    from batchspec.cli.plan import _local_target_from_connection

    return connect(_local_target_from_connection(local_service.connection))  # type: ignore[attr-defined]
