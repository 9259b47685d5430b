"""An in-memory Backend with the service's rules that matter to apply (ETags, zero-node updates, TaskExists).

Used for the orchestration unit tests; the real SDK path is tested against the local service elsewhere.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchspec.apply.backend import (
    AccountInfo,
    AddResult,
    Json,
    LivePool,
    NodeInfo,
    PreconditionFailed,
    ServiceError,
    TaskCounts,
)
from batchspec.apply.plan import ZERO_NODE_PROPERTIES

_etags = itertools.count(1)


class FakeBackend:
    def __init__(self) -> None:
        self.account = AccountInfo(description="fake account", batch_endpoint="https://fake")
        self.pools: dict[str, LivePool] = {}
        self.jobs: dict[str, Json] = {}
        self.tasks: dict[str, dict[str, Json]] = {}
        self.calls: list[tuple[str, Any]] = []
        self.nodes_when_autoscaled = 2
        self.start_task_fails = False
        self.task_stderr: dict[str, bytes] = {}

    # pools
    def _store(self, pool_id: str, body: Json) -> LivePool:
        body = copy.deepcopy(body)
        props = body.setdefault("properties", {})
        nodes = 0
        scale = props.get("scaleSettings") or {}
        if "autoScale" in scale:
            nodes = self.nodes_when_autoscaled
        elif "fixedScale" in scale:
            nodes = int(scale["fixedScale"].get("targetDedicatedNodes") or 0)
            scale["fixedScale"].pop("nodeDeallocationOption", None)  # write-only
        props.update(
            currentDedicatedNodes=nodes,
            currentLowPriorityNodes=0,
            allocationState="Steady",
            provisioningState="Succeeded",
        )
        pool = LivePool(body, f'W/"0x{next(_etags)}"')
        self.pools[pool_id] = pool
        return pool

    def get_pool(self, pool_id: str) -> LivePool | None:
        self.calls.append(("get_pool", pool_id))
        return copy.deepcopy(self.pools.get(pool_id))

    def create_pool(self, pool_id: str, body: Json) -> LivePool:
        self.calls.append(("create_pool", pool_id))
        if pool_id in self.pools:
            raise PreconditionFailed(f'pool "{pool_id}" was created by someone else')
        return self._store(pool_id, body)

    def update_pool(self, pool_id: str, patch: Json, etag: str | None) -> LivePool:
        self.calls.append(("update_pool", copy.deepcopy(patch)))
        pool = self.pools[pool_id]
        if etag != pool.etag:
            raise PreconditionFailed(f'pool "{pool_id}" was changed by someone else (ETag mismatch)')
        props = patch.get("properties", {})
        if pool.node_count and set(props) & ZERO_NODE_PROPERTIES:
            raise ServiceError("PropertyCannotBeUpdated", status=400, code="PropertyCannotBeUpdated")
        body = copy.deepcopy(pool.body)
        body["properties"].update(copy.deepcopy(props))
        for top in ("identity", "tags"):
            if top in patch:
                body[top] = patch[top]
        return self._store(pool_id, body)

    def delete_pool(self, pool_id: str) -> None:
        self.calls.append(("delete_pool", pool_id))
        self.pools.pop(pool_id, None)

    def list_nodes(self, pool_id: str) -> list[NodeInfo]:
        pool = self.pools.get(pool_id)
        if pool is None:
            return []
        state = "starttaskfailed" if self.start_task_fails else "idle"
        return [
            NodeInfo(f"node-{i}", state, 1 if self.start_task_fails else 0) for i in range(pool.node_count)
        ]

    def read_node_file(self, pool_id: str, node_id: str, path: str, tail_bytes: int) -> bytes | None:
        return b"apt-get: command failed\n"

    # jobs
    def get_job(self, job_id: str) -> Json | None:
        job = self.jobs.get(job_id.lower())
        return copy.deepcopy(job) if job else None

    def create_job(self, body: Json) -> None:
        self.calls.append(("create_job", body["id"]))
        if body["id"].lower() in self.jobs:
            raise ServiceError("The specified job already exists.", status=409, code="JobExists")
        self.jobs[body["id"].lower()] = dict(copy.deepcopy(body), state="active")
        self.tasks[body["id"].lower()] = {}

    def delete_job(self, job_id: str) -> None:
        self.calls.append(("delete_job", job_id))
        self.jobs.pop(job_id.lower(), None)
        self.tasks.pop(job_id.lower(), None)

    def list_tasks(self, job_id: str, select: list[str] | None = None) -> list[Json]:
        return [copy.deepcopy(t) for t in self.tasks.get(job_id.lower(), {}).values()]

    def add_task_collection(self, job_id: str, tasks: list[Json]) -> list[AddResult]:
        self.calls.append(("add", len(tasks)))
        if job_id.lower() not in self.jobs:
            raise ServiceError("The specified job does not exist.", status=404, code="JobNotFound")
        store = self.tasks[job_id.lower()]
        out = []
        for t in tasks:
            if t["id"].lower() in store:
                out.append(
                    AddResult(t["id"], "clienterror", "TaskExists", "The specified task already exists.")
                )
                continue
            failed = "fail" in t["commandLine"]
            store[t["id"].lower()] = dict(
                copy.deepcopy(t),
                state="completed",
                executionInfo={"result": "failure" if failed else "success", "exitCode": 3 if failed else 0},
            )
            out.append(AddResult(t["id"], "success"))
        return out

    def task_counts(self, job_id: str) -> TaskCounts:
        tasks = self.tasks.get(job_id.lower(), {}).values()
        failed = sum(1 for t in tasks if t["executionInfo"]["result"] == "failure")
        return TaskCounts(completed=len(tasks), succeeded=len(tasks) - failed, failed=failed)

    def read_task_file(self, job_id: str, task_id: str, path: str, tail_bytes: int) -> bytes | None:
        return self.task_stderr.get(task_id, b"")[-tail_bytes:]

    def close(self) -> None:
        pass


class FakeStore:
    endpoint = "http://127.0.0.1:1/devstoreaccount1"

    def __init__(self) -> None:
        self.blobs: dict[tuple[str, str], bytes] = {}
        self.uploads = 0

    def ensure_container(self, container: str) -> None:
        pass

    def blob_md5(self, container: str, blob: str) -> bytes | None:
        import hashlib

        data = self.blobs.get((container, blob))
        return hashlib.md5(data).digest() if data is not None else None

    def upload_file(self, container: str, blob: str, path: Path, md5: bytes) -> None:
        self.uploads += 1
        self.blobs[(container, blob)] = Path(path).read_bytes()

    def container_url(self, container: str, *, write: bool) -> str:
        return f"{self.endpoint}/{container}?sv=x&sp={'racwl' if write else 'rl'}&sig=SECRETSIG{next(_etags)}"

    def list_blobs(self, container: str, prefix: str) -> list[str]:
        return sorted(b for c, b in self.blobs if c == container and b.startswith(prefix))

    def download_blob(self, container: str, blob: str, dest: Path) -> None:
        dest.write_bytes(self.blobs[(container, blob)])


@dataclass
class FakeJobSpec:
    id: str
    job_body: Json
    tasks: list[Json]
    inputs: list[Any] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)


@dataclass
class FakeTarget:
    kind: str = "local"

    @property
    def is_local(self) -> bool:
        return True


@dataclass
class FakeProject:
    pool_id: str
    pool_body: Json
    jobs: list[FakeJobSpec]
    target: FakeTarget = field(default_factory=FakeTarget)
