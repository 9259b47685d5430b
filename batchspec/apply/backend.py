"""What ``plan``/``apply`` need from a Batch account, as plain data (no Azure imports).

``apply/azure.py`` implements :class:`Backend` with the real SDKs (for Azure and for the local service alike);
unit tests implement it with in-memory fakes. Bodies are wire JSON dicts (camelCase), exactly what the REST API
sends and receives, so the planner and the submission engine never see SDK model objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from batchspec.errors import BatchspecError

Json = dict[str, Any]


def counted(n: int, word: str) -> str:
    """``1 task``, ``4 tasks``: messages read as sentences, not as ``4 task(s)``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True)
class LivePool:
    """A pool as the management plane returns it (``{"properties": …, "identity": …, "tags": …}``) and its ETag."""

    body: Json
    etag: str | None

    @property
    def properties(self) -> Json:
        props = self.body.get("properties")
        return props if isinstance(props, dict) else {}

    @property
    def node_count(self) -> int:
        p = self.properties
        return int(p.get("currentDedicatedNodes") or 0) + int(p.get("currentLowPriorityNodes") or 0)

    @property
    def allocation_state(self) -> str:
        return str(self.properties.get("allocationState") or "")


@dataclass(frozen=True)
class AddResult:
    """One item of an add-task-collection response."""

    task_id: str
    status: str  # success | clienterror | servererror
    code: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class TaskCounts:
    active: int = 0
    running: int = 0
    completed: int = 0
    succeeded: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "active": self.active,
            "running": self.running,
            "completed": self.completed,
            "succeeded": self.succeeded,
            "failed": self.failed,
        }


@dataclass(frozen=True)
class NodeInfo:
    id: str
    state: str  # idle | running | starting | waitingforstarttask | starttaskfailed | unusable | …
    start_task_exit_code: int | None = None
    start_task_failure: str | None = None


class ServiceError(Exception):
    """A request the service (or the network) refused. ``transient`` errors may succeed when retried."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.transient = transient


class PreconditionFailed(BatchspecError):
    """An ETag check failed: someone else changed (or created) the resource since it was read (exit 1: the
    operation failed cleanly, nothing was written)."""

    exit_code = 1


@dataclass
class AccountInfo:
    description: str  # e.g. 'local Batch service at https://127.0.0.1:8443' or 'Azure Batch account "acct"'
    batch_endpoint: str
    extra: Json = field(default_factory=dict)


class Backend(Protocol):
    """Operations on one Batch account. Every method raises BatchspecError for failures a user must act on
    (authentication, unreachable endpoint, missing account) and ServiceError for request-level failures."""

    account: AccountInfo

    # pools (management plane)
    def get_pool(self, pool_id: str) -> LivePool | None: ...
    def create_pool(self, pool_id: str, body: Json) -> LivePool: ...
    def update_pool(self, pool_id: str, patch: Json, etag: str | None) -> LivePool: ...
    def delete_pool(self, pool_id: str) -> None: ...
    def list_nodes(self, pool_id: str) -> list[NodeInfo]: ...
    def read_node_file(self, pool_id: str, node_id: str, path: str, tail_bytes: int) -> bytes | None: ...

    # jobs and tasks (data plane)
    def get_job(self, job_id: str) -> Json | None: ...
    def create_job(self, body: Json) -> None: ...
    def delete_job(self, job_id: str) -> None: ...
    def list_tasks(self, job_id: str, select: list[str] | None = None) -> list[Json]: ...
    def add_task_collection(self, job_id: str, tasks: list[Json]) -> list[AddResult]: ...
    def task_counts(self, job_id: str) -> TaskCounts: ...
    def read_task_file(self, job_id: str, task_id: str, path: str, tail_bytes: int) -> bytes | None: ...

    def close(self) -> None: ...
