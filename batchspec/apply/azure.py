"""The one module in ``apply/`` that imports the Azure SDKs (lazily, inside functions).

The same code serves an Azure Batch account and the local Batch service: only the management endpoint, the
credential and the CA bundle differ (reference §5). In both cases the data-plane endpoint is read from the account
(``batch_account.get(...).account_endpoint``), exactly as for a real account.

Failures a user must act on become :class:`BatchspecError` (exit 2) quickly: the clients use a bounded retry
policy (a refused connection is retried once, a connect timeout is 5 s) so wrong credentials, an unreachable
endpoint or a missing account are reported within seconds, never hidden behind a silent retry loop.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

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
from batchspec.errors import BatchspecError

T = TypeVar("T")

# Bounded retries for ordinary calls. The submission engine (submit.py) does its own retrying for
# add-task-collection and calls it with retry_total=0 so that it sees every throttle and can honour Retry-After.
CLIENT_RETRY: dict[str, Any] = {
    "retry_total": 4,
    "retry_connect": 1,
    "retry_read": 2,
    "retry_status": 3,
    "retry_backoff_factor": 0.5,
    "retry_backoff_max": 8,
    "connection_timeout": 5,
    "read_timeout": 60,
}

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Target:
    """Where to apply. ``kind`` is "azure" (public cloud, DefaultAzureCredential) or "local"."""

    kind: str
    subscription_id: str
    resource_group: str
    account_name: str
    management_url: str | None = None  # None: https://management.azure.com
    ca_file: str | None = None  # CA bundle to trust (local service); None: the system store
    # the local service's token endpoint and client credentials (kind == "local" only)
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    authority_host: str | None = None

    def describe(self) -> str:
        if self.kind == "local":
            return f'local Batch service at {self.management_url} (account "{self.account_name}")'
        return (
            f'Azure Batch account "{self.account_name}" (resource group "{self.resource_group}", '
            f"subscription {self.subscription_id})"
        )


def _credential(target: Target) -> Any:
    if target.kind == "local":
        from azure.identity import ClientSecretCredential

        return ClientSecretCredential(
            target.tenant_id or "",
            target.client_id or "",
            target.client_secret or "",
            authority=target.authority_host,
            disable_instance_discovery=True,  # otherwise MSAL asks login.microsoftonline.com
            connection_verify=target.ca_file,
            retry_total=1,
            connection_timeout=5,
        )
    from azure.identity import DefaultAzureCredential

    # In CI this resolves to workload identity federation (WorkloadIdentityCredential from AZURE_FEDERATED_TOKEN_FILE,
    # or the Azure CLI logged in by azure/login or AzureCLI@2): no secret in the pipeline.
    return DefaultAzureCredential()


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) / 1000)
            except ValueError:
                pass
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def _error_code(exc: Any) -> str | None:
    err = getattr(exc, "error", None)
    code = getattr(err, "code", None)
    if code:
        return str(code)
    model = getattr(exc, "model", None)
    if isinstance(model, dict):
        code = model.get("code") or (model.get("error") or {}).get("code")
        return str(code) if code else None
    return None


def _error_message(exc: Any) -> str:
    err = getattr(exc, "error", None)
    message = getattr(err, "message", None)
    if isinstance(message, str) and message:
        # Batch appends "\nRequestId:…\nTime:…": keep the first line for people
        return message.splitlines()[0]
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class AzureBackend:
    """Backend over azure-mgmt-batch (pools) and azure-batch (jobs, tasks)."""

    def __init__(self, target: Target, *, client_kwargs: dict[str, Any] | None = None) -> None:
        self.target = target
        self._kwargs = dict(CLIENT_RETRY)
        if client_kwargs:
            self._kwargs.update(client_kwargs)
        if target.ca_file:
            self._kwargs["connection_verify"] = target.ca_file
        self._mgmt: Any = None
        self._batch: Any = None
        self.account = AccountInfo(description=target.describe(), batch_endpoint="")

    # -- connection -------------------------------------------------------------------------------------------------
    def connect(self) -> AzureBackend:
        """Authenticate, read the account and its data-plane endpoint. Raises BatchspecError (exit 2) on failure."""
        from azure.mgmt.batch import BatchManagementClient

        credential = _credential(self.target)
        kwargs = dict(self._kwargs)
        if self.target.management_url:
            kwargs["base_url"] = self.target.management_url
        self._credential = credential
        self._mgmt = BatchManagementClient(credential, self.target.subscription_id, **kwargs)
        account = self._guard(
            "read the Batch account",
            lambda: self._mgmt.batch_account.get(self.target.resource_group, self.target.account_name),
            missing=(
                f'Batch account "{self.target.account_name}" not found in resource group '
                f'"{self.target.resource_group}" of subscription {self.target.subscription_id}'
            ),
        )
        endpoint = str(getattr(account, "account_endpoint", "") or "")
        if not endpoint:
            raise BatchspecError(f"{self.target.describe()}: the account has no data-plane endpoint")
        if "://" not in endpoint:
            endpoint = "https://" + endpoint
        from azure.batch import BatchClient

        self._batch = BatchClient(endpoint, credential, **self._kwargs)
        self.account = AccountInfo(description=self.target.describe(), batch_endpoint=endpoint)
        return self

    def close(self) -> None:
        for client in (self._batch, self._mgmt):
            try:
                if client is not None:
                    client.close()
            except Exception:  # closing is best effort
                pass

    # -- error translation ------------------------------------------------------------------------------------------
    def _guard(self, what: str, call: Callable[[], T], *, missing: str | None = None) -> T:
        """Run ``call``; turn SDK failures into BatchspecError (user must act) or ServiceError (request failed)."""
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
            ServiceResponseError,
        )

        where = self.target.describe()
        try:
            return call()
        except ClientAuthenticationError as exc:
            hint = (
                "check the local service's connection file"
                if self.target.kind == "local"
                else "sign in (az login) or set up workload identity federation; see docs/ci.md"
            )
            detail = _error_message(exc)
            if detail.lower().startswith("authentication failed: "):
                detail = detail[len("authentication failed: ") :]
            raise BatchspecError(f"authentication failed against {where}: {detail} ({hint})") from None
        except ResourceNotFoundError as exc:
            if missing is not None:
                raise BatchspecError(missing) from None
            raise ServiceError(
                f"could not {what}: {_error_message(exc)}", status=404, code=_error_code(exc)
            ) from None
        except ServiceRequestError as exc:
            raise BatchspecError(f"cannot reach {where}: {_error_message(exc)}") from None
        except ServiceResponseError as exc:
            raise ServiceError(
                f"could not {what}: connection dropped ({_error_message(exc)})", transient=True
            ) from None
        except HttpResponseError as exc:
            status = exc.status_code
            raise ServiceError(
                f"could not {what}: {_error_message(exc)}",
                status=status,
                code=_error_code(exc),
                retry_after=_retry_after(exc),
                transient=(status in TRANSIENT_STATUSES) or (status is not None and status >= 506),
            ) from None

    # -- pools ------------------------------------------------------------------------------------------------------
    def _pool(self, pool: Any) -> LivePool:
        body = pool.as_dict()
        etag = body.pop("etag", None) or getattr(pool, "etag", None)
        for key in ("id", "name", "type", "systemData"):
            body.pop(key, None)
        return LivePool(body=body, etag=etag)

    def get_pool(self, pool_id: str) -> LivePool | None:
        from azure.core.exceptions import ResourceNotFoundError

        t = self.target
        try:
            pool = self._guard(
                f'read pool "{pool_id}"',
                lambda: self._mgmt.pool.get(t.resource_group, t.account_name, pool_id),
            )
        except ServiceError as exc:
            if exc.status == 404:
                return None
            raise
        except ResourceNotFoundError:  # pragma: no cover - _guard translates it
            return None
        return self._pool(pool)

    def create_pool(self, pool_id: str, body: Json) -> LivePool:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError

        t = self.target
        try:
            pool = self._guard(
                f'create pool "{pool_id}"',
                lambda: self._mgmt.pool.create(
                    t.resource_group, t.account_name, pool_id, body, match_condition=MatchConditions.IfMissing
                ),
            )
        except ResourceExistsError:
            raise PreconditionFailed(
                f'pool "{pool_id}" was created by someone else since the plan was made; nothing was changed, '
                "run plan again"
            ) from None
        except ServiceError as exc:
            if exc.status in (409, 412):
                raise PreconditionFailed(
                    f'pool "{pool_id}" was created by someone else since the plan was made; nothing was changed, '
                    "run plan again"
                ) from None
            raise
        return self._pool(pool)

    def update_pool(self, pool_id: str, patch: Json, etag: str | None) -> LivePool:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError

        t = self.target
        kwargs: dict[str, Any] = {}
        if etag:
            kwargs = {"etag": etag, "match_condition": MatchConditions.IfNotModified}
        try:
            pool = self._guard(
                f'update pool "{pool_id}"',
                lambda: self._mgmt.pool.update(t.resource_group, t.account_name, pool_id, patch, **kwargs),
            )
        except ResourceModifiedError:
            raise PreconditionFailed(
                f'pool "{pool_id}" was changed by someone else since it was read (ETag mismatch); '
                "nothing was changed, run plan again"
            ) from None
        except ServiceError as exc:
            if exc.status == 412:
                raise PreconditionFailed(
                    f'pool "{pool_id}" was changed by someone else since it was read (ETag mismatch); '
                    "nothing was changed, run plan again"
                ) from None
            raise
        return self._pool(pool)

    def delete_pool(self, pool_id: str) -> None:
        t = self.target

        def run() -> None:
            self._mgmt.pool.begin_delete(
                t.resource_group, t.account_name, pool_id, polling_interval=1
            ).result()

        try:
            self._guard(f'delete pool "{pool_id}"', run)
        except ServiceError as exc:
            if exc.status != 404:
                raise

    def list_nodes(self, pool_id: str) -> list[NodeInfo]:
        def run() -> list[NodeInfo]:
            nodes = []
            for node in self._batch.list_nodes(pool_id):
                info = getattr(node, "start_task_info", None)
                failure = getattr(info, "failure_info", None) if info is not None else None
                nodes.append(
                    NodeInfo(
                        id=str(node.id),
                        state=str(getattr(node.state, "value", node.state) or "").lower(),
                        start_task_exit_code=getattr(info, "exit_code", None) if info is not None else None,
                        start_task_failure=getattr(failure, "message", None) if failure is not None else None,
                    )
                )
            return nodes

        try:
            return self._guard(f'list the nodes of pool "{pool_id}"', run)
        except ServiceError as exc:
            if exc.status == 404:
                return []
            raise

    def read_node_file(self, pool_id: str, node_id: str, path: str, tail_bytes: int) -> bytes | None:
        try:
            return self._guard(
                f"read {path} on node {node_id}",
                lambda: _tail(self._batch.download_node_file(pool_id, node_id, path), tail_bytes),
            )
        except ServiceError:
            return None

    # -- jobs and tasks ---------------------------------------------------------------------------------------------
    def get_job(self, job_id: str) -> Json | None:
        try:
            job = self._guard(f'read job "{job_id}"', lambda: self._batch.get_job(job_id))
        except ServiceError as exc:
            if exc.status == 404:
                return None
            raise
        return dict(job.as_dict())

    def create_job(self, body: Json) -> None:
        self._guard(f'create job "{body.get("id")}"', lambda: self._batch.create_job(body))

    def delete_job(self, job_id: str) -> None:
        def run() -> None:
            poller = self._batch.begin_delete_job(job_id, polling_interval=1)
            poller.result()

        try:
            self._guard(f'delete job "{job_id}"', run)
        except ServiceError as exc:
            if exc.status != 404:
                raise

    def list_tasks(self, job_id: str, select: list[str] | None = None) -> list[Json]:
        def run() -> list[Json]:
            return [dict(t.as_dict()) for t in self._batch.list_tasks(job_id, select=select)]

        return self._guard(f'list the tasks of job "{job_id}"', run)

    def add_task_collection(self, job_id: str, tasks: list[Json]) -> list[AddResult]:
        # retry_total=0: submit.py owns retries for this call (bounded, honours Retry-After, re-chunks)
        result = self._guard(
            f'add tasks to job "{job_id}"',
            lambda: self._batch.create_task_collection(job_id, {"value": tasks}, retry_total=0),
        )
        out = []
        for item in result.result_values or []:
            error = item.error
            message = getattr(error, "message", None)
            text = getattr(message, "value", message) if message is not None else None
            out.append(
                AddResult(
                    task_id=str(item.task_id),
                    status=str(getattr(item.status, "value", item.status)).lower(),
                    code=getattr(error, "code", None) if error is not None else None,
                    message=str(text).splitlines()[0] if text else None,
                )
            )
        return out

    def task_counts(self, job_id: str) -> TaskCounts:
        result = self._guard(
            f'read the task counts of job "{job_id}"', lambda: self._batch.get_job_task_counts(job_id)
        )
        c = result.task_counts
        return TaskCounts(
            active=int(c.active or 0),
            running=int(c.running or 0),
            completed=int(c.completed or 0),
            succeeded=int(c.succeeded or 0),
            failed=int(c.failed or 0),
        )

    def read_task_file(self, job_id: str, task_id: str, path: str, tail_bytes: int) -> bytes | None:
        try:
            return self._guard(
                f"read {path} of task {task_id}",
                lambda: _tail(self._batch.download_task_file(job_id, task_id, path), tail_bytes),
            )
        except ServiceError:
            return None


def _tail(chunks: Iterator[bytes], limit: int) -> bytes:
    buf = b""
    for chunk in chunks:
        buf = (buf + chunk)[-limit:]
    return buf


def connect(target: Target, *, client_kwargs: dict[str, Any] | None = None) -> AzureBackend:
    return AzureBackend(target, client_kwargs=client_kwargs).connect()


# -- blob storage (inputs and outputs) ------------------------------------------------------------------------------

SAS_LIFETIME_HOURS = 7 * 24  # outputs are uploaded when tasks finish: the write SAS must outlive the job


class AzureBlobStore:
    """azure-storage-blob behind the staging.BlobStore protocol.

    Local mode: Azurite through its connection string (account-key SAS). Azure: the storage account's blob
    endpoint with the same credential as Batch, and user-delegation SAS (no account key needed).
    """

    def __init__(
        self,
        *,
        connection_string: str | None = None,
        account_url: str | None = None,
        credential: Any = None,
        api_version: str | None = None,
    ) -> None:
        from azure.storage.blob import BlobServiceClient

        kwargs: dict[str, Any] = {"retry_total": 3, "connection_timeout": 5, "read_timeout": 120}
        if api_version:
            kwargs["api_version"] = api_version
        if connection_string:
            self._service = BlobServiceClient.from_connection_string(connection_string, **kwargs)
        elif account_url:
            self._service = BlobServiceClient(account_url, credential=credential, **kwargs)
        else:
            raise BatchspecError("no blob storage configured for staging inputs and outputs")
        self.endpoint = self._service.url.rstrip("/")
        self._delegation_key: Any = None

    def _guard(self, what: str, call: Callable[[], T]) -> T:
        from azure.core.exceptions import AzureError, ClientAuthenticationError, ServiceRequestError

        try:
            return call()
        except ClientAuthenticationError as exc:
            raise BatchspecError(
                f"blob storage at {self.endpoint}: authentication failed: {_error_message(exc)}"
            ) from None
        except ServiceRequestError as exc:
            raise BatchspecError(
                f"cannot reach blob storage at {self.endpoint}: {_error_message(exc)}"
            ) from None
        except AzureError as exc:
            raise BatchspecError(
                f"blob storage at {self.endpoint}: could not {what}: {_error_message(exc)}"
            ) from None

    def ensure_container(self, container: str) -> None:
        from azure.core.exceptions import ResourceExistsError

        def run() -> None:
            try:
                self._service.create_container(container)
            except ResourceExistsError:
                pass

        self._guard(f'create container "{container}"', run)

    def blob_md5(self, container: str, blob: str) -> bytes | None:
        from azure.core.exceptions import ResourceNotFoundError

        def run() -> bytes | None:
            try:
                props = self._service.get_blob_client(container, blob).get_blob_properties()
            except ResourceNotFoundError:
                return None
            md5 = props.content_settings.content_md5
            return bytes(md5) if md5 else None

        return self._guard(f"read {container}/{blob}", run)

    def upload_file(self, container: str, blob: str, path: Path, md5: bytes) -> None:
        from azure.storage.blob import ContentSettings

        def run() -> None:
            with open(path, "rb") as fh:
                self._service.get_blob_client(container, blob).upload_blob(
                    fh, overwrite=True, content_settings=ContentSettings(content_md5=bytearray(md5))
                )

        self._guard(f"upload {path} to {container}/{blob}", run)

    def container_url(self, container: str, *, write: bool) -> str:
        import datetime as dt

        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        now = dt.datetime.now(dt.timezone.utc)
        expiry = now + dt.timedelta(hours=SAS_LIFETIME_HOURS)
        permission = (
            ContainerSasPermissions(read=True, add=True, create=True, write=True, list=True)
            if write
            else ContainerSasPermissions(read=True, list=True)
        )
        credential = self._service.credential
        account_key = getattr(credential, "account_key", None)
        account_name = self._service.account_name
        if account_key:
            sas = generate_container_sas(
                account_name,
                container,
                account_key=account_key,
                permission=permission,
                expiry=expiry,
                start=now - dt.timedelta(minutes=5),
            )
        else:
            if self._delegation_key is None:
                self._delegation_key = self._guard(
                    "get a user delegation key",
                    lambda: self._service.get_user_delegation_key(now - dt.timedelta(minutes=5), expiry),
                )
            sas = generate_container_sas(
                account_name,
                container,
                user_delegation_key=self._delegation_key,
                permission=permission,
                expiry=expiry,
                start=now - dt.timedelta(minutes=5),
            )
        return f"{self.endpoint}/{container}?{sas}"

    def list_blobs(self, container: str, prefix: str) -> list[str]:
        from azure.core.exceptions import ResourceNotFoundError

        def run() -> list[str]:
            try:
                return sorted(
                    b.name
                    for b in self._service.get_container_client(container).list_blobs(
                        name_starts_with=prefix or None
                    )
                )
            except ResourceNotFoundError:
                return []

        return self._guard(f'list container "{container}"', run)

    def download_blob(self, container: str, blob: str, dest: Path) -> None:
        def run() -> None:
            tmp = dest.with_name(dest.name + ".part")
            with open(tmp, "wb") as fh:
                self._service.get_blob_client(container, blob).download_blob().readinto(fh)
            tmp.replace(dest)

        self._guard(f"download {container}/{blob}", run)

    def close(self) -> None:
        try:
            self._service.close()
        except Exception:  # best effort
            pass


def auto_storage_store(backend: AzureBackend) -> AzureBlobStore:
    """The Batch account's auto-storage account as a blob store (Azure targets)."""
    t = backend.target
    account = backend._guard(
        "read the Batch account", lambda: backend._mgmt.batch_account.get(t.resource_group, t.account_name)
    )
    auto = getattr(account, "auto_storage", None)
    storage_id = str(getattr(auto, "storage_account_id", "") or "")
    if not storage_id:
        raise BatchspecError(
            f"{t.describe()} has no auto-storage account; link one (az batch account set --storage-account …) "
            "so that batchspec can stage inputs and collect outputs"
        )
    name = storage_id.rstrip("/").rsplit("/", 1)[-1]
    return AzureBlobStore(account_url=f"https://{name}.blob.core.windows.net", credential=backend._credential)
