"""Resource files in, output files out: HTTP URLs and blob containers (azure-storage-blob; Azurite locally).

Paths are checked when a task is added (``unsafe_path``): a resource ``filePath`` or an output ``filePattern`` that
is absolute or climbs out with ``..`` is refused, as Batch refuses paths that escape the task's working directory.
"""

from __future__ import annotations

import fnmatch
import os
import urllib.request
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

MAX_DOWNLOAD = 1 << 30  # bytes per resource file


class TransferError(Exception):
    """A resource file could not be fetched; ``code``/``category`` are Batch's task scheduling error codes."""

    def __init__(
        self, message: str, code: str = "BlobDownloadMiscError", category: str = "servererror"
    ) -> None:
        super().__init__(message)
        self.code = code
        self.category = category


def _classify(exc: BaseException) -> tuple[str, str]:
    """Batch's code for a failed download: BlobNotFound / BlobAccessDenied (user errors), else a server error."""
    status = getattr(exc, "status_code", None) or getattr(exc, "code", None)
    if status == 404:
        return "BlobNotFound", "usererror"
    if status in (401, 403):
        return "BlobAccessDenied", "usererror"
    if isinstance(exc, TimeoutError):
        return "BlobDownloadTimedOut", "servererror"
    return "BlobDownloadMiscError", "servererror"


def unsafe_path(path: str) -> bool:
    """True when ``path`` is absolute or escapes its base directory."""
    if not isinstance(path, str):
        return True
    p = PurePosixPath(path.replace("\\", "/"))
    return p.is_absolute() or ".." in p.parts or (len(path) > 1 and path[1] == ":")


def _inside(base: Path, relative: str) -> Path:
    target = (base / relative).resolve()
    if not (target == base.resolve() or base.resolve() in target.parents):
        raise TransferError(
            f"the path {relative!r} escapes the task working directory",
            "ResourceFileCreateFailed",
            "usererror",
        )
    return target


def _container_client(url: str):
    from azure.storage.blob import ContainerClient

    return ContainerClient.from_container_url(url, retry_total=2, connection_timeout=10, read_timeout=60)


def download_resource_files(resource_files: list[dict], wd: Path) -> None:
    for rf in resource_files:
        file_path = rf.get("filePath") or ""
        try:
            if rf.get("httpUrl"):
                target = _inside(wd, file_path or PurePosixPath(urlsplit(rf["httpUrl"]).path).name)
                target.parent.mkdir(parents=True, exist_ok=True)
                _http_download(rf["httpUrl"], target)
                _set_mode(target, rf.get("fileMode"))
            elif rf.get("storageContainerUrl"):
                base = _inside(wd, file_path) if file_path else wd
                container = _container_client(rf["storageContainerUrl"])
                prefix = rf.get("blobPrefix") or None
                for blob in container.list_blobs(name_starts_with=prefix):
                    if unsafe_path(blob.name):
                        raise TransferError(
                            f"blob name {blob.name!r} escapes the task working directory",
                            "ResourceFileCreateFailed",
                            "usererror",
                        )
                    target = _inside(base, blob.name)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with open(target, "wb") as fh:
                        container.download_blob(blob.name).readinto(fh)
                    _set_mode(target, rf.get("fileMode"))
            elif rf.get("autoStorageContainerName"):
                raise TransferError(
                    "autoStorageContainerName needs an auto-storage account, which the local service does not have; "
                    "use storageContainerUrl with a SAS URL",
                    "BlobAccessDenied",
                    "usererror",
                )
            else:
                raise TransferError(
                    "a resource file needs httpUrl, storageContainerUrl or autoStorageContainerName",
                    "ResourceFileCreateFailed",
                    "usererror",
                )
        except TransferError:
            raise
        except Exception as exc:  # network, storage and file-system errors all fail the task, not the service
            source = rf.get("httpUrl") or rf.get("storageContainerUrl") or "?"
            code, category = _classify(exc)
            raise TransferError(
                f"downloading {_redact(source)} failed: {type(exc).__name__}: {exc}", code, category
            ) from None


def _http_download(url: str, target: Path) -> None:
    with urllib.request.urlopen(url, timeout=30) as resp, open(target, "wb") as fh:
        copied = 0
        while chunk := resp.read(1 << 16):
            copied += len(chunk)
            if copied > MAX_DOWNLOAD:
                raise TransferError(f"{_redact(url)} is larger than {MAX_DOWNLOAD} bytes")
            fh.write(chunk)


def _set_mode(target: Path, mode: str | None) -> None:
    if mode:
        try:
            os.chmod(target, int(mode, 8))
        except ValueError:
            pass


def _redact(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(query="<sas>" if parts.query else "").geturl()


def upload_output_files(output_files: list[dict], task_dir: Path, wd: Path, succeeded: bool) -> list[str]:
    """Upload the files each ``outputFiles`` entry matches; return error messages (empty when all went well)."""
    errors: list[str] = []
    for of in output_files:
        condition = ((of.get("uploadOptions") or {}).get("uploadCondition") or "tasksuccess").lower()
        if (condition == "tasksuccess" and not succeeded) or (condition == "taskfailure" and succeeded):
            continue
        pattern = of.get("filePattern") or ""
        dest = (of.get("destination") or {}).get("container") or {}
        try:
            matches = _match(pattern, task_dir, wd)
            if not matches:
                continue
            container = _container_client(dest["containerUrl"])
            dest_path = dest.get("path") or ""
            single = not any(ch in pattern for ch in "*?[")
            for path, rel in matches:
                if single:
                    name = dest_path or rel
                else:
                    name = f"{dest_path.rstrip('/')}/{rel}" if dest_path else rel
                with open(path, "rb") as fh:
                    container.upload_blob(name, fh, overwrite=True)
        except Exception as exc:
            errors.append(
                f"uploading {pattern!r} to {_redact(dest.get('containerUrl', '?'))} failed: "
                f"{type(exc).__name__}: {exc}"
            )
    return errors


def _match(pattern: str, task_dir: Path, wd: Path) -> list[tuple[Path, str]]:
    """Files under the working directory (or ../std*.txt in the task dir) matching a Batch file pattern."""
    norm = pattern.replace("\\", "/")
    base = wd
    if norm.startswith("../"):
        # Batch's documented way to upload the task's stdout/stderr: "../std*.txt"
        base, norm = task_dir, norm[3:]
        if "/" in norm or ".." in norm:
            return []
    out: list[tuple[Path, str]] = []
    recursive = "**" in norm
    for root, _dirs, files in os.walk(base):
        for name in files:
            path = Path(root) / name
            rel = path.relative_to(base).as_posix()
            if base == task_dir and "/" in rel:
                continue
            if fnmatch.fnmatchcase(rel, norm) or (
                recursive and fnmatch.fnmatchcase(rel, norm.replace("**/", ""))
            ):
                out.append((path, rel))
    return sorted(out, key=lambda x: x[1])
