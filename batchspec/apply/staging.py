"""Inputs to blob storage before a job, outputs back after it, and the storage references in task bodies.

The spec (``batchspec.spec``) writes storage references abstractly, so that the same spec works on any account:

* an input file becomes a resource file ``{"autoStorageContainerName": C, "blobPrefix": B}``;
* a task output goes to ``{"containerUrl": "batchspec://containers/C", "path": …}``.

Before tasks are added, :func:`resolve_storage` turns both into container URLs with a SAS token in the staging
storage account (Azurite in local mode; the Batch account's auto-storage account on Azure): read-only for
inputs, write for outputs. :func:`abstract_storage` does the reverse on a live task so that a re-run compares
like with like (the SAS and the endpoint may differ between runs; the container may not).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from batchspec.apply.backend import Json

OUTPUT_URL_PREFIX = "batchspec://containers/"


class BlobStore(Protocol):
    endpoint: str  # e.g. http://127.0.0.1:10000/devstoreaccount1

    def ensure_container(self, container: str) -> None: ...
    def blob_md5(self, container: str, blob: str) -> bytes | None: ...
    def upload_file(self, container: str, blob: str, path: Path, md5: bytes) -> None: ...
    def container_url(self, container: str, *, write: bool) -> str: ...
    def list_blobs(self, container: str, prefix: str) -> list[str]: ...
    def download_blob(self, container: str, blob: str, dest: Path) -> None: ...


@dataclass
class StageReport:
    uploaded: int = 0
    unchanged: int = 0
    bytes_uploaded: int = 0


def file_md5(path: Path) -> bytes:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.digest()


def stage_inputs(
    store: BlobStore, inputs: Iterable[Any], on_file: Callable[[str], None] | None = None
) -> StageReport:
    """Upload each input (``.local_path`` -> ``.container``/``.blob_name``) unless the blob already has its MD5."""
    report = StageReport()
    containers: set[str] = set()
    for item in inputs:
        container, blob, path = str(item.container), str(item.blob_name), Path(item.local_path)
        if container not in containers:
            store.ensure_container(container)
            containers.add(container)
        md5 = file_md5(path)
        if store.blob_md5(container, blob) == md5:
            report.unchanged += 1
            continue
        store.upload_file(container, blob, path, md5)
        report.uploaded += 1
        report.bytes_uploaded += path.stat().st_size
        if on_file is not None:
            on_file(f"{container}/{blob}")
    return report


def output_containers(tasks: Iterable[Json]) -> set[str]:
    found = set()
    for task in tasks:
        for out in task.get("outputFiles") or []:
            url = (((out.get("destination") or {}).get("container") or {}).get("containerUrl")) or ""
            if url.startswith(OUTPUT_URL_PREFIX):
                found.add(url[len(OUTPUT_URL_PREFIX) :])
    return found


def uses_storage(tasks: Iterable[Json]) -> bool:
    for task in tasks:
        if any("autoStorageContainerName" in rf for rf in task.get("resourceFiles") or []):
            return True
        if output_containers([task]):
            return True
    return False


def resolve_storage(tasks: list[Json], store: BlobStore) -> list[Json]:
    """Copies of ``tasks`` with abstract storage references replaced by SAS container URLs."""
    urls: dict[tuple[str, bool], str] = {}

    def url(container: str, write: bool) -> str:
        key = (container, write)
        if key not in urls:
            if write:
                store.ensure_container(container)
            urls[key] = store.container_url(container, write=write)
        return urls[key]

    out = []
    for task in tasks:
        if not uses_storage([task]):
            out.append(task)
            continue
        t = copy.deepcopy(task)
        for rf in t.get("resourceFiles") or []:
            if "autoStorageContainerName" in rf:
                rf["storageContainerUrl"] = url(str(rf.pop("autoStorageContainerName")), False)
        for o in t.get("outputFiles") or []:
            c = (o.get("destination") or {}).get("container") or {}
            cu = c.get("containerUrl") or ""
            if cu.startswith(OUTPUT_URL_PREFIX):
                c["containerUrl"] = url(cu[len(OUTPUT_URL_PREFIX) :], True)
        out.append(t)
    return out


def _container_of(url: str) -> str:
    path = urlsplit(url).path.rstrip("/")
    return path.rsplit("/", 1)[-1]


def abstract_storage(desired: Json, live: Json) -> Json:
    """``live`` with SAS container URLs written back in the abstract form wherever ``desired`` uses it."""
    want_rf = desired.get("resourceFiles") or []
    want_out = desired.get("outputFiles") or []
    if not any("autoStorageContainerName" in rf for rf in want_rf) and not output_containers([desired]):
        return live
    live = copy.deepcopy(live)
    for w, h in zip(want_rf, live.get("resourceFiles") or [], strict=False):
        if "autoStorageContainerName" in w and "storageContainerUrl" in h:
            h["autoStorageContainerName"] = _container_of(h.pop("storageContainerUrl"))
    for w, h in zip(want_out, live.get("outputFiles") or [], strict=False):
        wc = ((w.get("destination") or {}).get("container") or {}).get("containerUrl") or ""
        hc = (h.get("destination") or {}).get("container") or {}
        if wc.startswith(OUTPUT_URL_PREFIX) and hc.get("containerUrl"):
            hc["containerUrl"] = OUTPUT_URL_PREFIX + _container_of(hc["containerUrl"])
    return live


def download_outputs(store: BlobStore, outputs: Iterable[Any]) -> list[Path]:
    """Download every blob under each output's ``container``/``prefix`` into its ``destination`` folder."""
    written = []
    for out in outputs:
        dest = Path(out.destination)
        prefix = str(out.prefix or "")
        for blob in store.list_blobs(str(out.container), prefix):
            rel = blob[len(prefix) :].lstrip("/") if prefix and blob.startswith(prefix) else blob
            target = (dest / rel).resolve()
            if dest.resolve() not in target.parents:
                continue  # a blob name that would climb out of the destination folder
            target.parent.mkdir(parents=True, exist_ok=True)
            store.download_blob(str(out.container), blob, target)
            written.append(target)
    return written
